#include "audit/asciicast_play.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace postern::audit {
namespace {

namespace fs = std::filesystem;

constexpr const char* kHeader =
    R"({"version": 2, "width": 80, "height": 24, "timestamp": 1893456000, "command": "bash"})";

class PlayCast : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/postern-cast.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    m_dir = tmpl;
  }
  void TearDown() override { fs::remove_all(m_dir); }
  std::string write(const std::string& text) {
    std::string path = (m_dir / "rec.cast").string();
    std::ofstream(path) << text;
    return path;
  }
  Result<void> play(const std::string& text, PlayOptions o = {}) {
    std::ostringstream out;
    m_sleeps.clear();
    auto r = play_cast(write(text), o, out, [&](double s) { m_sleeps.push_back(s); });
    m_out = out.str();
    return r;
  }
  fs::path m_dir;
  std::string m_out;
  std::vector<double> m_sleeps;
};

TEST_F(PlayCast, WritesOutputAtItsTimes) {
  std::string cast = std::string(kHeader) + "\n" +
                     R"([0.5, "o", "hello "])"
                     "\n"
                     R"([0.7, "i", "typed"])"
                     "\n"
                     R"([1.5, "o", "world\r\n"])"
                     "\n"
                     R"([1.5, "r", "100x40"])"
                     "\n"
                     R"([4.0, "m", "marker"])"
                     "\n"
                     R"([4.5, "o", "\u001b[1mbold\u001b[0m"])"
                     "\n\n";
  ASSERT_TRUE(play(cast));
  // Input, resizes and markers show nothing; output is written as recorded, escapes and all.
  EXPECT_EQ(m_out, "hello world\r\n\x1b[1mbold\x1b[0m");
  EXPECT_EQ(m_sleeps, (std::vector<double>{0.5, 1.0, 3.0}));
  ASSERT_TRUE(play(cast, PlayOptions{2.0, true}));
  EXPECT_EQ(m_sleeps, (std::vector<double>{0.25, 0.5, 1.5}));
  ASSERT_TRUE(play(cast, PlayOptions{1.0, false}));
  EXPECT_TRUE(m_sleeps.empty());
  EXPECT_EQ(m_out, "hello world\r\n\x1b[1mbold\x1b[0m");
}

TEST_F(PlayCast, IdleTimeLimitCutsLongPauses) {
  ASSERT_TRUE(play(R"({"version":2,"width":80,"height":24,"idle_time_limit":1.5})"
                   "\n"
                   R"([10, "o", "a"])"
                   "\n"
                   R"([11, "o", "b"])"
                   "\n"));
  EXPECT_EQ(m_sleeps, (std::vector<double>{1.5, 1.0}));
}

TEST_F(PlayCast, CorruptFilesNameTheLine) {
  struct Case {
    std::string text, error;
  } cases[] = {
      {"", "rec.cast: empty file, no asciicast header"},
      {"not json\n", "rec.cast:1: header is not JSON"},
      {"[1, \"o\", \"x\"]\n", "rec.cast:1: header is not a JSON object"},
      {R"({"version": 1, "width": 80, "height": 24, "stdout": []})",
       "rec.cast:1: asciicast version 1 is not supported"},
      {R"({"version": 3, "term": {"cols": 80}})",
       "rec.cast:1: asciicast version 3 is not supported"},
      {R"({"version": 2, "width": 0, "height": 24})", "rec.cast:1: header has no positive width"},
      {std::string(kHeader) + "\n[0.1, \"o\", \"a\"]\n[0.2, \"o\", \"b\"\n",
       "rec.cast:3: not JSON"},
      {std::string(kHeader) + "\n[0.1, \"o\"]\n", "rec.cast:2: not an event [time, code, data]"},
      {std::string(kHeader) + "\n[\"0.1\", \"o\", \"a\"]\n", "rec.cast:2: event time is not"},
      {std::string(kHeader) + "\n[-1, \"o\", \"a\"]\n", "rec.cast:2: event time is not"},
      {std::string(kHeader) + "\n[1, 5, \"a\"]\n", "rec.cast:2: event code is not a string"},
      {std::string(kHeader) + "\n[1, \"o\", 5]\n", "rec.cast:2: event data is not a string"},
      {std::string(kHeader) + "\n[2, \"o\", \"a\"]\n[1, \"o\", \"b\"]\n",
       "rec.cast:3: event time goes back"},
  };
  for (const auto& c : cases) {
    auto r = play(c.text);
    ASSERT_FALSE(r) << c.text;
    EXPECT_NE(r.error().message.find(c.error), std::string::npos)
        << c.text << " -> " << r.error().message;
  }
  // What came before the corrupt line was played.
  ASSERT_FALSE(play(std::string(kHeader) + "\n[0.1, \"o\", \"before\"]\ngarbage\n"));
  EXPECT_EQ(m_out, "before");
  std::ostringstream out;
  auto missing = play_cast((m_dir / "nope.cast").string(), {}, out, [](double) {});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("nope.cast: No such file"), std::string::npos);
  EXPECT_FALSE(play(std::string(kHeader) + "\n", PlayOptions{0, true}));
}

TEST(CastParse, HeaderAndEvent) {
  auto h = parse_cast_header(kHeader);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->width, 80);
  EXPECT_EQ(h->height, 24);
  EXPECT_FALSE(h->idle_time_limit);
  auto e = parse_cast_event(R"([1.25, "o", "x\u0000y"])");
  ASSERT_TRUE(e);
  EXPECT_DOUBLE_EQ(e->time, 1.25);
  EXPECT_EQ(e->code, "o");
  EXPECT_EQ(e->data, std::string("x\0y", 3));
}

}  // namespace
}  // namespace postern::audit
