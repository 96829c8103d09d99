#include "common/match_pattern.h"

#include <gtest/gtest.h>

namespace postern {
namespace {

TEST(MatchPattern, Literals) {
  EXPECT_TRUE(match_pattern("LANG", "LANG"));
  EXPECT_FALSE(match_pattern("LANG", "LAN"));
  EXPECT_FALSE(match_pattern("LAN", "LANG"));
  EXPECT_TRUE(match_pattern("", ""));
  EXPECT_FALSE(match_pattern("a", ""));
}

TEST(MatchPattern, Wildcards) {
  EXPECT_TRUE(match_pattern("LC_ALL", "LC_*"));
  EXPECT_TRUE(match_pattern("LC_", "LC_*"));
  EXPECT_FALSE(match_pattern("LANG", "LC_*"));
  EXPECT_TRUE(match_pattern("anything", "*"));
  EXPECT_TRUE(match_pattern("", "*"));
  EXPECT_TRUE(match_pattern("abc", "a?c"));
  EXPECT_FALSE(match_pattern("ac", "a?c"));
  EXPECT_TRUE(match_pattern("_XXX_TEST_A", "_XXX_TEST_*"));
  EXPECT_TRUE(match_pattern("aXbXc", "*X*c"));
  EXPECT_TRUE(match_pattern("mississippi", "*sip*"));
  EXPECT_FALSE(match_pattern("mississippi", "*sipx*"));
  EXPECT_TRUE(match_pattern("10.0.0.1", "10.0.*.?"));
  EXPECT_TRUE(match_pattern("abcabd", "*abd"));
}

TEST(MatchPattern, CaseInsensitive) {
  EXPECT_FALSE(match_pattern("Host.Example", "host.*"));
  EXPECT_TRUE(match_pattern("Host.Example", "host.*", true));
}

TEST(MatchPattern, HostileInputIsFast) {
  std::string s(5000, 'a');
  std::string p;
  for (int i = 0; i < 100; ++i) p += "*a";
  p += "b";
  EXPECT_FALSE(match_pattern(s, p));
}

TEST(MatchPatternList, CommasAndNegation) {
  EXPECT_EQ(match_pattern_list("LANG", "LANG,LC_*"), PatternMatch::kMatch);
  EXPECT_EQ(match_pattern_list("LC_ALL", "LANG,LC_*"), PatternMatch::kMatch);
  EXPECT_EQ(match_pattern_list("TERM", "LANG,LC_*"), PatternMatch::kNone);
  EXPECT_EQ(match_pattern_list("LC_ALL", "LC_*,!LC_ALL"), PatternMatch::kNegated);
  EXPECT_EQ(match_pattern_list("LC_ALL", "!LC_ALL,LC_*"), PatternMatch::kNegated);
  EXPECT_EQ(match_pattern_list("LC_CTYPE", "LC_*,!LC_ALL"), PatternMatch::kMatch);
  // A list of only negations never matches positively.
  EXPECT_EQ(match_pattern_list("x", "!y"), PatternMatch::kNone);
  EXPECT_EQ(match_pattern_list("x", ""), PatternMatch::kNone);
  EXPECT_EQ(match_pattern_list("x", ",,x"), PatternMatch::kMatch);
}

// Match Host (sshd_config(5)) compares host names without regard to case; user names and
// algorithm names keep theirs.
TEST(MatchPatternList, CaseOfHostNames) {
  EXPECT_EQ(match_pattern_list("Gw.Example.ORG", "*.example.org,!bad.example.org", true),
            PatternMatch::kMatch);
  EXPECT_EQ(match_pattern_list("BAD.example.org", "*.example.org,!bad.example.org", true),
            PatternMatch::kNegated);
  EXPECT_EQ(match_pattern_list("Gw.Example.ORG", "*.example.org"), PatternMatch::kNone);
}

// The pubkey and hostbased checks of a client's algorithm against the configured list.
TEST(MatchPatternList, AlgorithmLists) {
  const std::string accepted = "ssh-ed25519,rsa-sha2-512,rsa-sha2-256";
  EXPECT_EQ(match_pattern_list("rsa-sha2-256", accepted), PatternMatch::kMatch);
  EXPECT_EQ(match_pattern_list("ssh-rsa", accepted), PatternMatch::kNone);
  EXPECT_EQ(match_pattern_list("ssh-ed25519-cert-v01@openssh.com", "ssh-ed25519*"),
            PatternMatch::kMatch);
}

TEST(MatchPatternList, SeparateEntries) {
  std::vector<std::string> accept = {"LANG", "LC_*", "!LC_SECRET"};
  EXPECT_EQ(match_pattern_list("LANG", accept), PatternMatch::kMatch);
  EXPECT_EQ(match_pattern_list("LC_TIME", accept), PatternMatch::kMatch);
  EXPECT_EQ(match_pattern_list("LC_SECRET", accept), PatternMatch::kNegated);
  EXPECT_EQ(match_pattern_list("PATH", accept), PatternMatch::kNone);
  EXPECT_EQ(match_pattern_list("PATH", std::vector<std::string>{}), PatternMatch::kNone);
}

}  // namespace
}  // namespace postern
