#include "common/join.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace postern {
namespace {

TEST(Join, SeparatesEachTwoParts) {
  EXPECT_EQ(join(std::vector<std::string>{"aes128-ctr", "aes256-ctr", "none"}, ","),
            "aes128-ctr,aes256-ctr,none");
  EXPECT_EQ(join(std::vector<std::string>{"one"}, ", "), "one");
  EXPECT_EQ(join(std::vector<std::string>{}, ","), "");
}

TEST(Join, KeepsEmptyParts) {
  // An empty part still takes its place, so the result splits back into the same parts.
  EXPECT_EQ(join(std::vector<std::string>{"", "b", ""}, ","), ",b,");
}

TEST(Join, TakesViewsAndCStrings) {
  EXPECT_EQ(join(std::vector<std::string_view>{"READ", "WRITE"}, ","), "READ,WRITE");
  const char* const names[] = {"x", "y", "z"};
  EXPECT_EQ(join(names, "\n"), "x\ny\nz");
}

}  // namespace
}  // namespace postern
