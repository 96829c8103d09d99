#include "net/moduli.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <set>

namespace postern::net {
namespace {

// Writes a moduli line for a built-in group, so tests have real safe primes of known sizes.
std::string line_for(int id, const char* type = "2", const char* tests = "6",
                     const char* trials = "100", long size_delta = -1, const char* gen = "2") {
  auto g = builtin_dh_group(id);
  std::string p = hex(g->p);
  for (auto& c : p) c = char(toupper(c));
  return std::string("20220714110357 ") + type + " " + tests + " " + trials + " " +
         std::to_string(long(g->bits()) + size_delta) + " " + gen + " " + p;
}

class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    char tmpl[] = "/tmp/postern_moduli_XXXXXX";
    int fd = mkstemp(tmpl);
    EXPECT_GE(fd, 0);
    close(fd);
    m_path = tmpl;
    std::ofstream(m_path) << text;
  }
  ~TempFile() { std::remove(m_path.c_str()); }
  const std::string& path() const { return m_path; }

 private:
  std::string m_path;
};

TEST(Moduli, ParsesGoodLines) {
  std::string text = "# Time Type Tests Tries Size Generator Modulus\n" + line_for(14) + "\n" +
                     line_for(16, "2", "6", "100", -1, "5") + "\r\n\n   \n" + line_for(18);
  size_t skipped = 99;
  auto entries = parse_moduli(text, &skipped);
  EXPECT_EQ(skipped, 0u);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].bits, 2048u);
  EXPECT_EQ(entries[0].group.p, builtin_dh_group(14)->p);
  EXPECT_EQ(entries[0].group.g, Bytes{2});
  EXPECT_EQ(entries[1].bits, 4096u);
  EXPECT_EQ(entries[1].group.g, Bytes{5});
  EXPECT_EQ(entries[2].bits, 8192u);
}

TEST(Moduli, SkipsMalformedAndUnusableLines) {
  std::string good = line_for(14);
  const std::string bad[] = {
      "garbage",
      "20220714110357 2 6 100 2047 2",                             // too few fields
      good + " extra",                                             // too many fields
      line_for(14, "4"),                                           // Sophie Germain, not safe
      line_for(14, "0"),                                           // untested type
      line_for(14, "2", "7"),                                      // marked composite
      line_for(14, "2", "0"),                                      // never tested
      line_for(14, "2", "6", "0"),                                 // no trials
      line_for(14, "2", "6", "100", 0),                            // size field = bits, not bits-1
      line_for(14, "2", "6", "100", -2),                           // size disagrees
      line_for(14, "2", "6", "100", -1, "1"),                      // generator 1
      line_for(14, "2", "6", "100", -1, "0"),                      // generator 0
      line_for(14, "2", "6", "100", -1, "zz"),                     // generator not hex
      line_for(14, "x", "6"),                                      // type not a number
      line_for(14, "-2", "6"),                                     // negative
      "20220714110357 2 6 100 2047 2 FFFFFFFFFFFFFFFQ",            // modulus not hex
      "20220714110357 2 6 100 99999999999 2 FF",                   // size overflow
      "20220714110357 2 6 100 511 2 " + std::string(128, 'F'),     // too small
      "20220714110357 2 6 100 16383 2 " + std::string(4096, 'F'),  // too large for us
  };
  // Well-formed (parse does not test primality: the file is trusted to hold what ssh-keygen
  // screened), so kept.
  std::string well_formed = "20220714110357 2 6 100 1023 2 " + std::string(256, 'F');
  std::string text = good + "\n";
  for (const auto& b : bad) text += b + "\n";
  text += well_formed + "\n";
  size_t skipped = 0;
  auto entries = parse_moduli(text, &skipped);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].bits, 2048u);
  EXPECT_EQ(entries[1].bits, 1024u);
  EXPECT_EQ(skipped, std::size(bad));
}

TEST(Moduli, ChoosesSmallestAtLeastWanted) {
  auto entries = parse_moduli(line_for(14) + "\n" + line_for(16) + "\n" + line_for(18) + "\n");
  ASSERT_EQ(entries.size(), 3u);
  auto g = choose_group(entries, 2048, 3072, 8192);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->bits(), 4096u);
  g = choose_group(entries, 2048, 2048, 8192);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->bits(), 2048u);
  g = choose_group(entries, 1024, 8192, 8192);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->bits(), 8192u);
  // Nothing at or above n within max: the largest below n.
  g = choose_group(entries, 2048, 7000, 7000);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->bits(), 4096u);
  // n above 8192 is clamped to 8192.
  g = choose_group(entries, 2048, 16384, 16384);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->bits(), 8192u);
  // min below RFC 8270's 2048 is raised: the 1024-bit group is never chosen.
  auto with_small = parse_moduli(line_for(1) + "\n" + line_for(14) + "\n");
  g = choose_group(with_small, 1024, 1024, 2048);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->bits(), 2048u);
}

TEST(Moduli, ChoosesRandomlyAmongTheBestSize) {
  // The real file has many primes of each size; over enough draws more than one is picked.
  auto entries = parse_moduli(
      "20220714110357 2 6 100 2047 2 "
      "E98F2A209BA9F4C8C1FFB02490E599A99FBE28F6A053E240A4BD5FEDE80B23FEA8A1476E9EF6605A4B4B41CC"
      "74CB945C7E168A91DB112424480A85CBF5853234B9B1F60F030D38F678BA80AE1461F716C463D7396151EB5F"
      "037CC88690FEEF8D16A1B67F56C11874DB5AA3D541BEFF390077C79C86434EDBC2B46821D2AE5D2FA4FFF1B0"
      "86B07669B09498EA11B0FE26C773F79ACA044E085E0BA43BBE1EBE954AA1EC7A465A3232699E54958B1760AB"
      "7A04D9627EC1810970706C96B58BF84999EBED8846D8B384CB945BF782141B1BE2B7C0E04D531A2334DB41BB"
      "FD1BEA428C5FD22F50BABDBDFCC5B848F64CBA8D039636311F8D844DFFFBD77A42A9BFB7\n" +
      line_for(14) + "\n" + line_for(16) + "\n");
  ASSERT_EQ(entries.size(), 3u);
  std::set<Bytes> seen;
  for (int i = 0; i < 64; ++i) {
    auto g = choose_group(entries, 2048, 2048, 3000);
    ASSERT_TRUE(g);
    EXPECT_EQ(g->bits(), 2048u);
    seen.insert(g->p);
  }
  EXPECT_EQ(seen.size(), 2u);
}

TEST(Moduli, RefusesBadRequests) {
  auto entries = parse_moduli(line_for(14) + "\n");
  EXPECT_FALSE(choose_group(entries, 4096, 2048, 8192));  // min > n
  EXPECT_FALSE(choose_group(entries, 2048, 8192, 4096));  // n > max
  EXPECT_FALSE(choose_group(entries, 1024, 1024, 1536));  // max below 2048
  EXPECT_FALSE(choose_group(entries, 9000, 9000, 9000));  // min above 8192
  // Nothing in [5000, 6000], not even a built-in group.
  EXPECT_FALSE(choose_group(entries, 5000, 5500, 6000));
}

TEST(Moduli, FallsBackToBuiltinGroups) {
  // No entry in range: built-in groups 14/16/18 by the same rule.
  auto only_2048 = parse_moduli(line_for(14) + "\n");
  auto g = choose_group(only_2048, 3072, 4096, 8192);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->p, builtin_dh_group(16)->p);
  EXPECT_EQ(g->g, Bytes{2});
  g = choose_group(std::vector<ModuliEntry>{}, 2048, 8192, 8192);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->p, builtin_dh_group(18)->p);
  g = choose_group(std::vector<ModuliEntry>{}, 2048, 2048, 3072);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->p, builtin_dh_group(14)->p);
  g = choose_group(std::vector<ModuliEntry>{}, 2048, 6000, 7000);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->p, builtin_dh_group(16)->p);

  // A missing file, and a file with only unusable lines.
  g = choose_group(std::string("/nonexistent/postern/moduli"), 2048, 3072, 8192);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->p, builtin_dh_group(16)->p);
  TempFile junk("# nothing\nnot a modulus\n" + line_for(14, "4") + "\n");
  g = choose_group(junk.path(), 2048, 2048, 8192);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->p, builtin_dh_group(14)->p);
}

TEST(Moduli, ReadsAFile) {
  TempFile f(line_for(14) + "\n" + line_for(16, "2", "6", "100", -1, "5") + "\n");
  auto g = choose_group(f.path(), 2048, 3072, 8192);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->p, builtin_dh_group(16)->p);
  EXPECT_EQ(g->g, Bytes{5});
}

TEST(Moduli, SystemFileIfPresent) {
  std::ifstream probe("/etc/ssh/moduli");
  if (!probe) GTEST_SKIP() << "no /etc/ssh/moduli";
  for (uint32_t n : {2048u, 3072u, 4096u, 6144u, 7680u, 8192u}) {
    auto g = choose_group(std::string("/etc/ssh/moduli"), 2048, n, 8192);
    ASSERT_TRUE(g) << g.error().message;
    EXPECT_GE(g->bits(), n);
    EXPECT_LE(g->bits(), 8192u);
    auto kex = make_dh_kex("diffie-hellman-group-exchange-sha256", EVP_sha256(), g->p, g->g);
    EXPECT_TRUE(kex);
  }
}

}  // namespace
}  // namespace postern::net
