#include "privsep_child/monitor_auth_decider.h"

#include <utility>

#include "common/protocol_error.h"

namespace postern::privsep_child {
namespace {

using Decision = net::AuthDecider::Decision;
using KbdintStep = net::AuthDecider::KbdintStep;

Decision decision(const ipc::AuthOutcome& o) {
  return Decision{o.ok, o.exceeded, o.partial, o.methods};
}

KbdintStep kbdint_step(const ipc::KbdintReply& r) {
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

}  // namespace

net::AuthDecider::User MonitorAuthDecider::user(const std::string& name,
                                                const std::string& service) {
  auto r = m_ch.call(ipc::PwnamRequest{name, service});
  if (!r) throw ProtocolError("monitor refused PWNAM: " + r.error().message);
  return User{r->valid, r->max_auth_tries, r->methods, r->banner};
}

Decision MonitorAuthDecider::key_allowed(const std::string& algorithm, ByteView key,
                                         bool with_signature) {
  auto r =
      m_ch.call(ipc::KeyAllowedRequest{algorithm, Bytes(key.begin(), key.end()), with_signature});
  if (!r) throw ProtocolError("monitor refused KEYALLOWED: " + r.error().message);
  return Decision{r->allowed, r->exceeded, false, {}};
}

Decision MonitorAuthDecider::key_verify(const std::string& algorithm, ByteView key,
                                        ByteView signature, ByteView signed_data) {
  auto r = m_ch.call(ipc::KeyVerifyRequest{algorithm, Bytes(key.begin(), key.end()),
                                           Bytes(signature.begin(), signature.end()),
                                           Bytes(signed_data.begin(), signed_data.end())});
  if (!r) throw ProtocolError("monitor refused KEYVERIFY: " + r.error().message);
  return decision(*r);
}

Decision MonitorAuthDecider::password(ByteView password) {
  auto r = m_ch.call(ipc::PasswordRequest{SecretBytes(password)});
  if (!r) throw ProtocolError("monitor refused PASSWORD: " + r.error().message);
  m_banner = r->banner;
  return decision(*r);
}

std::string MonitorAuthDecider::take_banner() {
  return std::exchange(m_banner, std::string());
}

KbdintStep MonitorAuthDecider::kbdint_start(const std::string& submethods) {
  auto r = m_ch.call(ipc::KbdintStartRequest{submethods});
  if (!r) throw ProtocolError("monitor refused KBDINT: " + r.error().message);
  return kbdint_step(*r);
}

KbdintStep MonitorAuthDecider::kbdint_respond(const std::vector<ByteView>& responses) {
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

Decision MonitorAuthDecider::hostbased(const std::string& algorithm, ByteView key,
                                       const std::string& client_host,
                                       const std::string& client_user, ByteView signature) {
  auto r = m_ch.call(ipc::HostbasedRequest{algorithm, Bytes(key.begin(), key.end()), client_host,
                                           client_user, Bytes(signature.begin(), signature.end())});
  if (!r) throw ProtocolError("monitor refused HOSTBASED: " + r.error().message);
  return decision(*r);
}

}  // namespace postern::privsep_child
