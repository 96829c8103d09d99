// sntrup761x25519-sha512@openssh.com: the hybrid of Streamlined NTRU Prime sntrup761 and X25519
// with SHA-512 (draft-josefsson-ntruprime-ssh, published as RFC 9941), OpenSSH 9.x's first
// choice. Q_C = sntrup761 public key || X25519 public key; Q_S = sntrup761 ciphertext || X25519
// public key; K = SHA-512(sntrup761 shared key || X25519 shared key), entering the exchange hash
// and key derivation as a `string`, not an mpint.
#pragma once

#include <memory>
#include <string_view>

#include "common/bytes.h"
#include "net/kex_method.h"
#include "net/sntrup761.h"

namespace postern::net {

inline constexpr std::string_view kSntrup761X25519Name = "sntrup761x25519-sha512@openssh.com";
// RFC 9941's registered name for the same method (OpenSSH 9.9 and later offer both).
inline constexpr std::string_view kSntrup761X25519RfcName = "sntrup761x25519-sha512";

// nullptr unless `name` is one of the two names above.
std::unique_ptr<KexMethod> make_sntrup761x25519_kex(std::string_view name = kSntrup761X25519Name);

// The same method with the sntrup761 randomness and the X25519 private key supplied, so tests can
// replay published vectors through the production code path. Not for production use.
std::unique_ptr<KexMethod> make_sntrup761x25519_kex_for_test(sntrup761::RandomSource& random,
                                                             ByteView x25519_private_key);

}  // namespace postern::net
