// A test-only client that runs the client transport against a real server (OpenSSH's sshd in
// regress/transport-interop.sh): key exchange, the encrypted service request, a "none" userauth
// request answered with the server's methods; with -i, publickey authentication, then a key
// re-exchange started by us (OpenSSH's sshd refuses one before authentication) and a global
// request answered under the new keys. Not installed.
//
// With -o compression=zlib@openssh.com,none, compression starts after USERAUTH_SUCCESS and
// restarts with the re-exchange's NEWKEYS (the reply after it proves both). With -c COMMAND
// (and -i), a session channel then runs COMMAND (RFC 4254 §6.5) and its output is printed.
//
// With -a CERT the publickey request carries that certificate of KEY (PROTOCOL.certkeys); with
// -S it prints what it signed and the signature blob in hex ("signed data: ...", "signature:
// ...") for an independent implementation to check.
//
// usage: transport_probe_client [-d] [-S] [-o kex|ciphers|macs|hostkeys|compression=LIST]
//                               [-i KEY [-a CERT] -l USER [-c COMMAND]] PORT
// Prints the negotiated algorithms, the server's host key ("host key: TYPE FINGERPRINT", for a
// host certificate "host key: TYPE FINGERPRINT signed by CA_FINGERPRINT"), the server's
// extensions, "auth methods: ...", and with -i "authenticated" and "reply after rekey", with -c
// "command output: ..." and "exit status: N"; exits 0 when all of that worked.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/protocol_error.h"
#include "common/ssh_cert.h"
#include "common/ssh_key.h"
#include "common/unique_fd.h"
#include "common/wire.h"
#include "net/messages.h"
#include "net/transport.h"

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

std::string g_user = "nobody";
bool g_print_signature = false;

// RFC 4254 §5.1 and §6.5: one session channel (our id 0) that runs a command.
constexpr uint32_t kWindow = 1 << 20;
Bytes session_open() {
  Writer w;
  w.u8(kMsgChannelOpen).string("session").u32(0).u32(kWindow).u32(32768);
  return w.take();
}
Bytes exec_request(uint32_t peer_channel, const std::string& command) {
  Writer w;
  w.u8(kMsgChannelRequest).u32(peer_channel).string("exec").boolean(false).string(command);
  return w.take();
}

Bytes none_request() {
  Writer w;
  w.u8(kMsgUserauthRequest).string(g_user).string("ssh-connection").string("none");
  return w.take();
}

// RFC 4252 §7: the signature covers the session identifier and the request. With a
// certificate, the request names the certificate's algorithm and carries its blob, and the key
// signs under its plain algorithm (PROTOCOL.certkeys).
Bytes publickey_request(const PrivateKey& key, const std::optional<Certificate>& cert,
                        ByteView session_id) {
  std::string sig_alg = key.public_key().signature_algorithms().front();
  std::string alg = cert ? cert->algorithms().front() : sig_alg;
  ByteView blob = cert ? ByteView(cert->blob()) : ByteView(key.public_key().blob());
  Writer body;
  body.u8(kMsgUserauthRequest).string(g_user).string("ssh-connection").string("publickey");
  body.boolean(true).string(alg).string(blob);
  Writer signed_data;
  signed_data.string(session_id).raw(body.buffer());
  auto sig = key.sign(sig_alg, signed_data.buffer());
  if (!sig) fatal("sign: %s", sig.error().message.c_str());
  if (g_print_signature)
    std::printf("signed data: %s\nsignature: %s\n", hex(signed_data.buffer()).c_str(),
                hex(*sig).c_str());
  body.string(ByteView(*sig));
  return body.take();
}

}  // namespace

int main(int argc, char** argv) {
  LogOptions lo;
  lo.ident = "transport_probe_client";
  lo.to_stderr = true;
  TransportConfig cfg;
  cfg.role = Role::kClient;
  cfg.version = "SSH-2.0-postern_probe_client";
  std::string host_key_seen;
  cfg.verify_host_key = [&host_key_seen](ByteView blob) {
    if (auto c = Certificate::from_blob(blob)) {
      host_key_seen = std::string(c->type_name()) + " " + c->key().fingerprint_sha256() +
                      " signed by " + c->signature_key().fingerprint_sha256();
      return true;
    }
    auto k = PublicKey::from_blob(blob);
    if (!k) return false;
    host_key_seen = std::string(k->type_name()) + " " + k->fingerprint_sha256();
    return true;
  };
  std::optional<PrivateKey> key;
  std::optional<Certificate> cert;
  std::optional<std::string> command;
  int opt;
  while ((opt = getopt(argc, argv, "dSo:i:a:l:c:")) != -1) {
    if (opt == 'S') {
      g_print_signature = true;
    } else if (opt == 'a') {
      auto c = Certificate::load_file(optarg);
      if (!c) fatal("%s", c.error().message.c_str());
      cert = std::move(*c);
    } else if (opt == 'c') {
      command = optarg;
    } else if (opt == 'i') {
      auto k = PrivateKey::load_file(optarg);
      if (!k) fatal("%s", k.error().message.c_str());
      key = std::move(*k);
    } else if (opt == 'l') {
      g_user = optarg;
    } else if (opt == 'd') {
      lo.level = LogLevel::kDebug3;
    } else if (opt == 'o') {
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
      else if (k == "compression")
        cfg.compression = split(v);
      else
        fatal("unknown -o %s", k.c_str());
    } else {
      fatal("usage: transport_probe_client [-d] [-o k=v] PORT");
    }
  }
  log_init(lo);
  if (argc - optind != 1) fatal("usage: transport_probe_client [-d] [-o k=v] PORT");

  UniqueFd fd(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(uint16_t(std::atoi(argv[optind])));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0)
    fatal("connect: %s", std::strerror(errno));

  Transport t(cfg);
  bool requested = false, done = false;
  uint32_t peer_channel = 0;
  std::string output;
  std::optional<uint32_t> exit_status;
  try {
    flush_blocking(t, fd.get());
    while (!done) {
      if (!read_into(t, fd.get())) fatal("server closed the connection");
      while (auto m = t.next_message()) {
        uint8_t type = (*m)[0];
        if (type == kMsgServiceAccept) {
          t.send(none_request());
        } else if (type == kMsgUserauthFailure) {
          Reader r(*m);
          r.u8();
          std::string methods(r.text());
          std::printf("auth methods: %s\n", methods.c_str());
          if (!key) {
            done = true;
            break;
          }
          if (methods.find("publickey") == std::string::npos) fatal("publickey refused");
          t.send(publickey_request(*key, cert, t.session_id()));
        } else if (type == kMsgUserauthSuccess) {
          std::printf("authenticated\n");
          t.set_authenticated();
          t.start_rekey();  // our own re-exchange against the real server...
          Writer w;         // ...with a request held back until it completes
          w.u8(kMsgGlobalRequest).string("keepalive@openssh.com").boolean(true);
          t.send(w.buffer());
        } else if (type == kMsgGlobalRequest) {
          // hostkeys-00@openssh.com (PROTOCOL §2.5) and the like; none want a reply from us.
        } else if (type == kMsgRequestSuccess || type == kMsgRequestFailure) {
          std::printf("reply after rekey: %u\n", type);
          if (command) {
            t.send(session_open());
            continue;
          }
          done = true;
          break;
        } else if (type == kMsgChannelOpenConfirmation) {
          Reader r(*m);
          r.u8();
          r.u32();  // our channel
          peer_channel = r.u32();
          t.send(exec_request(peer_channel, *command));
        } else if (type == kMsgChannelData) {
          Reader r(*m);
          r.u8();
          r.u32();
          output += r.text();
        } else if (type == kMsgChannelRequest) {
          Reader r(*m);
          r.u8();
          r.u32();
          std::string request(r.text());
          r.boolean();
          if (request == "exit-status") exit_status = r.u32();
        } else if (type == kMsgChannelClose) {
          Writer w;
          w.u8(kMsgChannelClose).u32(peer_channel);
          t.send(w.buffer());
          std::printf("command output: %s\n", output.c_str());
          if (exit_status) std::printf("exit status: %u\n", *exit_status);
          done = true;
          break;
        } else if (type == kMsgChannelWindowAdjust || type == kMsgChannelExtendedData ||
                   type == kMsgChannelEof) {
          // stderr and flow control are not what this probe checks
        } else if (type == kMsgChannelOpenFailure) {
          fatal("the server refused the session channel");
        } else {
          fatal("unexpected message %u", type);
        }
      }
      if (t.first_kex_done() && !requested) {
        std::printf("host key: %s\n%s\n", host_key_seen.c_str(), t.negotiated_summary().c_str());
        for (const auto& [name, value] : t.peer_extensions())
          std::printf("extension: %s=%s\n", name.c_str(), value.c_str());
        t.send(encode(ServiceRequestMsg{"ssh-userauth"}));
        requested = true;
      }
      flush_blocking(t, fd.get());
    }
    t.send_disconnect(uint32_t(DisconnectReason::kByApplication), "probe done");
    flush_blocking(t, fd.get());
    std::printf("done\n");
    return 0;
  } catch (const DisconnectReceived& d) {
    std::fprintf(stderr, "disconnected by server: %u: %s\n", d.reason(), d.description().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
  }
  return 1;
}
