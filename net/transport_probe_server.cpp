// A test-only server that runs the server transport against real clients before the rest of the
// server exists: it answers SERVICE_REQUEST "ssh-userauth" and refuses every USERAUTH_REQUEST
// with "publickey", so `ssh -v` ends in "Permission denied (publickey)" after a real key
// exchange and an encrypted service exchange. Not installed.
//
// usage: transport_probe_server [-A] [-d] [-r REKEY_BYTES] [-t REKEY_SECONDS] [-o
// kex|ciphers|macs|hostkeys=LIST]
//                               PORT HOSTKEY_FILE...
// Prints "listening on PORT" once ready; each connection is served by a forked child.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/protocol_error.h"
#include "common/ssh_key.h"
#include "common/unique_fd.h"
#include "common/wire.h"
#include "net/messages.h"
#include "net/transport.h"
#include "net/transport_local_signer.h"

using namespace postern;
using namespace postern::net;

namespace {

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t c = s.find(',', start);
    if (c == std::string::npos) c = s.size();
    if (c > start) out.push_back(s.substr(start, c - start));
    start = c + 1;
  }
  return out;
}

bool g_rekey_before_auth = false;

void serve(int fd, TransportConfig cfg) {
  Transport t(std::move(cfg));
  // -A: rekey by volume even before "authentication", so the real client meets our rekeys.
  if (g_rekey_before_auth) t.set_authenticated();
  try {
    flush_blocking(t, fd);
    while (read_into(t, fd)) {
      while (auto m = t.next_message()) {
        uint8_t type = (*m)[0];
        if (type == kMsgServiceRequest) {
          auto req = decode<ServiceRequestMsg>(*m);
          if (req.service != "ssh-userauth") {
            t.send_disconnect(uint32_t(DisconnectReason::kServiceNotAvailable), "unknown service");
            flush_blocking(t, fd);
            return;
          }
          t.send(encode(ServiceAcceptMsg{req.service}));
        } else if (type == kMsgUserauthRequest) {
          Writer w;
          w.u8(kMsgUserauthFailure).string("publickey").boolean(false);
          t.send(w.buffer());
        } else {
          t.send_unimplemented();
        }
      }
      flush_blocking(t, fd);
    }
    log_info("Connection closed by peer");
  } catch (const DisconnectReceived& d) {
    log_info("Received disconnect: %u: %s", d.reason(), d.description().c_str());
  } catch (const ProtocolError& e) {
    log_error("protocol error: %s", e.what());
    try {
      flush_blocking(t, fd);  // e.g. "Protocol major versions differ." before any packet
      if (t.first_kex_done() || t.peer_version().size())
        t.send_disconnect(uint32_t(e.reason()), e.what());
      flush_blocking(t, fd);
    } catch (const std::exception&) {
    }
  } catch (const ConnectionClosed& e) {
    log_info("connection closed: %s", e.what());
  }
}

}  // namespace

int main(int argc, char** argv) {
  LogOptions lo;
  lo.ident = "transport_probe_server";
  lo.to_stderr = true;
  TransportConfig cfg;
  cfg.role = Role::kServer;
  cfg.version = "SSH-2.0-postern_probe";
  int opt;
  while ((opt = getopt(argc, argv, "Adr:t:o:")) != -1) {
    switch (opt) {
      case 'A':
        g_rekey_before_auth = true;
        break;
      case 'd':
        lo.level = LogLevel::kDebug3;
        break;
      case 'r':
        cfg.rekey_bytes = std::strtoull(optarg, nullptr, 10);
        break;
      case 't':
        cfg.rekey_seconds = std::strtoull(optarg, nullptr, 10);
        break;
      case 'o': {
        std::string o = optarg;
        size_t eq = o.find('=');
        std::string k = o.substr(0, eq), v = eq == std::string::npos ? "" : o.substr(eq + 1);
        if (k == "kex")
          cfg.kex_algorithms = split(v);
        else if (k == "ciphers")
          cfg.ciphers = split(v);
        else if (k == "macs")
          cfg.macs = split(v);
        else if (k == "hostkeys")
          cfg.host_key_algorithms = split(v);
        else
          fatal("unknown -o %s", k.c_str());
        break;
      }
      default:
        fatal("usage: transport_probe_server [-A] [-d] [-r bytes] [-t secs] [-o k=v] PORT KEY...");
    }
  }
  log_init(lo);
  if (argc - optind < 2) fatal("usage: transport_probe_server [options] PORT HOSTKEY...");
  int port = std::atoi(argv[optind]);
  std::vector<PrivateKey> keys;
  for (int i = optind + 1; i < argc; ++i) {
    auto k = PrivateKey::load_file(argv[i]);
    if (!k) fatal("%s", k.error().message.c_str());
    keys.push_back(std::move(*k));
  }
  LocalHostKeySigner signer(std::move(keys));
  cfg.host_key_signer = &signer;

  UniqueFd lfd(::socket(AF_INET, SOCK_STREAM, 0));
  int one = 1;
  ::setsockopt(lfd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(uint16_t(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(lfd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0 ||
      ::listen(lfd.get(), 16) < 0)
    fatal("bind/listen 127.0.0.1:%d: %s", port, std::strerror(errno));
  std::printf("listening on %d\n", port);
  std::fflush(stdout);
  ::signal(SIGCHLD, SIG_IGN);  // children are reaped automatically
  while (true) {
    int c = ::accept(lfd.get(), nullptr, nullptr);
    if (c < 0) {
      if (errno == EINTR) continue;
      fatal("accept: %s", std::strerror(errno));
    }
    pid_t pid = ::fork();
    if (pid == 0) {
      lfd.reset();
      serve(c, cfg);
      ::close(c);
      _exit(0);
    }
    ::close(c);
  }
}
