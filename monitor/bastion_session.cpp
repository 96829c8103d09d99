#include "monitor/bastion_session.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>

#include "common/log.h"

namespace postern::monitor {

namespace {

std::string random_session_id() {
  unsigned char raw[8];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("RAND_bytes failed");
  char hex[17];
  for (size_t i = 0; i < sizeof raw; ++i) std::snprintf(hex + 2 * i, 3, "%02x", raw[i]);
  return std::string(hex, 16);
}

}  // namespace

BastionSession::BastionSession(bastion::Policy policy, Endpoint peer)
    : m_policy(std::move(policy)),
      m_peer(std::move(peer)),
      m_id(random_session_id()),
      m_audit(m_policy.bastion.audit_log) {
  auto where = bastion::index_location(m_policy.bastion.audit_database, m_policy.bastion.audit_log);
  if (!where) {
    log_error("%s", where.error().message.c_str());  // the loader checked it: not expected
  } else if (where->enabled) {
    // The index's failures are logged, once each; sessions go on, the JSON log has every
    // event, and `postern-audit reindex` fills the index later.
    m_index = std::make_unique<bastion::AuditIndexWriter>(
        *where, bastion::IndexWriterOptions{}, [](const std::string& error) {
          log_error("%s (the JSON audit log has the events; postern-audit reindex)", error.c_str());
        });
  }
}

Result<std::string> BastionSession::set_user_name(const std::string& raw) {
  if (m_proxy_door) {
    // The proxy request named the target: a '%' route here would name a second one.
    if (raw.find('%') != std::string::npos)
      return Unexpected("on the proxy front door the user name is the target account, without '%'");
    // As a route's parts are (bastion/route.h): printable ASCII, no space, bounded.
    bool printable =
        std::all_of(raw.begin(), raw.end(), [](char c) { return c > 0x20 && c < 0x7f; });
    if (raw.empty() || raw.size() > 256 || !printable)
      return Unexpected("user name holds a space or a byte outside printable ASCII");
    m_route = bastion::Route{raw, m_proxy_host, m_proxy_port, "", ""};
    m_user.clear();
    return raw;
  }
  auto route = bastion::parse_route(raw);
  if (!route) return Unexpected(route.error().message);
  m_route = *route;
  m_user = m_route ? m_route->bastion_user : raw;
  return m_user;
}

void BastionSession::set_proxy_target(std::string door, std::string host, int port) {
  m_proxy_kind = std::move(door);
  m_proxy_host = std::move(host);
  m_proxy_port = port;
}

void BastionSession::set_logged_in(const std::string& user, std::vector<std::string> groups) {
  m_user = user;
  m_groups = std::move(groups);
}

bastion::Subject BastionSession::subject() const {
  return bastion::Subject{m_user, m_groups, m_peer.address};
}

bool BastionSession::audit(bastion::AuditEvent e) {
  e.session = m_id;
  e.bastion_user = m_user;
  e.client = m_peer.address + " port " + std::to_string(m_peer.port);
  log_info("%s", bastion::audit_syslog_line(e).c_str());
  std::string line;
  auto written = m_audit.write(e, &line);
  if (written && m_index && !m_index->enqueue(std::move(line)))
    log_error("audit index: queue full, event not indexed (postern-audit reindex)");
  if (!written) {
    log_error("audit log %s: %s", m_policy.bastion.audit_log.c_str(),
              written.error().message.c_str());
    return false;
  }
  return true;
}

Result<std::shared_ptr<const PrivateKey>> BastionSession::ca_key() {
  if (!m_ca) {
    auto k = PrivateKey::load_file(m_policy.bastion.ca_key);
    if (!k) return Unexpected("ca_key " + m_policy.bastion.ca_key + ": " + k.error().message);
    m_ca = std::make_shared<const PrivateKey>(std::move(*k));
  }
  return m_ca;
}

const bastion::Extender* BastionSession::extender() const {
  // A route ("x%y%dc2") names a target, never an extender login; names of users and extenders
  // are one space (the loader refuses duplicates).
  if (m_route) return nullptr;
  for (const auto& e : m_policy.extenders)
    if (e.name == m_user) return &e;
  return nullptr;
}

BastionTarget* BastionSession::find_target(uint32_t id) {
  for (auto& t : m_targets)
    if (t.id == id) return &t;
  return nullptr;
}

BastionTarget& BastionSession::add_target(BastionTarget t) {
  t.id = m_next_id++;
  m_targets.push_back(std::move(t));
  return m_targets.back();
}

}  // namespace postern::monitor
