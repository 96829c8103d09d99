// Time-based one-time passwords for policy users (`totp` of a [[user]], man/postern-bastion.5):
// RFC 6238 TOTP over RFC 4226 HOTP with HMAC-SHA1, 30-second steps, 6 digits, the secret in
// RFC 4648 base32 as authenticator apps and oathtool take it. Pure functions; which steps were
// used already is totp_used.h's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/result.h"

namespace postern::bastion {

inline constexpr uint64_t kTotpStepSeconds = 30;  // RFC 6238 §5.2: X = 30 s
inline constexpr int kTotpDigits = 6;
// A secret shorter than 80 bits is refused at load (RFC 4226 §4 R6 asks for 128; 80 is what
// most authenticator enrolments use); longer than 64 bytes is more than HMAC-SHA1's block.
inline constexpr size_t kMinTotpSecret = 10, kMaxTotpSecret = 64;

// RFC 4648 §6 base32, upper or lower case, '=' padding optional at the end. Errors say what.
Result<SecretBytes> base32_decode(std::string_view text);

// A policy's `totp` value: base32 of kMinTotpSecret..kMaxTotpSecret bytes.
Result<SecretBytes> parse_totp_secret(std::string_view text);

// RFC 4226 §5.3: HOTP value of `counter`, `digits` long (6 to 8).
uint32_t hotp(ByteView key, uint64_t counter, int digits);

// The step whose code `code` is, among the steps of `now` and one either side (RFC 6238 §5.2's
// allowed delay), or none. `code` must be exactly kTotpDigits ASCII digits; compared in
// constant time.
std::optional<uint64_t> totp_matching_step(ByteView key, std::string_view code, uint64_t now);

}  // namespace postern::bastion
