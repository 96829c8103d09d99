// asciicast v2 event lines: JSON escaping, UTF-8 split across packets and invalid bytes, times
// with microseconds that never go back, and the cap with its single marker.
#include "bastion/asciicast_events.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace postern::bastion {
namespace {

ByteView bv(std::string_view s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

std::string json_of(std::string_view raw) {
  std::string out;
  append_json_utf8(out, bv(raw), nullptr);
  return out;
}

TEST(AsciicastJson, EscapesWhatJsonAndTerminalsNeed) {
  EXPECT_EQ(json_of("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(json_of("\r\n\t\b\f"), "\\r\\n\\t\\b\\f");
  EXPECT_EQ(json_of("\x1b[1m\x7f"), "\\u001b[1m\\u007f");
  EXPECT_EQ(json_of(std::string_view("\0x", 2)), "\\u0000x");
  EXPECT_EQ(json_of("h\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "h\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
}

TEST(AsciicastJson, InvalidBytesBecomeOneReplacementEach) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(json_of("a\xFF"
                    "b"),
            "a" + r + "b");
  EXPECT_EQ(json_of("\xC0\xAF"), r + r);          // overlong lead, lone continuation
  EXPECT_EQ(json_of("\xED\xA0\x80"), r + r + r);  // a surrogate
  EXPECT_EQ(json_of("\xE2\x82"
                    "x"),
            r + "x");                                     // cut short: one for the subpart
  EXPECT_EQ(json_of("\xF4\x90\x80\x80"), r + r + r + r);  // past U+10FFFF
  EXPECT_EQ(json_of("\xE2\x82"), r);                      // at the end, no tail wanted
}

TEST(AsciicastJson, EverySpecialByteIsFoundAtEveryPositionOfALongRun) {
  // The plain-ASCII scan goes eight bytes at a time: a special byte must be seen wherever it is.
  const std::pair<char, std::string> specials[] = {
      {'"', "\\\""},       {'\\', "\\\\"},           {'\x1f', "\\u001f"},     {'\x7f', "\\u007f"},
      {'\x00', "\\u0000"}, {'\x80', "\xEF\xBF\xBD"}, {'\xff', "\xEF\xBF\xBD"}};
  for (const auto& [byte, escaped] : specials)
    for (size_t pos = 0; pos < 24; ++pos) {
      std::string raw(24, '~'), want(24, '~');
      raw[pos] = byte;
      want.replace(pos, 1, escaped);
      EXPECT_EQ(json_of(raw), want) << "byte " << int(uint8_t(byte)) << " at " << pos;
    }
  EXPECT_EQ(json_of(std::string(1000, ' ')), std::string(1000, ' '));
}

TEST(AsciicastJson, ParsesBackAsTheSameText) {
  std::string raw = "line \"1\"\r\n\x1b]0;title\x07 \xC3\xA9";
  auto j = nlohmann::json::parse("\"" + json_of(raw) + "\"");
  EXPECT_EQ(j.get<std::string>(), raw);
}

TEST(AsciicastEvents, OutputInputAndResizeLines) {
  AsciicastEvents e(1 << 20, 100);
  std::string out;
  e.output(1500000, bv("hi\n"), out);
  e.input(2000001, bv("ls\r"), out);
  e.resize(3000000, 120, 40, out);
  EXPECT_EQ(out,
            "[1.500000, \"o\", \"hi\\n\"]\n[2.000001, \"i\", \"ls\\r\"]\n"
            "[3.000000, \"r\", \"120x40\"]\n");
  EXPECT_EQ(e.bytes(), 100 + out.size());
}

TEST(AsciicastEvents, TimesNeverGoBack) {
  AsciicastEvents e(1 << 20, 0);
  std::string out;
  e.output(5000000, bv("a"), out);
  e.output(4000000, bv("b"), out);  // the wall clock stepped back
  EXPECT_EQ(out, "[5.000000, \"o\", \"a\"]\n[5.000000, \"o\", \"b\"]\n");
}

TEST(AsciicastEvents, ACharacterSplitAcrossPacketsIsWholeInTheNextEvent) {
  AsciicastEvents e(1 << 20, 0);
  std::string out;
  e.output(0, bv("x\xE2\x82"), out);  // "x€" cut inside the euro sign
  EXPECT_EQ(out, "[0.000000, \"o\", \"x\"]\n");
  out.clear();
  e.output(1,
           bv("\xAC"
              "y"),
           out);
  EXPECT_EQ(out,
            "[0.000001, \"o\", \"\xE2\x82\xAC"
            "y\"]\n");
  // Input keeps its own tail: output in between does not mix with it.
  out.clear();
  e.input(2, bv("\xC3"), out);
  e.output(3, bv("z"), out);
  e.input(4, bv("\xA9"), out);
  EXPECT_EQ(out, "[0.000003, \"o\", \"z\"]\n[0.000004, \"i\", \"\xC3\xA9\"]\n");
}

TEST(AsciicastEvents, ATailThatNeverCompletesIsOneReplacementAtTheEnd) {
  AsciicastEvents e(1 << 20, 0);
  std::string out;
  e.output(0, bv("\xF0\x9F"), out);
  EXPECT_TRUE(out.empty());
  e.output(1, bv("!"), out);  // not a continuation: the held bytes were ill-formed
  EXPECT_EQ(out, "[0.000001, \"o\", \"\xEF\xBF\xBD!\"]\n");
  out.clear();
  e.output(2, bv("\xE2"), out);
  e.finish(3, out);
  EXPECT_EQ(out, "[0.000003, \"o\", \"\xEF\xBF\xBD\"]\n");
}

TEST(AsciicastEvents, CappedWithOneMarkerAndNothingAfter) {
  const uint64_t limit = 4096;
  AsciicastEvents e(limit, 200);
  std::string out, chunk(100, 'a');
  for (int i = 0; i < 100; ++i) e.output(uint64_t(i) * 1000, bv(chunk), out);
  EXPECT_TRUE(e.cut());
  EXPECT_LE(200 + out.size(), limit);
  EXPECT_EQ(e.bytes(), 200 + out.size());
  size_t marker = out.find("[postern: recording cut at 4 KiB]");
  ASSERT_NE(marker, std::string::npos) << out;
  EXPECT_EQ(out.find("cut at", marker + 30), std::string::npos);
  // The marker is the last line, and nothing follows it, of any kind.
  std::string last = out.substr(out.rfind('\n', out.size() - 2) + 1);
  EXPECT_NE(last.find("cut at"), std::string::npos) << last;
  std::string after;
  e.output(999999, bv("more"), after);
  e.input(999999, bv("more"), after);
  e.resize(999999, 1, 1, after);
  e.finish(999999, after);
  EXPECT_TRUE(after.empty());
  // Every line is valid JSON: [time, code, text].
  size_t start = 0;
  while (start < out.size()) {
    size_t nl = out.find('\n', start);
    auto j = nlohmann::json::parse(out.substr(start, nl - start));
    EXPECT_TRUE(j.is_array() && j.size() == 3);
    start = nl + 1;
  }
}

TEST(AsciicastTime, SecondsWithMicroseconds) {
  EXPECT_EQ(asciicast_time(0), "0.000000");
  EXPECT_EQ(asciicast_time(12345678), "12.345678");
}

}  // namespace
}  // namespace postern::bastion
