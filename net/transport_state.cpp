// The transport's handoff state. See transport_state.h.
#include "net/transport_state.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/protocol_error.h"

namespace postern::net {

namespace {
// RFC 4253 §4.2: an identification line is at most 255 characters.
constexpr size_t kMaxVersion = 255;
constexpr size_t kMaxAlgorithmName = 256;
constexpr size_t kMaxCipherState = 4096;

void check(bool ok, const char* what) {
  if (!ok) throw ProtocolError(std::string("transport state: ") + what);
}
}  // namespace

HandoffState::~HandoffState() {
  OPENSSL_cleanse(tx_cipher.data(), tx_cipher.size());
  OPENSSL_cleanse(rx_cipher.data(), rx_cipher.size());
}

SecretBytes encode_handoff(HandoffState& state) {
  Bytes plain = encode(state);
  SecretBytes out(ByteView{plain});
  OPENSSL_cleanse(plain.data(), plain.size());
  return out;
}

HandoffState decode_handoff(ByteView blob) {
  check(!blob.empty() && blob[0] == HandoffState::kType, "unknown format");
  HandoffState s = decode<HandoffState>(blob);
  check(s.role <= 1, "bad role");
  check(s.version.size() <= kMaxVersion && s.peer_version.size() <= kMaxVersion, "bad version");
  check(s.session_id.size() <= EVP_MAX_MD_SIZE, "bad session id");
  for (const std::string* n : {&s.kex, &s.host_key, &s.cipher_c2s, &s.cipher_s2c, &s.mac_c2s,
                               &s.mac_s2c, &s.comp_c2s, &s.comp_s2c})
    check(n->size() <= kMaxAlgorithmName, "algorithm name too long");
  check(s.tx_cipher.size() <= kMaxCipherState && s.rx_cipher.size() <= kMaxCipherState,
        "cipher state too long");
  return s;
}

}  // namespace postern::net
