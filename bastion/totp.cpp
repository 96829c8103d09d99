#include "bastion/totp.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <array>

#include "common/ossl.h"

namespace postern::bastion {

Result<SecretBytes> base32_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  Bytes out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a';
    else if (c >= '2' && c <= '7')
      v = c - '2' + 26;
    else
      return Unexpected("not base32 (A-Z, 2-7)");
    buffer = (buffer << 5) | uint32_t(v);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(uint8_t(buffer >> bits));
    }
  }
  // RFC 4648 §6: 2, 4, 5 or 7 characters in the last group; the left-over bits are zero.
  size_t last = text.size() % 8;
  if (last == 1 || last == 3 || last == 6 || (buffer & ((1u << bits) - 1)) != 0)
    return Unexpected("not base32 (a truncated last group)");
  SecretBytes s(out);
  OPENSSL_cleanse(out.data(), out.size());
  return s;
}

Result<SecretBytes> parse_totp_secret(std::string_view text) {
  auto key = base32_decode(text);
  if (!key) return key;
  if (key->size() < kMinTotpSecret || key->size() > kMaxTotpSecret)
    return Unexpected("the secret must be " + std::to_string(kMinTotpSecret) + " to " +
                      std::to_string(kMaxTotpSecret) + " bytes (" +
                      std::to_string(kMinTotpSecret * 8 / 5) + " or more base32 characters)");
  return key;
}

uint32_t hotp(ByteView key, uint64_t counter, int digits) {
  std::array<uint8_t, 8> message;  // RFC 4226 §5.2: the counter, 8 bytes big-endian
  for (int i = 7; i >= 0; --i, counter >>= 8) message[size_t(i)] = uint8_t(counter);
  EvpMacPtr mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  EvpMacCtxPtr ctx(mac ? EVP_MAC_CTX_new(mac.get()) : nullptr);
  char digest[] = "SHA1";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  std::array<uint8_t, 20> h{};
  size_t len = 0;
  if (!ctx || EVP_MAC_init(ctx.get(), key.data(), key.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), message.data(), message.size()) != 1 ||
      EVP_MAC_final(ctx.get(), h.data(), &len, h.size()) != 1 || len != h.size())
    throw std::runtime_error("HMAC-SHA1 failed");
  // RFC 4226 §5.3: dynamic truncation, then modulo 10^digits.
  size_t offset = h[19] & 0x0f;
  uint32_t binary = (uint32_t(h[offset] & 0x7f) << 24) | (uint32_t(h[offset + 1]) << 16) |
                    (uint32_t(h[offset + 2]) << 8) | uint32_t(h[offset + 3]);
  uint32_t modulo = 1;
  for (int i = 0; i < digits; ++i) modulo *= 10;
  return binary % modulo;
}

std::optional<uint64_t> totp_matching_step(ByteView key, std::string_view code, uint64_t now) {
  if (code.size() != size_t(kTotpDigits)) return std::nullopt;
  for (char c : code)
    if (c < '0' || c > '9') return std::nullopt;
  uint64_t t = now / kTotpStepSeconds;  // RFC 6238 §4.2, T0 = 0
  std::optional<uint64_t> found;
  // Every candidate is computed and compared, so the time taken does not say which matched.
  for (uint64_t step = t == 0 ? 0 : t - 1; step <= t + 1; ++step) {
    std::string expected = std::to_string(hotp(key, step, kTotpDigits));
    expected.insert(0, size_t(kTotpDigits) - expected.size(), '0');
    if (equal_ct(as_bytes(expected), as_bytes(code)) && !found) found = step;
  }
  return found;
}

}  // namespace postern::bastion
