// RFC 4418 Appendix test vectors (key "abcdefghijklmnop", nonce "bcdefghi"). The RFC prints
// 32-, 64- and 96-bit tags; a 128-bit tag's first 12 bytes are the 96-bit tag by construction.
#include "net/umac.h"

#include <gtest/gtest.h>

#include <string>

namespace postern::net {
namespace {

const std::string kKey = "abcdefghijklmnop";
const std::string kNonce = "bcdefghi";

std::string tag_hex(const std::string& msg, size_t tag_len) {
  Umac u(as_bytes(kKey), tag_len);
  uint8_t tag[16];
  u.compute(as_bytes(msg), as_bytes(kNonce), tag);
  std::string h = hex(ByteView(tag, tag_len));
  for (auto& c : h) c = char(toupper(c));
  return h;
}

std::string rep(const std::string& s, size_t n) {
  std::string r;
  r.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) r += s;
  return r;
}

struct Vector {
  std::string msg;
  const char* t32;
  const char* t64;
  const char* t96;
};

TEST(Umac, Rfc4418AppendixVectors) {
  const Vector vectors[] = {
      {"", "113145FB", "6E155FAD26900BE1", "32FEDB100C79AD58F07FF764"},
      {rep("a", 3), "3B91D102", "44B5CB542F220104", "185E4FE905CBA7BD85E4C2DC"},
      {rep("a", 1 << 10), "599B350B", "26BF2F5D60118BD9", "7A54ABE04AF82D60FB298C3C"},
      {rep("a", 1 << 15), "58DCF532", "27F8EF643B0D118D", "7B136BD911E4B734286EF2BE"},
      {rep("a", 1 << 20), "DB6364D1", "A4477E87E9F55853", "F8ACFA3AC31CFEEA047F7B11"},
      {"abc", "ABF3A3A0", "D4D7B9F6BD4FBFCF", "883C3D4B97A61976FFCF2323"},
      {rep("abc", 500), "ABEB3C8B", "D4CF26DDEFD5C01A", "8824A260C53C66A36C9260A6"},
  };
  for (const auto& v : vectors) {
    SCOPED_TRACE(v.msg.size());
    EXPECT_EQ(tag_hex(v.msg, 4), v.t32);
    EXPECT_EQ(tag_hex(v.msg, 8), v.t64);
    EXPECT_EQ(tag_hex(v.msg, 12), v.t96);
    EXPECT_EQ(tag_hex(v.msg, 16).substr(0, 24), v.t96);
  }
}

// The RFC's 'a' * 2^25 row was produced by code that mishandled the POLY-64 to POLY-128 switch
// (RFC 4418 erratum 3507 gives FACA46F856E9B45F for the 64-bit tag). The full row below, and the
// fourth words of the 128-bit tags, were cross-checked against GNU Nettle's independent UMAC.
TEST(Umac, LongMessageUsesPoly128AsCorrectedByErratum) {
  std::string msg = rep("a", 1 << 25);
  EXPECT_EQ(tag_hex(msg, 4), "85EE5CAE");
  EXPECT_EQ(tag_hex(msg, 8), "FACA46F856E9B45F");
  EXPECT_EQ(tag_hex(msg, 12), "A621C2457C0012E64F3FDAE9");
  EXPECT_EQ(tag_hex(msg, 16), "A621C2457C0012E64F3FDAE9E7E1870C");
}

TEST(Umac, FullSixteenByteTags) {
  EXPECT_EQ(tag_hex("", 16), "32FEDB100C79AD58F07FF7643CC60465");
  EXPECT_EQ(tag_hex(rep("a", 3), 16), "185E4FE905CBA7BD85E4C2DC3D117D8D");
  EXPECT_EQ(tag_hex(rep("a", 1 << 10), 16), "7A54ABE04AF82D60FB298C3CBD195BCB");
  EXPECT_EQ(tag_hex(rep("a", 1 << 15), 16), "7B136BD911E4B734286EF2BE501F2C3C");
  EXPECT_EQ(tag_hex(rep("a", 1 << 20), 16), "F8ACFA3AC31CFEEA047F7B115B03BEF5");
  EXPECT_EQ(tag_hex("abc", 16), "883C3D4B97A61976FFCF232308CBA5A5");
  EXPECT_EQ(tag_hex(rep("abc", 500), 16), "8824A260C53C66A36C9260A62CB83AA1");
}

// Lengths just past one L1 chunk and short of two, where the last chunk is partial.
TEST(Umac, PartialSecondChunk) {
  EXPECT_EQ(tag_hex(rep("x", 1025), 8), "E6B55A5848EF9C19");
  EXPECT_EQ(tag_hex(rep("x", 1025), 16), "BA5EDEE562063AA0F520C36384379129");
  EXPECT_EQ(tag_hex(rep("y", 2047), 4), "4660D567");
  EXPECT_EQ(tag_hex(rep("y", 2047), 16), "65AF4B8CF469FC097380EC6698DEA490");
}

// umac-64 shares one AES block between nonces that differ only in the low bit; the cache must
// not leak a pad across unrelated nonces.
TEST(Umac, PadCacheFollowsNonce) {
  Umac u(as_bytes(kKey), 8);
  uint8_t a[8], b[8], c[8];
  uint8_t n0[8] = {0, 0, 0, 0, 0, 0, 0, 6}, n1[8] = {0, 0, 0, 0, 0, 0, 0, 7},
          n2[8] = {0, 0, 0, 0, 0, 0, 0, 8};
  u.compute(as_bytes("m"), ByteView(n0, 8), a);
  u.compute(as_bytes("m"), ByteView(n1, 8), b);
  u.compute(as_bytes("m"), ByteView(n2, 8), c);
  EXPECT_NE(hex(ByteView(a, 8)), hex(ByteView(b, 8)));
  EXPECT_NE(hex(ByteView(b, 8)), hex(ByteView(c, 8)));
  Umac fresh(as_bytes(kKey), 8);
  uint8_t c2[8];
  fresh.compute(as_bytes("m"), ByteView(n2, 8), c2);
  EXPECT_EQ(hex(ByteView(c, 8)), hex(ByteView(c2, 8)));
}

TEST(Umac, RejectsBadParameters) {
  EXPECT_THROW(Umac(as_bytes("short"), 8), std::invalid_argument);
  EXPECT_THROW(Umac(as_bytes(kKey), 10), std::invalid_argument);
}

}  // namespace
}  // namespace postern::net
