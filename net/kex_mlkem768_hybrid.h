// The ML-KEM-768 hybrids of draft-ietf-sshm-mlkem-hybrid-kex: mlkem768x25519-sha256 (OpenSSH 9.9,
// its default from 10.0) and mlkem768nistp256-sha256 (OpenSSH 10.5). The client's C_INIT is an
// ML-KEM-768 encapsulation key (1184 bytes) followed by its classical public value (X25519: 32
// bytes; P-256: a 65-byte uncompressed point); the server's S_REPLY is the ML-KEM ciphertext
// (1088 bytes) followed by its classical public value. K = SHA-256(ML-KEM shared secret ||
// classical shared secret), entering the exchange hash and key derivation as a `string`, as for
// sntrup761x25519-sha512.
#pragma once

#include <memory>
#include <string_view>

#include "net/kex_method.h"

namespace postern::net {

inline constexpr std::string_view kMlkem768X25519Name = "mlkem768x25519-sha256";
inline constexpr std::string_view kMlkem768NistP256Name = "mlkem768nistp256-sha256";

// nullptr unless `name` is one of the two names above.
std::unique_ptr<KexMethod> make_mlkem768_hybrid_kex(std::string_view name);

}  // namespace postern::net
