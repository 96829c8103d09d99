// The monitor's bastion requests (sshd -B; ../shared/BASTION.md "Processes"): sshd-bastion asks,
// the monitor decides with the policy, opens the target connection, checks the target's host
// key, certifies a key or signs, and writes every decision to the audit log. Each request names
// a target connection this monitor opened; anything else is a protocol error, which ends the
// connection.
#include <algorithm>
#include <ctime>
#include <string>

#include "bastion/cert_issuer.h"
#include "bastion/extender_names.h"
#include "bastion/target_host_key.h"
#include "common/ipc_bastion_messages.h"
#include "common/log.h"
#include "common/ssh_cert.h"
#include "common/wire.h"
#include "monitor/bastion_session.h"
#include "monitor/extender_connect.h"
#include "monitor/monitor.h"
#include "monitor/target_connect.h"
#include "net/messages.h"

namespace postern::monitor {

using namespace ipc;

namespace {

constexpr size_t kMaxTargetText = 255;
constexpr size_t kMaxDetail = 1024;
constexpr unsigned kMaxSignsPerTarget = 4;

// What the user typed, safe to echo back in one line.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

const char* credential_name(bastion::Credential c) {
  switch (c) {
    case bastion::Credential::kCertificate:
      return "certificate";
    case bastion::Credential::kAgent:
      return "agent";
    case bastion::Credential::kKey:
      return "key";
  }
  return "?";
}

}  // namespace

// A file operation sshd-bastion saw on a channel allowed as sftp or scp while the policy records
// sftp (ChannelDecisionReply's observe_files): anything else is a protocol error, so the session
// process cannot write file events at will.
void audit_file_event(BastionSession& b, BastionTarget& t, const ipc::BastionEvent& req) {
  auto kind = t.channel_kinds.find(req.channel);
  const auto& record = b.policy().bastion.record;
  if (kind == t.channel_kinds.end() || (kind->second != "sftp" && kind->second != "scp") ||
      std::find(record.begin(), record.end(), "sftp") == record.end() || !req.exit_status.empty() ||
      (req.bytes_up != 0 && req.bytes_down != 0))
    throw ProtocolError("monitor: file event for a channel whose files are not recorded");
  bastion::AuditEvent ev;
  ev.event = "file";
  ev.target = t.target.name;
  ev.target_user = t.target_user;
  ev.role = t.role;
  ev.channel = kind->second;
  ev.detail = req.detail;  // bounded above; the audit writers escape what they must
  ev.bytes_up = req.bytes_up;
  ev.bytes_down = req.bytes_down;
  b.audit(ev);
}

BastionSession& Monitor::bastion() {
  if (m_bastion == nullptr) throw ProtocolError("monitor: bastion request outside bastion mode");
  return *m_bastion;
}

Phase Monitor::on_target_open(Channel& ch, Message& m) {
  auto req = ipc::decode<TargetOpenRequest>(m.data.view());
  BastionSession& b = bastion();
  // An extender's connection only forwards (monitor_extender.cpp); it opens nothing.
  if (b.extender() != nullptr)
    throw ProtocolError("monitor: TARGET_OPEN on an extender's connection");
  bool jump = req.channel == "direct-tcpip";
  if (req.target.size() > kMaxTargetText || req.target_user.size() > kMaxUserName ||
      req.originator.size() > kMaxTargetText || req.port > 65535 ||
      (!jump && req.channel != "session") || (jump && !req.target_user.empty()))
    throw ProtocolError("monitor: malformed TARGET_OPEN");
  if (!jump) {
    // The login's target: only the route the user name named, and only once.
    const auto& route = b.route();
    if (!route || req.target != route->target || req.target_user != route->target_user ||
        int(req.port) != route->port || b.target_count() != 0)
      throw ProtocolError("monitor: TARGET_OPEN for a session other than the login's route");
  }
  TargetOpenReply reply;
  bastion::AuditEvent ev;
  ev.event = "target-open";
  ev.target = printable(req.target);
  ev.target_user = req.target_user;
  ev.channel = req.channel;
  if (jump) ev.detail = "port " + std::to_string(req.port) + " from " + printable(req.originator);
  auto refuse = [&](const std::string& reason, const std::string& message) {
    ev.decision = "deny";
    ev.reason = reason;
    b.audit(ev);
    reply.message = message;
    ch.send(reply);
    return Phase::kBastion;
  };
  if (b.target_count() >= BastionSession::kMaxTargets)
    return refuse("too many target connections", "postern: too many target connections");
  const bastion::Policy& policy = b.policy();
  auto resolved = bastion::resolve_target(policy, req.target, int(req.port));
  if (!resolved)
    return refuse("not a target name or host name",
                  "postern: \"" + printable(req.target) + "\" is not a target or host name");
  ev.target = resolved->name;
  bastion::Decision d =
      bastion::decide(policy, b.subject(), *resolved, req.target_user, jump ? "direct-tcpip" : "");
  ev.role = d.role;
  if (!d.allowed) return refuse(d.reason, "postern: " + d.user_message);
  const bastion::Role* role = bastion::role_for(policy, d);
  if (role == nullptr) throw std::logic_error("decide allowed without a role");
  // Extenders (man/postern-bastion.5 EXTENDERS): a target `via` one is reached only through it;
  // a route that names an extender must name that one.
  const std::string via = resolved->target != nullptr ? resolved->target->via : "";
  if (!jump && !b.route()->extender.empty() && b.route()->extender != via)
    return refuse(
        "extender " + b.route()->extender + " named; the target's via is " +
            (via.empty() ? "none" : via),
        "postern: " + resolved->name + " is not reached through extender " + b.route()->extender);
  BastionTarget t;
  t.target = *resolved;
  t.target_user = req.target_user;
  t.channel = req.channel;
  t.role = role->name;
  t.credential = role->credential;
  t.template_name = role->template_name;
  if (!jump && t.credential == bastion::Credential::kKey) {
    auto key = PrivateKey::load_file(role->key_path);
    if (!key)
      return refuse("credential key " + role->key_path + ": " + key.error().message,
                    "postern: the bastion cannot log in to " + resolved->name + " (its key)");
    t.stored_key = std::make_shared<const PrivateKey>(std::move(*key));
  }
  int timeout_ms = int(policy.bastion.connect_timeout) * 1000;
  auto fd = via.empty() ? connect_target(resolved->address, resolved->port, timeout_ms)
                        : connect_via_extender(
                              bastion::extender_socket_path(policy.bastion.extender_sockets, via),
                              via, resolved->address, resolved->port, timeout_ms);
  if (!fd)
    return refuse("connect to " + resolved->address + " port " + std::to_string(resolved->port) +
                      (via.empty() ? "" : " via extender " + via) + ": " + fd.error().message,
                  via.empty()
                      ? "postern: cannot connect to " + resolved->name + ": " + fd.error().message
                      : "postern: cannot reach " + resolved->name + ": " + fd.error().message);
  ev.decision = "allow";
  ev.reason = d.reason;
  ev.detail += (ev.detail.empty() ? "" : "; ") + std::string("connected to ") + resolved->address +
               " port " + std::to_string(resolved->port) +
               (via.empty() ? "" : " via extender " + via);
  if (!b.audit(ev)) {
    reply.message = "postern: the bastion cannot write its audit log";
    ch.send(reply);
    return Phase::kBastion;
  }
  BastionTarget& added = b.add_target(std::move(t));
  reply.allowed = true;
  reply.target_id = added.id;
  reply.target_name = added.target.name;
  reply.target_user = added.target_user;
  reply.credential = credential_name(added.credential);
  if (added.stored_key) reply.key_blob = added.stored_key->public_key().blob();
  int raw = fd->get();
  ch.send(reply, std::span<const int>(&raw, 1));
  return Phase::kBastion;
}

Phase Monitor::on_target_host_key(Channel& ch, Message& m) {
  auto req = ipc::decode<TargetHostKeyRequest>(m.data.view());
  BastionSession& b = bastion();
  BastionTarget* t = b.find_target(req.target_id);
  if (t == nullptr || t->host_key_checked || req.host_key.size() > 16 * 1024)
    throw ProtocolError("monitor: TARGET_HOSTKEY for no open target, or twice");
  t->host_key_checked = true;
  const auto& s = b.policy().bastion;
  bastion::HostKeyVerdict v = bastion::check_target_host_key(
      s.known_hosts, s.host_key_policy, t->target.name, t->target.address, t->target.port,
      req.host_key, uint64_t(std::time(nullptr)));
  t->host_key_ok = v.accepted;
  bastion::AuditEvent ev;
  ev.event = "target-hostkey";
  ev.target = t->target.name;
  ev.target_user = t->target_user;
  ev.role = t->role;
  ev.decision = v.accepted ? "allow" : "deny";
  ev.reason = v.message.empty() ? (v.learned ? "learned (accept-new)" : "known") : v.message;
  ev.detail = v.fingerprint;
  if (!b.audit(ev)) t->host_key_ok = false;
  TargetHostKeyReply reply;
  reply.accepted = t->host_key_ok;
  if (!reply.accepted) reply.message = "postern: " + (v.message.empty() ? "audit log" : v.message);
  ch.send(reply);
  return Phase::kBastion;
}

Phase Monitor::on_target_cert(Channel& ch, Message& m) {
  auto req = ipc::decode<TargetCertRequest>(m.data.view());
  BastionSession& b = bastion();
  BastionTarget* t = b.find_target(req.target_id);
  if (t == nullptr || !t->host_key_ok || t->cert_issued || t->target_user.empty() ||
      t->credential != bastion::Credential::kCertificate)
    throw ProtocolError("monitor: TARGET_CERT not allowed for this target now");
  t->cert_issued = true;
  auto key = PublicKey::from_blob(req.public_key);
  if (!key || Certificate::is_certificate_name(key->type_name()))
    throw ProtocolError("monitor: TARGET_CERT for something that is no plain public key");
  const bastion::Policy& policy = b.policy();
  const bastion::CertTemplate* tmpl = policy.find_template(t->template_name);
  bastion::AuditEvent ev;
  ev.event = "certificate";
  ev.target = t->target.name;
  ev.target_user = t->target_user;
  ev.role = t->role;
  auto fail = [&](const std::string& why) {
    ev.decision = "deny";
    ev.reason = why;
    b.audit(ev);
    ch.send(ErrorReply{"the bastion cannot issue a certificate"});
    return Phase::kBastion;
  };
  if (tmpl == nullptr) return fail("role " + t->role + " names no template");
  auto ca = b.ca_key();
  if (!ca) return fail(ca.error().message);
  uint64_t now = uint64_t(std::time(nullptr));
  auto serial = bastion::next_serial(policy.bastion.serial_file, now);
  if (!serial) return fail("serial: " + serial.error().message);
  bastion::CertRequest cr;
  cr.target_host = t->target.name;
  cr.client_address = b.peer().address;
  cr.bastion_user = b.subject().user;
  cr.target_user = t->target_user;
  cr.session_id = b.id();
  cr.now = now;
  cr.validity = policy.bastion.certificate_validity;
  auto cert = bastion::issue_certificate(**ca, *tmpl, *key, cr, *serial);
  if (!cert) return fail(cert.error().message);
  auto parsed = Certificate::from_blob(*cert);
  ev.decision = "allow";
  ev.reason = "template " + tmpl->name;
  ev.detail = "serial " + std::to_string(*serial) +
              (parsed ? " key_id \"" + parsed->key_id() + "\"" : std::string());
  if (!b.audit(ev)) {
    ch.send(ErrorReply{"the bastion cannot write its audit log"});
    return Phase::kBastion;
  }
  ch.send(TargetCertReply{std::move(*cert)});
  return Phase::kBastion;
}

Phase Monitor::on_target_sign(Channel& ch, Message& m) {
  auto req = ipc::decode<TargetSignRequest>(m.data.view());
  BastionSession& b = bastion();
  BastionTarget* t = b.find_target(req.target_id);
  if (t == nullptr || !t->host_key_ok || !t->stored_key || t->signs >= kMaxSignsPerTarget ||
      req.data.size() > 4096)
    throw ProtocolError("monitor: TARGET_SIGN not allowed for this target now");
  ++t->signs;
  // RFC 4252 §7: only a publickey request for this target's user, with the stored key, is
  // signed; the session identifier is the target's and cannot be checked here.
  const Bytes& blob = t->stored_key->public_key().blob();
  try {
    Reader r(req.data);
    ByteView sid = r.string();
    if (sid.empty() || sid.size() > 64) throw ProtocolError("session id");
    if (r.u8() != uint8_t(kMsgUserauthRequest)) throw ProtocolError("not userauth");
    if (r.text() != t->target_user || r.text() != "ssh-connection" || r.text() != "publickey" ||
        !r.boolean() || r.text() != req.algorithm || !equal_ct(r.string(), blob) || !r.done())
      throw ProtocolError("not this target's publickey request");
  } catch (const std::exception& e) {
    throw ProtocolError(std::string("monitor: TARGET_SIGN: ") + e.what());
  }
  auto sig = t->stored_key->sign(req.algorithm, req.data);
  if (!sig) {
    ch.send(ErrorReply{sig.error().message});
    return Phase::kBastion;
  }
  ch.send(TargetSignReply{std::move(*sig)});
  return Phase::kBastion;
}

Phase Monitor::on_channel_decision(Channel& ch, Message& m) {
  auto req = ipc::decode<ChannelDecisionRequest>(m.data.view());
  BastionSession& b = bastion();
  BastionTarget* t = b.find_target(req.target_id);
  bool known_kind = false;
  for (auto k : bastion::kChannelKinds) known_kind = known_kind || k == req.kind;
  if (t == nullptr || t->target_user.empty() || !known_kind || req.detail.size() > kMaxDetail)
    throw ProtocolError("monitor: malformed CHANNEL_DECISION");
  bastion::Decision d =
      bastion::decide(b.policy(), b.subject(), t->target, t->target_user, req.kind);
  bastion::AuditEvent ev;
  ev.event = "channel";
  ev.target = t->target.name;
  ev.target_user = t->target_user;
  ev.channel = req.kind;
  ev.role = d.role;
  ev.decision = d.allowed ? "allow" : "deny";
  ev.reason = d.reason;
  // The client's channel number ties this event to the channel's close event.
  ev.detail =
      "channel " + std::to_string(req.channel) + (req.detail.empty() ? "" : ": ") + req.detail;
  bool written = b.audit(ev);
  if (d.allowed && written && t->channel_kinds.size() < BastionTarget::kMaxChannels)
    t->channel_kinds[req.channel] = req.kind;
  ChannelDecisionReply reply;
  reply.allowed = d.allowed && written;
  // Issue 14 file events: `sftp` in `record` covers sftp and the legacy scp protocol.
  const auto& record = b.policy().bastion.record;
  reply.observe_files = reply.allowed && (req.kind == "sftp" || req.kind == "scp") &&
                        std::find(record.begin(), record.end(), "sftp") != record.end();
  if (!d.allowed) reply.message = "postern: " + d.user_message;
  if (d.allowed && !written) reply.message = "postern: the bastion cannot write its audit log";
  ch.send(reply);
  return Phase::kBastion;
}

Phase Monitor::on_bastion_event(Channel&, Message& m) {
  auto req = ipc::decode<BastionEvent>(m.data.view());
  BastionSession& b = bastion();
  if (req.event != "channel-close" && req.event != "target-close" && req.event != "target-auth" &&
      req.event != "file")
    throw ProtocolError("monitor: unknown bastion event");
  BastionTarget* t = b.find_target(req.target_id);
  if (t == nullptr || req.detail.size() > kMaxDetail || req.exit_status.size() > 64)
    throw ProtocolError("monitor: malformed BASTION_EVENT");
  if (req.event == "file") {
    audit_file_event(b, *t, req);
    return Phase::kBastion;
  }
  bastion::AuditEvent ev;
  ev.event = req.event;
  ev.target = t->target.name;
  ev.target_user = t->target_user;
  ev.role = t->role;
  ev.channel = t->channel;
  ev.detail = req.detail;  // bounded above; the audit writers escape what they must
  if (req.event == "channel-close") {
    auto kind = t->channel_kinds.find(req.channel);
    ev.channel = kind != t->channel_kinds.end() ? kind->second : t->channel;
    if (kind != t->channel_kinds.end()) t->channel_kinds.erase(kind);
    finish_recording(*t, req.channel, ev);
    ev.detail =
        "channel " + std::to_string(req.channel) + (ev.detail.empty() ? "" : ": ") + ev.detail;
  }
  ev.bytes_up = req.bytes_up;
  ev.bytes_down = req.bytes_down;
  if (!req.exit_status.empty()) ev.exit_status = printable(req.exit_status);
  if (req.event == "target-auth")
    ev.decision = req.detail.rfind("accepted", 0) == 0 ? "allow" : "deny";
  b.audit(ev);
  return Phase::kBastion;
}

}  // namespace postern::monitor
