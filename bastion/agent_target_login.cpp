#include "bastion/agent_target_login.h"

#include <algorithm>
#include <array>

#include "common/ssh_cert.h"
#include "common/ssh_key.h"
#include "common/ssh_msg.h"
#include "common/wire.h"

namespace postern::bastion {
namespace {

// Key types whose signature algorithm is their own name (RFC 8709, RFC 5656, OpenSSH
// PROTOCOL.u2f), and the certificate names built on them (PROTOCOL.certkeys).
constexpr std::array<std::string_view, 6> kSelfNamedTypes = {
    "ssh-ed25519",         "ecdsa-sha2-nistp256",        "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"};
constexpr std::string_view kCertSuffix = "-cert-v01@openssh.com";

// "sk-ssh-ed25519@openssh.com" -> "sk-ssh-ed25519-cert-v01@openssh.com".
std::string certificate_name(std::string_view plain) {
  std::string name(plain.substr(0, plain.find('@')));
  return name + std::string(kCertSuffix);
}

std::optional<std::vector<std::string>> server_sig_algs(const net::Transport& t) {
  for (const auto& [name, value] : t.peer_extensions()) {
    if (name != "server-sig-algs") continue;
    std::vector<std::string> out;
    for (size_t start = 0; start <= value.size();) {
      size_t comma = std::min(value.find(',', start), value.size());
      out.emplace_back(value.substr(start, comma - start));
      start = comma + 1;
    }
    return out;
  }
  return std::nullopt;
}

// "ssh-ed25519 SHA256:...", the certified key's fingerprint for a certificate as OpenSSH logs.
std::string describe_key(ByteView blob, std::string_view type) {
  if (Certificate::is_certificate_name(type)) {
    if (auto c = Certificate::from_blob(blob))
      return std::string(type) + " " + c->fingerprint_sha256();
  } else if (auto k = PublicKey::from_blob(blob)) {
    return std::string(type) + " " + k->fingerprint_sha256();
  }
  return std::string(type);
}

std::string_view key_type_name(ByteView blob) {
  try {
    Reader r(blob);
    return r.text(128);
  } catch (const ProtocolError&) {
    return {};
  }
}

}  // namespace

std::optional<AgentKeyAlgorithm> agent_key_algorithm(
    ByteView key_blob, const std::optional<std::vector<std::string>>& sig_algs) {
  std::string_view type = key_type_name(key_blob);
  std::optional<AgentKeyAlgorithm> use;
  for (std::string_view plain : kSelfNamedTypes) {
    if (type == plain) use = AgentKeyAlgorithm{std::string(plain), std::string(plain), 0};
    if (type == certificate_name(plain))
      use = AgentKeyAlgorithm{std::string(type), std::string(plain), 0};
  }
  auto listed = [&](std::string_view alg) {
    return !sig_algs || std::find(sig_algs->begin(), sig_algs->end(), alg) != sig_algs->end();
  };
  if (type == "ssh-rsa" || type == "ssh-rsa-cert-v01@openssh.com") {
    // RFC 8332 §3.3: SHA-512 first; SHA-256 only when the target names it and not SHA-512.
    bool sha512 = listed("rsa-sha2-512") || !listed("rsa-sha2-256");
    std::string sig = sha512 ? "rsa-sha2-512" : "rsa-sha2-256";
    bool cert = type != "ssh-rsa";
    use = AgentKeyAlgorithm{cert ? sig + std::string(kCertSuffix) : sig, sig,
                            sha512 ? kAgentRsaSha2_512 : kAgentRsaSha2_256};
  }
  if (!use || !listed(use->signature_algorithm)) return std::nullopt;
  return use;
}

AgentTargetLogin::AgentTargetLogin(net::Transport& target, std::string user,
                                   std::function<void(ByteView frame)> to_agent)
    : m_target(target), m_user(std::move(user)), m_to_agent(std::move(to_agent)) {
  m_waiting_for_agent = true;
  m_to_agent(agent_request_identities());
}

void AgentTargetLogin::progress() {
  if (m_service_requested || m_state != State::kWorking || !m_target.first_kex_done()) return;
  // RFC 4253 §10.
  Writer w;
  w.u8(kMsgServiceRequest).string("ssh-userauth");
  m_target.send(w.buffer());
  m_service_requested = true;
}

void AgentTargetLogin::handle_target(ByteView msg) {
  if (msg.empty()) throw ProtocolError("empty message");
  if (m_state != State::kWorking) return;
  Reader r(msg);
  uint8_t type = r.u8();
  if (!m_service_accepted) {
    if (!m_service_requested || type != kMsgServiceAccept)
      throw ProtocolError("the target did not accept ssh-userauth");
    if (r.text(64) != "ssh-userauth") throw ProtocolError("the target accepted another service");
    m_service_accepted = true;
    if (m_keys) try_next_key();
    return;
  }
  if (type == kMsgUserauthBanner) return;  // RFC 4252 §5.4
  if (type == kMsgUserauthPkOk && m_step == Step::kQuery) {
    // RFC 4252 §7: PK_OK repeats the algorithm and key of the query it answers.
    std::string_view alg = r.text(256);
    ByteView blob = r.string();
    r.expect_done("USERAUTH_PK_OK");
    if (alg != m_algorithm.algorithm ||
        !std::equal(blob.begin(), blob.end(), m_key_blob.begin(), m_key_blob.end()))
      throw ProtocolError("the target's PK_OK names another key");
    Writer signed_data;  // session identifier, then the request up to the signature
    signed_data.string(m_target.session_id()).raw(request_body(true));
    m_step = Step::kSigning;
    m_waiting_for_agent = true;
    m_to_agent(agent_sign_request(m_key_blob, signed_data.buffer(), m_algorithm.flags));
    return;
  }
  if (type == kMsgUserauthSuccess && m_step == Step::kSigned) {
    m_target.set_authenticated();
    m_accepted = describe_key(m_key_blob, key_type_name(m_key_blob));
    m_state = State::kSucceeded;
    return;
  }
  if (type == kMsgUserauthFailure && (m_step == Step::kQuery || m_step == Step::kSigned)) {
    std::string methods(r.text(1024));
    // RFC 4252 §5.1: partial success is the key accepted and more wanted, which the bastion
    // cannot give; another key would not change that.
    if (r.boolean())
      return fail(Failure::kEveryKeyRefused, "wants more authentication (" + methods + ")");
    return try_next_key();
  }
  throw ProtocolError("unexpected message " + std::to_string(type) + " during userauth");
}

void AgentTargetLogin::handle_agent(ByteView answer) {
  if (m_state != State::kWorking) return;
  if (!m_waiting_for_agent) return fail(Failure::kAgent, "the agent answered what was not asked");
  m_waiting_for_agent = false;
  if (!m_keys) {
    auto keys = parse_identities_answer(answer);
    if (!keys) return fail(Failure::kAgent, keys.error().message);
    m_keys = std::move(*keys);
    if (m_service_accepted) try_next_key();
    return;
  }
  auto signature = parse_sign_response(answer);
  if (!signature) {
    // A key the user declined to confirm, a smartcard gone: the next key may still do.
    m_last_note = signature.error().message;
    return try_next_key();
  }
  Reader sig(*signature);
  if (sig.text(256) != m_algorithm.signature_algorithm) {
    m_last_note = "the agent signed with another algorithm than " + m_algorithm.signature_algorithm;
    return try_next_key();
  }
  Writer body;
  body.raw(request_body(true)).string(ByteView(*signature));
  m_target.send(body.buffer());
  m_step = Step::kSigned;
}

// RFC 4252 §7: the request for the current key, with or without the signature flag.
Bytes AgentTargetLogin::request_body(bool with_signature) const {
  Writer w;
  w.u8(kMsgUserauthRequest).string(m_user).string("ssh-connection").string("publickey");
  w.boolean(with_signature).string(m_algorithm.algorithm).string(ByteView(m_key_blob));
  return w.take();
}

void AgentTargetLogin::try_next_key() {
  auto sig_algs = server_sig_algs(m_target);
  while (m_next_key < m_keys->size() && m_keys_tried < kMaxKeysTried) {
    const AgentIdentity& key = (*m_keys)[m_next_key++];
    auto algorithm = agent_key_algorithm(key.key_blob, sig_algs);
    if (!algorithm) continue;  // a type the target (or the bastion) cannot use
    ++m_keys_tried;
    m_key_blob = key.key_blob;
    m_algorithm = std::move(*algorithm);
    m_step = Step::kQuery;
    m_target.send(request_body(false));
    return;
  }
  if (m_keys->empty()) return fail(Failure::kEveryKeyRefused, "the agent holds no keys");
  if (m_keys_tried == 0)
    return fail(Failure::kEveryKeyRefused, "the agent holds no key of a type the target accepts");
  if (m_next_key < m_keys->size())
    m_last_note = "tried the first " + std::to_string(kMaxKeysTried) + " keys";
  fail(Failure::kEveryKeyRefused, m_last_note);
}

void AgentTargetLogin::fail(Failure kind, std::string detail) {
  m_state = State::kFailed;
  m_failure_kind = kind;
  m_failure = std::move(detail);
}

}  // namespace postern::bastion
