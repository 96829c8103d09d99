// `sshd-net`, the pre-auth child (DESIGN.md). Exec'd fresh by the monitor, so it holds no secret
// it was not sent: it receives its setup (configuration, host *public* keys), enters the jail
// (chroot to the empty privsep directory, the privsep user, no capabilities, no_new_privs,
// seccomp), then speaks the transport and the userauth protocol. Host key signatures, moduli and
// every authentication decision come from the monitor over ipc. On success it hands the transport
// state to the monitor and exits.
//
// fd 3: ipc channel to the monitor; fd 4: the client connection.
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "common/config/server_config.h"
#include "common/data_limit.h"
#include "common/ipc.h"
#include "common/ipc_messages.h"
#include "common/log.h"
#include "net/monitor_client.h"
#include "net/sandbox.h"
#include "net/transport.h"
#include "net/userauth_server.h"
#include "postern_config.h"

namespace postern::net {
namespace {

constexpr int kChannelFd = 3;
constexpr int kSocketFd = 4;

uint64_t now_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec);
}

class MonitorDecider : public AuthDecider {
 public:
  explicit MonitorDecider(ipc::Channel& ch) : m_ch(ch) {}
  User user(const std::string& name, const std::string& service) override {
    auto r = m_ch.call(ipc::PwnamRequest{name, service});
    if (!r) throw ProtocolError("monitor refused PWNAM: " + r.error().message);
    return User{r->valid, r->max_auth_tries, r->methods, r->banner};
  }
  Decision key_allowed(const std::string& algorithm, ByteView key, bool with_signature) override {
    auto r =
        m_ch.call(ipc::KeyAllowedRequest{algorithm, Bytes(key.begin(), key.end()), with_signature});
    if (!r) throw ProtocolError("monitor refused KEYALLOWED: " + r.error().message);
    return Decision{r->allowed, r->exceeded, false, {}};
  }
  Decision key_verify(const std::string& algorithm, ByteView key, ByteView signature,
                      ByteView signed_data) override {
    auto r = m_ch.call(ipc::KeyVerifyRequest{algorithm, Bytes(key.begin(), key.end()),
                                             Bytes(signature.begin(), signature.end()),
                                             Bytes(signed_data.begin(), signed_data.end())});
    if (!r) throw ProtocolError("monitor refused KEYVERIFY: " + r.error().message);
    return decision(*r);
  }
  Decision password(ByteView password) override {
    auto r = m_ch.call(ipc::PasswordRequest{SecretBytes(password)});
    if (!r) throw ProtocolError("monitor refused PASSWORD: " + r.error().message);
    m_banner = r->banner;
    return decision(*r);
  }
  std::string take_banner() override { return std::exchange(m_banner, std::string()); }
  KbdintStep kbdint_start(const std::string& submethods) override {
    auto r = m_ch.call(ipc::KbdintStartRequest{submethods});
    if (!r) throw ProtocolError("monitor refused KBDINT: " + r.error().message);
    return kbdint_step(*r);
  }
  KbdintStep kbdint_respond(const std::vector<ByteView>& responses) override {
    // u32 count, then the answers as strings (RFC 4256 §3.4 order), carried as a secret.
    SecretBytes wire;
    uint8_t n[4] = {uint8_t(responses.size() >> 24), uint8_t(responses.size() >> 16),
                    uint8_t(responses.size() >> 8), uint8_t(responses.size())};
    wire.append(ByteView(n, 4));
    for (ByteView a : responses) {
      uint8_t len[4] = {uint8_t(a.size() >> 24), uint8_t(a.size() >> 16), uint8_t(a.size() >> 8),
                        uint8_t(a.size())};
      wire.append(ByteView(len, 4));
      wire.append(a);
    }
    auto r = m_ch.call(ipc::KbdintResponseRequest{std::move(wire)});
    if (!r) throw ProtocolError("monitor refused KBDINT response: " + r.error().message);
    return kbdint_step(*r);
  }
  Decision hostbased(const std::string& algorithm, ByteView key, const std::string& client_host,
                     const std::string& client_user, ByteView signature) override {
    auto r =
        m_ch.call(ipc::HostbasedRequest{algorithm, Bytes(key.begin(), key.end()), client_host,
                                        client_user, Bytes(signature.begin(), signature.end())});
    if (!r) throw ProtocolError("monitor refused HOSTBASED: " + r.error().message);
    return decision(*r);
  }

 private:
  static Decision decision(const ipc::AuthOutcome& o) {
    return Decision{o.ok, o.exceeded, o.partial, o.methods};
  }
  static KbdintStep kbdint_step(const ipc::KbdintReply& r) {
    KbdintStep s;
    s.done = r.done;
    s.decision = decision(r.outcome);
    if (r.done) return s;
    if (r.echo.size() != r.prompts.size())
      throw ProtocolError("monitor: keyboard-interactive prompts without echo flags");
    s.instruction = r.instruction;
    s.prompts = r.prompts;
    for (uint8_t e : r.echo) s.echo.push_back(e != 0);
    return s;
  }

  ipc::Channel& m_ch;
  std::string m_banner;
};

// OpenSSL reads its configuration and loads providers lazily; do it while files can still be
// opened, and seed the DRBG, so nothing inside the sandbox needs open().
void warm_up_openssl() {
  OPENSSL_init_crypto(
      OPENSSL_INIT_LOAD_CONFIG | OPENSSL_INIT_ADD_ALL_CIPHERS | OPENSSL_INIT_ADD_ALL_DIGESTS,
      nullptr);
  uint8_t b[32];
  RAND_bytes(b, sizeof b);
  for (const char* md : {"SHA1", "SHA256", "SHA384", "SHA512"})
    EVP_MD_free(EVP_MD_fetch(nullptr, md, nullptr));
  for (const char* c : {"AES-128-GCM", "AES-256-GCM", "AES-128-CTR", "AES-192-CTR", "AES-256-CTR",
                        "ChaCha20", "AES-128-ECB", "AES-256-ECB"})
    EVP_CIPHER_free(EVP_CIPHER_fetch(nullptr, c, nullptr));
  EVP_MAC_free(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  for (const char* alg : {"X25519", "EC", "DH", "ED25519", "RSA"}) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, alg, nullptr);
    EVP_PKEY_CTX_free(ctx);
  }
}

int run() {
  ::signal(SIGPIPE, SIG_IGN);
  ::fcntl(kChannelFd, F_SETFD, FD_CLOEXEC);
  ::fcntl(kSocketFd, F_SETFD, FD_CLOEXEC);
  ipc::Channel channel{UniqueFd(kChannelFd)};
  UniqueFd sock(kSocketFd);

  // Every log line goes to the monitor (the jail has no syslog socket and no files).
  auto setup = receive_setup_from_monitor<ipc::NetSetup>(channel, "sshd-net");

  auto cfg = config::deserialize_config(setup.config);
  if (!cfg) fatal("bad configuration from the monitor: %s", cfg.error().message.c_str());
  config::apply_log_verbose(*cfg);  // LogVerbose (common/config/log_verbose.cpp)

  // ---- the jail -------------------------------------------------------------------------------
  warm_up_openssl();
  auto jail = privsep_jail(POSTERN_PRIVSEP_USER, POSTERN_PRIVSEP_PATH);
  if (!jail) fatal("%s", jail.error().message.c_str());
  if (auto r = enter_jail(*jail); !r) fatal("%s", r.error().message.c_str());
  if (auto r = cap_data_limit(kNetChildDataLimit, /*hard=*/true); !r)
    fatal("%s", r.error().message.c_str());
  SandboxPolicy policy = SandboxPolicy::net_child();
  if (log_enabled(LogLevel::kDebug3)) policy.on_violation(SandboxPolicy::Violation::kTrap);
  if (auto r = policy.apply(); !r) fatal("sandbox: %s", r.error().message.c_str());

  // ---- transport + userauth ---------------------------------------------------------------------
  MonitorHostKeySigner signer(channel, setup.host_key_algorithms, setup.host_key_blobs);
  TransportConfig tc = server_transport_config(*cfg, signer, channel);

  PeerAddress peer{setup.remote_addr, int(setup.remote_port)};
  Transport transport(tc);
  MonitorDecider decider(channel);
  UserauthServer userauth(transport, decider, peer);
  ::fcntl(sock.get(), F_SETFL, ::fcntl(sock.get(), F_GETFL) | O_NONBLOCK);

  auto closed_line = [&] {
    std::string who = userauth.user_description();
    if (who.empty())
      log_info("Connection closed by %s port %d", peer.address.c_str(), peer.port);
    else
      log_info("Connection closed by %s %s port %d", who.c_str(), peer.address.c_str(), peer.port);
  };

  try {
    flush_blocking(transport, sock.get());  // our version line
    while (!userauth.authenticated()) {
      int timeout = transport.next_timeout_seconds(now_seconds());
      pollfd p[2] = {{sock.get(), POLLIN, 0}, {channel.fd(), POLLIN, 0}};
      int rc = ::poll(p, 2, timeout < 0 ? -1 : timeout * 1000);
      if (rc < 0 && errno != EINTR) throw ConnectionClosed(std::string("poll: ") + strerror(errno));
      // The monitor never speaks first; readable means it went away.
      if (p[1].revents) return 255;
      transport.tick(now_seconds());
      if (p[0].revents) {
        if (!read_into(transport, sock.get())) {
          closed_line();
          return 255;
        }
        while (auto msg = transport.next_message()) {
          userauth.handle(*msg);
          if (userauth.authenticated()) break;
        }
      }
      flush_blocking(transport, sock.get());
    }
    flush_blocking(transport, sock.get());
    if (transport.kex_in_progress())
      throw ProtocolError("key exchange in progress at the end of authentication");
    ipc::AuthDone done;
    done.transport_state = std::move(transport.export_state().bytes);
    channel.send(done);
    return 0;
  } catch (const AuthAborted&) {
    try {
      flush_blocking(transport, sock.get());
    } catch (...) {
    }
    return 255;
  } catch (const DisconnectReceived& e) {
    log_info("Received disconnect from %s port %d:%u: %s", peer.address.c_str(), peer.port,
             e.reason(), e.description().c_str());
    std::string who = userauth.user_description();
    log_info("Disconnected from %s%s%s port %d", who.c_str(), who.empty() ? "" : " ",
             peer.address.c_str(), peer.port);
    return 255;
  } catch (const ConnectionClosed& e) {
    closed_line();
    log_debug("%s", e.what());
    return 255;
  } catch (const ProtocolError& e) {
    log_info("Disconnecting %s%s%s port %d: %s", userauth.user_description().c_str(),
             userauth.user_description().empty() ? "" : " ", peer.address.c_str(), peer.port,
             e.what());
    try {
      transport.send_disconnect(uint32_t(e.reason()), e.what());
      flush_blocking(transport, sock.get());
    } catch (...) {
    }
    return 255;
  } catch (const std::exception& e) {
    // A bug or an exhausted resource (std::bad_alloc under RLIMIT_DATA): never std::terminate,
    // whose abort() the sandbox would answer with a kill that counts as a crash against the
    // client's address. The peer gets a DISCONNECT, the log the reason.
    log_error("Disconnecting %s port %d: internal error: %s", peer.address.c_str(), peer.port,
              e.what());
    try {
      transport.send_disconnect(uint32_t(DisconnectReason::kByApplication), "internal error");
      flush_blocking(transport, sock.get());
    } catch (...) {
    }
    return 255;
  }
}

}  // namespace
}  // namespace postern::net

int main() {
  return postern::net::run();
}
