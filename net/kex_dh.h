// Finite-field Diffie-Hellman key exchange (RFC 4253 §8) over the fixed MODP groups of RFC 8268
// and RFC 4253, and over groups negotiated by diffie-hellman-group-exchange (RFC 4419), which
// reach here through make_dh_kex (net/kex_method.h).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>

#include "common/bytes.h"
#include "net/kex_method.h"

namespace postern::net {

// A group: the prime p and generator g as unsigned big-endian magnitudes.
struct DhGroup {
  Bytes p;
  Bytes g;
  // Bit length of p.
  size_t bits() const;
};

// The fixed groups by their IKE number: 1 = RFC 2409 §6.2 (1024 bit, "group1" in SSH), 14, 16
// and 18 = RFC 3526 §3, §5, §7 (2048, 4096, 8192 bit). All use g = 2.
std::optional<DhGroup> builtin_dh_group(int id);

// nullptr unless `name` is one of diffie-hellman-group{1-sha1,14-sha1,14-sha256,16-sha512,
// 18-sha512}.
std::unique_ptr<KexMethod> make_fixed_dh_kex(std::string_view name);

// Length of our secret exponent for a modulus of `p_bits`: twice the upper strength estimate
// of RFC 3526 §8 for groups of that size, and never less than 512 bits so that the key
// protects the 256-bit ciphers it feeds (the same target as NIST SP 800-56A's 2*s).
int dh_exponent_bits(int p_bits);

// Bounds on moduli this implementation accepts at all (OpenSSL's DH refuses above 10000 bits).
inline constexpr int kDhMinModulusBits = 1024;
inline constexpr int kDhMaxModulusBits = 8192;

}  // namespace postern::net
