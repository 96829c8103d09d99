// The elliptic-curve steps ecdh-sha2-nistp* (RFC 5656 §4) and mlkem768nistp256-sha256
// (draft-ietf-sshm-mlkem-hybrid-kex) share: an ephemeral key on a NIST curve, its public point
// as SEC1 uncompressed octets (RFC 5656 §3.1), and the shared x coordinate with a peer's point.
// How K is built from that coordinate is each method's own.
#pragma once

#include <cstddef>

#include "common/bytes.h"
#include "common/ossl.h"
#include "common/result.h"

namespace postern::net {

struct EcGroup {
  const char* name;  // OpenSSL group name, e.g. "P-256"
  size_t field_bytes;
  // 0x04 || x || y.
  constexpr size_t point_size() const { return 1 + 2 * field_bytes; }
};

// A fresh key on `group`.
Result<EvpPkeyPtr> ec_ephemeral_key(const EcGroup& group);

// Our public point into `out`, which is exactly group.point_size() bytes.
Result<void> ec_public_point(EVP_PKEY* key, const EcGroup& group, MutableByteView out);

// The x coordinate of our key times the peer's point, field_bytes long. The peer's point is
// validated: uncompressed, on the curve, not the point at infinity, of the right order.
Result<SecretBytes> ec_shared_x(EVP_PKEY* key, const EcGroup& group, ByteView peer_point);

}  // namespace postern::net
