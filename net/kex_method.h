// A key exchange method (RFC 4253 §8 and its successors), role-neutral so the bastion's client can
// use the same code. The key exchange driver (net/kex_driver.h) owns the messages and the exchange
// hash; a method only turns ephemeral public values into a shared secret.
//
// Public values are handled as the raw contents of their wire field: for ECDH-style methods
// (curve25519, ecdh-sha2-*, sntrup761x25519, mlkem768x25519) the bytes of `string Q_C`/`Q_S`; for
// finite-field DH the two's-complement bytes of `mpint e`/`f`. Both are framed the same way (u32
// length + bytes), so the driver writes them into messages and the exchange hash verbatim.
// The shared secret is returned already encoded as it enters the hash and key derivation:
// `mpint K` for curve25519/ecdh/dh, `string K` for the hybrid PQ methods.
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"

namespace postern::net {

struct KexServerResult {
  Bytes server_public;        // raw field contents (Q_S or f)
  SecretBytes shared_secret;  // encoded: u32 length + bytes (mpint K or string K)
};

class KexMethod {
 public:
  virtual ~KexMethod() = default;
  virtual std::string_view name() const = 0;
  virtual const EVP_MD* hash() const = 0;
  // Whether the public values are mpints (finite-field DH) rather than strings.
  virtual bool public_is_mpint() const { return false; }

  // Server: answers the client's public value. A malformed or invalid value (wrong length, point
  // not on the curve, e outside [2, p-2]) is an error, never a crash.
  virtual Result<KexServerResult> server_respond(ByteView client_public) = 0;

  // Client: generates the ephemeral key and returns its public value; then derives the secret.
  virtual Bytes client_public() = 0;
  virtual Result<SecretBytes> client_finish(ByteView server_public) = 0;
};

// The methods selected by name, or nullptr. diffie-hellman-group-exchange-* are not made here:
// the driver runs the group negotiation and then uses make_dh_kex with the chosen group.
std::unique_ptr<KexMethod> make_kex_method(std::string_view name);
bool is_group_exchange(std::string_view name);
const EVP_MD* group_exchange_hash(std::string_view name);
// Finite-field DH over a given group (p, g as unsigned big-endian magnitudes).
std::unique_ptr<KexMethod> make_dh_kex(std::string_view name, const EVP_MD* hash, ByteView p,
                                       ByteView g);
// Every supported method name, OpenSSH 9.2's server default order first.
std::vector<std::string> supported_kex_methods();
// The leading part of supported_kex_methods() that a server offers when KexAlgorithms is not
// configured (OpenSSH 9.2's default); the rest (SHA-1, 1024-bit) only when configured.
std::vector<std::string> default_kex_methods();

}  // namespace postern::net
