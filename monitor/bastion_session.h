// sshd -B: what one connection's monitor holds for the bastion (../shared/BASTION.md
// "Processes"): the policy, the route the user name named, who logged in, the CA key, the
// target connections it opened (each later request from sshd-bastion must name one of them),
// and the audit log every decision goes to.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bastion/audit_index_writer.h"
#include "bastion/audit_log.h"
#include "bastion/decide.h"
#include "bastion/policy.h"
#include "bastion/route.h"
#include "common/endpoint.h"
#include "common/ssh_key.h"
#include "monitor/extender_socket.h"

namespace postern::monitor {

// A target connection the monitor opened for sshd-bastion.
struct BastionTarget {
  uint32_t id = 0;
  bastion::ResolvedTarget target;
  std::string target_user;  // "" for a direct-tcpip (jump) connection
  std::string channel;      // "session" or "direct-tcpip"
  std::string role;
  bastion::Credential credential = bastion::Credential::kCertificate;
  std::string template_name;
  std::shared_ptr<const PrivateKey> stored_key;  // credential "key:/path"
  bool host_key_checked = false;
  bool host_key_ok = false;
  bool cert_issued = false;
  unsigned signs = 0;
  // The kind each allowed channel was opened for (the client's channel number), so its close
  // event says what closed. Bounded by kMaxChannels; forgotten at close.
  static constexpr size_t kMaxChannels = 1024;
  std::map<uint32_t, std::string> channel_kinds;
  // The recording file of each recorded channel (monitor_recording.cpp), until its close.
  std::map<uint32_t, std::string> recordings;
};

// At a channel's close event: the channel's recording, if it had one, and the SHA-256 of the
// file as it is now (monitor_recording.cpp).
void finish_recording(BastionTarget& t, uint32_t channel, bastion::AuditEvent& ev);

class BastionSession {
 public:
  BastionSession(bastion::Policy policy, Endpoint peer);

  const bastion::Policy& policy() const { return m_policy; }
  // 16 hex digits, random: in every audit event, certificate key_id and recording name.
  const std::string& id() const { return m_id; }
  const Endpoint& peer() const { return m_peer; }

  // The user name as sent: a route ("deploy%web1%alice") or a plain bastion user. Returns the
  // bastion user's name, or an error safe to show (the malformed name is not echoed back raw).
  // On the proxy front door it is the target account, the route is the proxy target's, and
  // the account name returned is the user name itself (the bastion user comes with the key).
  Result<std::string> set_user_name(const std::string& raw);
  const std::optional<bastion::Route>& route() const { return m_route; }
  // The picker's choice (monitor/monitor_picker.cpp): the route, as if the user name had named
  // it; decided and audited at login like a typed one.
  void set_picked_route(bastion::Route route) {
    m_route = std::move(route);
    m_route_picked = true;
  }
  bool route_picked() const { return m_route_picked; }

  // The proxy front door (monitor/monitor_proxy.cpp): the connection came in on a proxy_listen
  // port; the proxy request named the target, the SSH user name is the target account, and the
  // bastion user is the policy user whose key or certificate authenticated.
  void set_proxy_door() { m_proxy_door = true; }
  bool proxy_door() const { return m_proxy_door; }
  // The target the proxy request named (checked by the monitor), once; the door's name for the
  // audit ("socks5", ...).
  void set_proxy_target(std::string door, std::string host, int port);
  bool has_proxy_target() const { return !m_proxy_host.empty(); }
  const std::string& proxy_kind() const { return m_proxy_kind; }
  // Who the authenticating key or certificate belongs to; "" until then.
  void set_proxy_bastion_user(std::string user) { m_proxy_bastion_user = std::move(user); }
  const std::string& proxy_bastion_user() const { return m_proxy_bastion_user; }
  // After login: who it is (system accounts bring their groups for group:NAME members).
  void set_logged_in(const std::string& user, std::vector<std::string> groups);
  bastion::Subject subject() const;

  // One audit event (JSON line and syslog line), with session, user and client filled in, and
  // the line queued for the session index, which never holds the caller up.
  // False when the audit log cannot be written: the caller then refuses what it would allow.
  bool audit(bastion::AuditEvent e);

  // The bastion CA (loaded on first use; the listener checked that it loads).
  Result<std::shared_ptr<const PrivateKey>> ca_key();

  // Target connections, at most kMaxTargets per connection.
  static constexpr size_t kMaxTargets = 64;
  BastionTarget* find_target(uint32_t id);
  BastionTarget& add_target(BastionTarget t);
  size_t target_count() const { return m_targets.size(); }

  // Machine-to-machine certificates asked on this connection (ISSUE_CERT), at most
  // kMaxCertificates: a loop in a script must not fill the audit log and the serial space.
  static constexpr size_t kMaxCertificates = 16;
  size_t& certificates_asked() { return m_certificates_asked; }

  // Extenders (man/postern-bastion.5 EXTENDERS). The [[extender]] the user name names, or
  // nullptr: such a connection authenticates with the extender's keys and only forwards.
  const bastion::Extender* extender() const;
  // This connection's sshd-bastion, which the socket's owner file names (a newer connection of
  // the same extender closes it).
  void set_relay_pid(pid_t pid) { m_relay_pid = pid; }
  pid_t relay_pid() const { return m_relay_pid; }
  // The socket published for it (monitor_extender.cpp), withdrawn at the connection's end.
  std::optional<PublishedExtender>& published_extender() { return m_published; }

 private:
  bastion::Policy m_policy;
  Endpoint m_peer;
  std::string m_id;
  std::optional<bastion::Route> m_route;
  bool m_route_picked = false;
  bool m_proxy_door = false;
  std::string m_proxy_kind, m_proxy_host;
  int m_proxy_port = 0;
  std::string m_proxy_bastion_user;
  std::string m_user;
  std::vector<std::string> m_groups;
  bastion::AuditLog m_audit;
  // The session index (audit_database): each line the log took, queued for its own thread.
  // Null when the index is off. Declared after m_audit and destroyed first: it drains at the end
  // of the connection.
  std::unique_ptr<bastion::AuditIndexWriter> m_index;
  std::shared_ptr<const PrivateKey> m_ca;
  std::vector<BastionTarget> m_targets;
  uint32_t m_next_id = 1;
  size_t m_certificates_asked = 0;
  pid_t m_relay_pid = -1;
  std::optional<PublishedExtender> m_published;
};

}  // namespace postern::monitor
