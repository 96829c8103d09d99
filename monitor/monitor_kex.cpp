// The monitor's key exchange requests: the host key signature over the exchange hash (RFC 4253
// §8; the first one is the session identifier, §7.2) and the group exchange's group (RFC 4419),
// which the sandboxed child cannot read from the moduli file itself. After login the same two
// serve the session process's re-keys, with the rules below.
#include <time.h>

#include <algorithm>
#include <string>

#include "common/ipc_messages.h"
#include "common/log.h"
#include "monitor/monitor.h"
#include "net/moduli.h"

namespace postern::monitor {

using namespace ipc;

namespace {

// Sizes of the exchange hashes of every kex method (SHA-1 .. SHA-512).
bool is_exchange_hash_size(size_t n) {
  return n == 20 || n == 32 || n == 48 || n == 64;
}

}  // namespace

Phase Monitor::on_sign(Channel& ch, Message& m) {
  auto req = ipc::decode<SignRequest>(m.data.view());
  if (!is_exchange_hash_size(req.data.size()))
    throw ProtocolError("monitor: sign request for data that is no exchange hash");
  // The first exchange hash is the session identifier (RFC 4253 §7.2); the host key that
  // signs it is the one publickey-hostbound requests must name.
  if (m_session_id.empty()) {
    m_session_id = req.data;
    for (const auto& e : m_host_keys)
      if (e.algorithm == req.algorithm) {
        m_session_host_key = e.certificate ? *e.certificate : e.key->public_key().blob();
        m_session_signing_key = e.key;
      }
  }
  if (m_phase == Phase::kPostauth || m_phase == Phase::kBastion) check_rekey_sign(req.algorithm);
  auto sig = sign(req.algorithm, req.data);
  if (!sig) {
    ch.send(ErrorReply{sig.error().message});
    return m_phase;
  }
  ch.send(SignReply{std::move(*sig)});
  // The first signature ends the first key exchange: the user name comes next.
  return m_phase == Phase::kKex ? Phase::kUser : m_phase;
}

Phase Monitor::on_moduli(Channel& ch, Message& m) {
  auto req = ipc::decode<ModuliRequest>(m.data.view());
  // One group exchange per key exchange: before authentication there is only the first.
  if (m_phase == Phase::kKex && m_moduli_served)
    throw ProtocolError("monitor: second moduli request before authentication");
  m_moduli_served = true;
  std::string path = m_config.moduli_file.empty() ? "/etc/ssh/moduli" : m_config.moduli_file;
  auto group = net::choose_group(path, req.min, req.n, req.max);
  if (!group) {
    ch.send(ErrorReply{group.error().message});
    return m_phase;
  }
  ch.send(ModuliReply{group->p, group->g});
  return m_phase;
}

Result<Bytes> Monitor::sign(const std::string& algorithm, ByteView data) {
  for (const auto& e : m_host_keys)
    if (e.algorithm == algorithm) {
      std::string plain =
          e.certificate ? std::string(certificate_signature_algorithm(algorithm)) : algorithm;
      // hostkeys-prove-00 signs RSA keys with the algorithm of the latest key exchange.
      m_kex_signature_algorithm = plain;
      return e.key->sign(plain, data);
    }
  return Unexpected("no host key for " + algorithm);
}

// After login the session process needs a signature only for a re-key (RFC 4253 §9), whose
// exchange hash the monitor cannot check: a re-key's H does not contain the session identifier,
// and the client's half of it travels inside the encrypted transport. So the monitor narrows what
// a compromised session process could get out of it: signatures by the one host key the client
// accepted in the first key exchange (a client re-keys with the same key; OpenSSH's refuses a
// changed one), at most RekeySignBudget's rate. Anything else ends the connection.
void Monitor::check_rekey_sign(const std::string& algorithm) {
  auto e = std::find_if(m_host_keys.begin(), m_host_keys.end(),
                        [&](const HostKeyEntry& k) { return k.algorithm == algorithm; });
  if (e == m_host_keys.end() || !m_session_signing_key || e->key != m_session_signing_key)
    throw ProtocolError("monitor: re-key signature asked of a host key other than the session's");
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  if (!m_rekey_signs.take(uint64_t(ts.tv_sec) * 1000 + uint64_t(ts.tv_nsec) / 1000000))
    throw ProtocolError("monitor: too many re-key signatures (more than " +
                        std::to_string(RekeySignBudget::kBurst) + ", one per " +
                        std::to_string(RekeySignBudget::kRefillSeconds) + " s after that)");
}

}  // namespace postern::monitor
