// The net child's authentication decisions, asked of the monitor: every userauth step
// (RFC 4252 §5) becomes one typed request, and the monitor's reply is the decision. A refused
// request (out of phase, docs/architecture.md) ends the connection.
#pragma once

#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/ipc.h"
#include "common/ipc_messages.h"
#include "net/userauth_server.h"

namespace postern::privsep_child {

class MonitorAuthDecider : public net::AuthDecider {
 public:
  explicit MonitorAuthDecider(ipc::Channel& ch) : m_ch(ch) {}
  User user(const std::string& name, const std::string& service) override;
  Decision key_allowed(const std::string& algorithm, ByteView key, bool with_signature) override;
  Decision key_verify(const std::string& algorithm, ByteView key, ByteView signature,
                      ByteView signed_data) override;
  Decision password(ByteView password) override;
  std::string take_banner() override;
  KbdintStep kbdint_start(const std::string& submethods) override;
  KbdintStep kbdint_respond(const std::vector<ByteView>& responses) override;
  Decision hostbased(const std::string& algorithm, ByteView key, const std::string& client_host,
                     const std::string& client_user, ByteView signature) override;

 private:
  ipc::Channel& m_ch;
  std::string m_banner;
};

}  // namespace postern::privsep_child
