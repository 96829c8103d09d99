#include "bastion/totp.h"

#include <gtest/gtest.h>

namespace postern::bastion {
namespace {

// RFC 6238 Appendix B and RFC 4226 Appendix D: the SHA-1 seed is the ASCII "12345678901234567890".
const std::string kSeed = "12345678901234567890";
ByteView seed() {
  return as_bytes(kSeed);
}

TEST(Hotp, Rfc4226AppendixD) {
  const uint32_t expected[] = {755224, 287082, 359152, 969429, 338314,
                               254676, 287922, 162583, 399871, 520489};
  for (uint64_t c = 0; c < 10; ++c) EXPECT_EQ(hotp(seed(), c, 6), expected[c]) << c;
}

TEST(Totp, Rfc6238AppendixBSha1) {
  struct {
    uint64_t time;
    uint32_t code;  // 8 digits, as the RFC's table
  } vectors[] = {{59, 94287082},         {1111111109, 7081804},  {1111111111, 14050471},
                 {1234567890, 89005924}, {2000000000, 69279037}, {20000000000, 65353130}};
  for (const auto& v : vectors) {
    EXPECT_EQ(hotp(seed(), v.time / kTotpStepSeconds, 8), v.code) << v.time;
    // Six digits are the last six of the eight (the same truncation, a smaller modulus).
    std::string six = std::to_string(v.code % 1000000);
    six.insert(0, 6 - six.size(), '0');
    EXPECT_EQ(totp_matching_step(seed(), six, v.time), v.time / kTotpStepSeconds) << v.time;
  }
}

TEST(Totp, WindowIsOneStepEitherSide) {
  uint64_t now = 1111111111;  // step 37037037
  uint64_t t = now / kTotpStepSeconds;
  auto code_of = [](uint64_t step) {
    std::string s = std::to_string(hotp(seed(), step, 6));
    return std::string(6 - s.size(), '0') + s;
  };
  EXPECT_EQ(totp_matching_step(seed(), code_of(t - 1), now), t - 1);
  EXPECT_EQ(totp_matching_step(seed(), code_of(t), now), t);
  EXPECT_EQ(totp_matching_step(seed(), code_of(t + 1), now), t + 1);
  EXPECT_EQ(totp_matching_step(seed(), code_of(t - 2), now), std::nullopt);
  EXPECT_EQ(totp_matching_step(seed(), code_of(t + 2), now), std::nullopt);
}

TEST(Totp, MalformedCodesMatchNothing) {
  uint64_t now = 59;
  for (const char* bad : {"", "28708", "2870820", "28708a", " 87082", "287082\n", "-87082"})
    EXPECT_EQ(totp_matching_step(seed(), bad, now), std::nullopt) << bad;
}

TEST(Base32, Rfc4648Section10) {
  struct {
    const char* text;
    const char* bytes;
  } vectors[] = {{"", ""},
                 {"MY======", "f"},
                 {"MZXQ====", "fo"},
                 {"MZXW6===", "foo"},
                 {"MZXW6YQ=", "foob"},
                 {"MZXW6YTB", "fooba"},
                 {"MZXW6YTBOI======", "foobar"},
                 {"mzxw6ytboi", "foobar"}};  // lower case, no padding
  for (const auto& v : vectors) {
    auto r = base32_decode(v.text);
    ASSERT_TRUE(r) << v.text << ": " << r.error().message;
    EXPECT_EQ(std::string(r->view().begin(), r->view().end()), v.bytes) << v.text;
  }
  for (const char* bad : {"MZXW6YT1", "MZXW 6YTB", "M", "MZX", "MZXW6Y", "MZ======x", "MZ"})
    EXPECT_FALSE(base32_decode(bad)) << bad;
}

TEST(TotpSecret, LengthIsChecked) {
  // GEZDGNBVGY3TQOJQ... is base32 of the RFC's seed.
  auto rfc = parse_totp_secret("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
  ASSERT_TRUE(rfc) << rfc.error().message;
  EXPECT_EQ(std::string(rfc->view().begin(), rfc->view().end()), kSeed);
  EXPECT_FALSE(parse_totp_secret("MZXW6YTB"));             // 5 bytes: too short
  EXPECT_FALSE(parse_totp_secret(std::string(120, 'A')));  // 75 bytes: too long
  EXPECT_FALSE(parse_totp_secret("not base32 at all!"));
}

}  // namespace
}  // namespace postern::bastion
