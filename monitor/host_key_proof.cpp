#include "monitor/host_key_proof.h"

#include <algorithm>

#include "common/wire.h"

namespace postern::monitor {
namespace {

bool same(ByteView a, ByteView b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

}  // namespace

std::vector<Bytes> announced_host_keys(const std::vector<std::shared_ptr<const PrivateKey>>& keys) {
  std::vector<Bytes> out;
  for (const auto& k : keys) {
    const Bytes& blob = k->public_key().blob();
    if (std::none_of(out.begin(), out.end(), [&](const Bytes& b) { return same(b, blob); }))
      out.push_back(blob);
  }
  return out;
}

Bytes hostkeys_prove_data(ByteView session_id, ByteView key_blob) {
  Writer w;
  w.string("hostkeys-prove-00@openssh.com");
  w.string(session_id);
  w.string(key_blob);
  return w.take();
}

std::string proof_algorithm(const PublicKey& key, std::string_view kex_algorithm) {
  if (key.type() == KeyType::kRsa) {
    if (kex_algorithm == "rsa-sha2-512" || kex_algorithm == "rsa-sha2-256" ||
        kex_algorithm == "ssh-rsa")
      return std::string(kex_algorithm);
    return "rsa-sha2-512";
  }
  auto algs = key.signature_algorithms();
  return algs.empty() ? std::string(key.type_name()) : algs.front();
}

Result<std::vector<Bytes>> prove_host_keys(
    const std::vector<std::shared_ptr<const PrivateKey>>& keys, const std::vector<Bytes>& requested,
    ByteView session_id, std::string_view kex_algorithm) {
  if (session_id.empty()) return Unexpected("no session identifier yet");
  if (requested.empty()) return Unexpected("no keys to prove");
  if (requested.size() > kMaxProvedKeys || requested.size() > keys.size())
    return Unexpected("too many keys to prove (" + std::to_string(requested.size()) + ")");
  std::vector<Bytes> signatures;
  for (size_t i = 0; i < requested.size(); ++i) {
    const Bytes& want = requested[i];
    for (size_t j = 0; j < i; ++j)
      if (same(requested[j], want)) return Unexpected("key named twice");
    auto it = std::find_if(keys.begin(), keys.end(),
                           [&](const auto& k) { return same(k->public_key().blob(), want); });
    if (it == keys.end()) return Unexpected("not one of our host keys");
    const PrivateKey& key = **it;
    auto sig = key.sign(proof_algorithm(key.public_key(), kex_algorithm),
                        hostkeys_prove_data(session_id, want));
    if (!sig) return Unexpected(sig.error());
    signatures.push_back(std::move(*sig));
  }
  return signatures;
}

}  // namespace postern::monitor
