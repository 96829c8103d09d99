// Machine to machine (../shared/BASTION.md "How people connect"): ISSUE_CERT, the monitor's
// half of `ssh bastion certificate TARGETUSER@TARGET < id.pub` in jump mode. The caller's key
// and the target it names are untrusted; the monitor decides with the policy (a role granting
// the target and account with issue_certificates), judges the key (issuable_key.h), certifies it
// with the role's template and audits the answer either way. Refusals are replies, not protocol
// errors: the caller typed them.
#include <ctime>
#include <string>

#include "bastion/cert_issuer.h"
#include "bastion/decide.h"
#include "bastion/issuable_key.h"
#include "bastion/route.h"
#include "common/ipc_bastion_messages.h"
#include "common/ssh_cert.h"
#include "monitor/bastion_session.h"
#include "monitor/monitor.h"

namespace postern::monitor {

using namespace ipc;

namespace {

constexpr size_t kMaxTargetText = 255;
constexpr size_t kMaxKeyBlob = 8 * 1024;  // an RSA 16384-bit key's blob is about 2 KiB

// What the caller typed, safe to echo back in one line.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

}  // namespace

Phase Monitor::on_issue_cert(Channel& ch, Message& m) {
  auto req = ipc::decode<IssueCertRequest>(m.data.view());
  BastionSession& b = bastion();
  if (b.extender() != nullptr)
    throw ProtocolError("monitor: ISSUE_CERT on an extender's connection");
  // sshd-bastion bounds these itself; beyond them it is not the caller's input but a bug.
  if (req.target.size() > kMaxTargetText || req.target_user.size() > kMaxUserName ||
      req.port > 65535 || req.public_key.size() > kMaxKeyBlob)
    throw ProtocolError("monitor: malformed ISSUE_CERT");
  bastion::AuditEvent ev;
  ev.event = "certificate-issued";
  ev.target = printable(req.target);
  ev.target_user = printable(req.target_user);
  IssueCertReply reply;
  auto refuse = [&](const std::string& reason, const std::string& message) {
    ev.decision = "deny";
    ev.reason = reason;
    b.audit(ev);
    reply.message = message;
    ch.send(reply);
    return Phase::kBastion;
  };
  if (++b.certificates_asked() > BastionSession::kMaxCertificates)
    return refuse("too many certificates on one connection",
                  "postern: at most " + std::to_string(BastionSession::kMaxCertificates) +
                      " certificates per connection");
  const bastion::Policy& policy = b.policy();
  auto resolved = bastion::resolve_target(policy, req.target, int(req.port));
  if (!resolved || req.target_user.empty())
    return refuse("not a target name or host name",
                  "postern: \"" + printable(req.target) + "\" is not a target or host name");
  ev.target = resolved->name;
  bastion::Decision d =
      bastion::decide_certificate_issue(policy, b.subject(), *resolved, req.target_user);
  ev.role = d.role;
  if (!d.allowed) return refuse(d.reason, "postern: " + d.user_message);
  const bastion::Role* role = bastion::role_for(policy, d);
  if (role == nullptr) throw std::logic_error("decide allowed without a role");
  auto key = bastion::check_issuable_key(req.public_key);
  if (!key) return refuse("key: " + key.error().message, "postern: " + key.error().message);
  ev.detail = "key " + std::string(key->log_name()) + " " + key->fingerprint_sha256();
  const bastion::CertTemplate* tmpl = policy.find_template(role->template_name);
  if (tmpl == nullptr)
    return refuse("role " + role->name + " names no template",
                  "postern: the bastion cannot issue a certificate");
  auto ca = b.ca_key();
  if (!ca) return refuse(ca.error().message, "postern: the bastion cannot issue a certificate");
  uint64_t now = uint64_t(std::time(nullptr));
  auto serial = bastion::next_serial(policy.bastion.serial_file, now);
  if (!serial)
    return refuse("serial: " + serial.error().message,
                  "postern: the bastion cannot issue a certificate");
  bastion::CertRequest cr;
  cr.target_host = resolved->name;
  cr.client_address = b.peer().address;
  cr.bastion_user = b.subject().user;
  cr.target_user = req.target_user;
  cr.session_id = b.id();
  cr.now = now;
  cr.validity = policy.bastion.certificate_validity;
  auto cert = bastion::issue_certificate(**ca, *tmpl, *key, cr, *serial);
  if (!cert) return refuse(cert.error().message, "postern: the bastion cannot issue a certificate");
  auto parsed = Certificate::from_blob(*cert);
  ev.decision = "allow";
  ev.reason = d.reason + ", template " + tmpl->name;
  ev.detail = "serial " + std::to_string(*serial) +
              (parsed ? " key_id \"" + parsed->key_id() + "\"" : std::string()) + " " + ev.detail +
              " valid " + std::to_string(policy.bastion.certificate_validity) + "s";
  // An issue that cannot be audited is not issued.
  if (!b.audit(ev)) {
    reply.message = "postern: the bastion cannot write its audit log";
    ch.send(reply);
    return Phase::kBastion;
  }
  reply.issued = true;
  reply.certificate = std::move(*cert);
  ch.send(reply);
  return Phase::kBastion;
}

}  // namespace postern::monitor
