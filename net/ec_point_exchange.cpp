// Ephemeral ECDH on a NIST curve through OpenSSL's EC keys, points as SEC1 uncompressed octets.
#include "net/ec_point_exchange.h"

#include <openssl/core_names.h>
#include <openssl/params.h>

#include <string>

#include "net/kex_shared_secret.h"

namespace postern::net {
namespace {

// RFC 5656 §4 requires the receiver to validate the peer's point (SEC1 §3.2.2.1); OpenSSL
// checks it lies on the curve when decoding and runs the full public-key check (not the point
// at infinity, correct order) in evp_derive. Compressed points are refused: §3.1 only mandates
// the uncompressed form and no SSH implementation sends anything else (nor does the hybrid
// draft, whose P-256 value is "the uncompressed point").
Result<EvpPkeyPtr> decode_peer_point(const EcGroup& group, ByteView peer_point) {
  if (peer_point.size() != group.point_size() || peer_point[0] != 0x04)
    return Unexpected("peer public key is not an uncompressed point");
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(group.name),
                                       0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                        const_cast<uint8_t*>(peer_point.data()), peer_point.size()),
      OSSL_PARAM_construct_end(),
  };
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw_peer = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &raw_peer, EVP_PKEY_PUBLIC_KEY, params) <= 0)
    return Unexpected(ossl_error("peer point is not on the curve"));
  return EvpPkeyPtr(raw_peer);
}

}  // namespace

Result<EvpPkeyPtr> ec_ephemeral_key(const EcGroup& group) {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", group.name));
  if (!key) return Unexpected(ossl_error("key generation"));
  return key;
}

Result<void> ec_public_point(EVP_PKEY* key, const EcGroup& group, MutableByteView out) {
  size_t len = 0;
  if (out.size() != group.point_size() ||
      EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, out.data(),
                                      out.size(), &len) <= 0 ||
      len != out.size() || out[0] != 0x04)
    return Unexpected(ossl_error("public point"));
  return {};
}

Result<SecretBytes> ec_shared_x(EVP_PKEY* key, const EcGroup& group, ByteView peer_point) {
  auto peer = decode_peer_point(group, peer_point);
  if (!peer) return Unexpected(peer.error());
  auto x = evp_derive(key, peer->get());
  if (!x) return Unexpected(x.error());
  if (x->size() != group.field_bytes) return Unexpected("unexpected secret length");
  return x;
}

}  // namespace postern::net
