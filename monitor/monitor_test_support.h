#pragma once
// What the monitor's unit tests share: the untrusted child's end of a real ipc channel (send a
// request, let the monitor serve it, read the reply) and a backend that knows two accounts.
#include <stdexcept>
#include <string>

#include "common/ipc_messages.h"
#include "common/result.h"
#include "monitor/monitor.h"

namespace postern::monitor::testing {

class FakeChild {
 public:
  FakeChild() {
    auto [c, s] = ipc::Channel::make_pair();
    m_child = std::move(c);
    m_server = std::move(s);
  }

  // The monitor serves one request; an ErrorReply comes back as the error.
  template <typename Req>
  Result<typename Req::Reply> call(Monitor& monitor, Req req) {
    send_only(monitor, std::move(req));
    ipc::Message reply = m_child.receive();
    if (reply.type == ipc::ErrorReply::kType)
      return Unexpected(ipc::decode<ipc::ErrorReply>(reply.data.view()).message);
    auto r = ipc::decode<typename Req::Reply>(reply.data.view());
    if constexpr (requires { r.fds; }) r.fds = std::move(reply.fds);  // descriptors it passed
    return r;
  }

  // Bytes that need not be a well-formed request, served like one.
  void send_raw_only(Monitor& monitor, ByteView datagram) {
    m_child.send_datagram(datagram);
    ipc::Message m = m_server.receive();
    monitor.handle(m_server, m);
  }

  // For requests without a reply, or whose reply the test does not read.
  template <typename Req>
  void send_only(Monitor& monitor, Req req) {
    m_child.send(req);
    ipc::Message m = m_server.receive();
    monitor.handle(m_server, m);
  }

 private:
  ipc::Channel m_child, m_server;
};

// alice (uid 1000) and root exist; no key is authorized unless a test says so.
class TwoAccounts : public AuthBackend {
 public:
  std::optional<Account> find_user(const std::string& name, const config::ServerConfig&,
                                   const Endpoint&) override {
    if (name != "alice" && name != "root") return std::nullopt;
    return Account{name, name == "root" ? 0u : 1000u, 1000, "/home/" + name, "/bin/sh"};
  }
  std::optional<AuthorizedKeyOptions> key_authorized(const Account&, const PublicKey&,
                                                     const config::ServerConfig&,
                                                     const Endpoint&) override {
    return std::nullopt;
  }
};

}  // namespace postern::monitor::testing
