// The monitor's PWNAM request: the user name of the first userauth request (RFC 4252 §5). The
// monitor applies Match for it, looks the account up, and answers with the methods that may be
// tried and the Banner, which the net child cannot read.
#include <pwd.h>

#include <fstream>
#include <string>

#include "common/ipc_messages.h"
#include "common/log.h"
#include "monitor/bastion_session.h"
#include "monitor/connection_refused.h"
#include "monitor/monitor.h"

namespace postern::monitor {

using namespace ipc;

namespace {

// The Banner file (sshd_config(5)), read here because the net child cannot open files. Bounded
// (128 KiB) so it fits one ipc message (common/ipc.h) and one packet; OpenSSH's banner regress
// test sends 100000 bytes.
std::string read_banner(const std::string& path) {
  if (path.empty() || path == "none") return "";
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    log_error("Banner: cannot open %s", path.c_str());
    return "";
  }
  std::string text(128 * 1024, '\0');
  f.read(text.data(), std::streamsize(text.size()));
  text.resize(size_t(f.gcount()));
  return text;
}

}  // namespace

Phase Monitor::on_pwnam(Channel& ch, Message& m) {
  auto req = ipc::decode<PwnamRequest>(m.data.view());
  if (req.user.empty() || req.user.size() > kMaxUserName)
    throw ProtocolError("monitor: bad user name length");
  // "user:style" (a BSD auth style): the account is the part before the colon; the signed
  // data carries the whole string.
  m_user_name_raw = req.user;
  m_user_name = req.user.substr(0, req.user.find(':'));
  std::string route_error;
  // The proxy front door's target must have come first (monitor_proxy.cpp): without it the
  // login would have no route, which only a net child that skipped it could cause.
  if (m_bastion != nullptr && m_bastion->proxy_door() && !m_bastion->has_proxy_target())
    throw ProtocolError("monitor: PWNAM on a proxy front door connection without its target");
  if (m_bastion != nullptr) {
    // sshd -B: "targetuser%target%bastionuser" names a route (bastion/route.h); the account is
    // the bastion user. A malformed one logs in no one; the banner says why.
    auto name = m_bastion->set_user_name(req.user);
    if (name)
      m_user_name = *name;
    else
      route_error = name.error().message;
  }
  m_service = req.service;
  config::ConnectionInfo ci;
  ci.user = m_user_name;
  ci.addr = m_peer.address;
  // Match Host sees the verified name with UseDNS yes, else the address, as in sshd.
  ci.host = m_peer.host();
  ci.laddr = m_local.address;
  ci.lport = m_local.port;
  ci.invalid_user = m_bastion == nullptr && ::getpwnam(m_user_name.c_str()) == nullptr;
  m_effective = config::apply_match(m_config, ci);
  // RefuseConnection in a Match block the user name completes (monitor/connection_refused.h).
  if (m_effective.refuse_connection)
    throw ConnectionRefused("Refusing connection from " + m_peer.address + " port " +
                            std::to_string(m_peer.port) + " for user " + m_user_name +
                            ": RefuseConnection");
  m_max_auth_tries = unsigned(std::max(1, m_effective.max_auth_tries));
  if (route_error.empty()) m_user = m_backend.find_user(m_user_name, m_effective, m_peer);
  if (!m_user)
    log_info("Invalid user %s from %s port %d", m_user_name.c_str(), m_peer.address.c_str(),
             m_peer.port);
  PwnamReply reply;
  reply.valid = m_user.has_value();
  reply.max_auth_tries = m_max_auth_tries;
  m_methods = AuthMethodLists(m_effective.authentication_methods);
  require_totp_if_policy_says();
  prepare_picker();
  reply.methods = m_methods.next(enabled_methods());
  reply.banner = read_banner(m_effective.banner);
  if (!route_error.empty()) reply.banner += "postern: " + route_error + "\r\n";
  ch.send(reply);
  return Phase::kAwaitingAuth;
}

}  // namespace postern::monitor
