#include "common/text_lines.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace postern {
namespace {

std::vector<std::string> all_lines(std::string_view text) {
  std::vector<std::string> out;
  TextLines lines(text);
  std::string_view line;
  while (lines.next(line)) out.emplace_back(line);
  return out;
}

TEST(TextLines, SplitsOnNewlineAndKeepsEmptyLines) {
  EXPECT_EQ(all_lines("a\n\nb\n"), (std::vector<std::string>{"a", "", "b"}));
}

TEST(TextLines, LastLineWithoutNewline) {
  EXPECT_EQ(all_lines("a\nb"), (std::vector<std::string>{"a", "b"}));
}

TEST(TextLines, EmptyTextHasNoLines) {
  EXPECT_TRUE(all_lines("").empty());
}

TEST(TextLines, CountsLines) {
  TextLines lines("x\ny\nz");
  std::string_view line;
  lines.next(line);
  lines.next(line);
  EXPECT_EQ(lines.number(), 2u);
  ASSERT_TRUE(lines.next(line));
  EXPECT_EQ(line, "z");
  EXPECT_EQ(lines.number(), 3u);
  EXPECT_FALSE(lines.next(line));
  EXPECT_EQ(lines.number(), 3u);
}

TEST(TextLines, CarriageReturnIsKept) {
  // Callers decide about '\r' (moduli and ~/.ssh/environment drop it, others treat it as text).
  EXPECT_EQ(all_lines("a\r\n"), (std::vector<std::string>{"a\r"}));
}

}  // namespace
}  // namespace postern
