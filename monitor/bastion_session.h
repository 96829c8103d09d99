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
  Result<std::string> set_user_name(const std::string& raw);
  const std::optional<bastion::Route>& route() const { return m_route; }
  // The picker's choice (monitor/monitor_picker.cpp): the route, as if the user name had named
  // it; decided and audited at login like a typed one.
  void set_picked_route(bastion::Route route) {
    m_route = std::move(route);
    m_route_picked = true;
  }
  bool route_picked() const { return m_route_picked; }
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

 private:
  bastion::Policy m_policy;
  Endpoint m_peer;
  std::string m_id;
  std::optional<bastion::Route> m_route;
  bool m_route_picked = false;
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
};

}  // namespace postern::monitor
