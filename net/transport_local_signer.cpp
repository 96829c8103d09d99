#include "net/transport_local_signer.h"

#include <algorithm>

namespace postern::net {

std::vector<std::string> LocalHostKeySigner::algorithms() const {
  std::vector<std::string> out;
  for (const auto& k : m_keys)
    for (auto& a : k.public_key().signature_algorithms())
      if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(std::move(a));
  return out;
}

const PrivateKey* LocalHostKeySigner::find(std::string_view algorithm) const {
  for (const auto& k : m_keys) {
    auto algs = k.public_key().signature_algorithms();
    if (std::find(algs.begin(), algs.end(), algorithm) != algs.end()) return &k;
  }
  return nullptr;
}

Bytes LocalHostKeySigner::public_key_blob(std::string_view algorithm) const {
  const PrivateKey* k = find(algorithm);
  return k ? k->public_key().blob() : Bytes{};
}

Result<Bytes> LocalHostKeySigner::sign(std::string_view algorithm, ByteView data) {
  const PrivateKey* k = find(algorithm);
  if (!k) return Unexpected("no host key for " + std::string(algorithm));
  return k->sign(algorithm, data);
}

}  // namespace postern::net
