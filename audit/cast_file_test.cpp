#include "audit/cast_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace postern::audit {
namespace {

namespace fs = std::filesystem;

constexpr const char* kHeader = R"({"version": 2, "width": 100, "height": 30})";

class CastFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/postern-castfile.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    m_dir = tmpl;
  }
  void TearDown() override { fs::remove_all(m_dir); }
  std::string write(const std::string& text) {
    std::string path = (m_dir / "rec.cast").string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::string error_of(const std::string& text, size_t max = kMaxExportCastBytes) {
    auto r = read_cast_file(write(text), max);
    return r ? "(read)" : r.error().message;
  }
  fs::path m_dir;
};

TEST_F(CastFileTest, ReadsEveryByteAndHashesIt) {
  // The last line without its newline stays so: the hash is of the file as it is.
  std::string text = std::string(kHeader) + "\n[0.5, \"o\", \"hi\\r\\n\"]\n\n[1, \"o\", \"x\"]";
  auto cast = read_cast_file(write(text));
  ASSERT_TRUE(cast) << cast.error().message;
  EXPECT_EQ(cast->text, text);
  EXPECT_EQ(cast->width, 100);
  EXPECT_EQ(cast->height, 30);
  auto empty_header = read_cast_file(write("{\"version\":2,\"width\":1,\"height\":1}\n"));
  ASSERT_TRUE(empty_header);
  // sha256 of that 35-byte file, from sha256sum.
  EXPECT_EQ(empty_header->sha256,
            "f8925a462c2d70f6158ba2637ba9823edbd1d9e81146709330ae99f83e2b45d1");
}

TEST_F(CastFileTest, CorruptFilesAreNamedAtTheirLine) {
  const std::string path = (m_dir / "rec.cast").string();
  EXPECT_EQ(error_of(""), path + ": empty file, no asciicast header");
  EXPECT_EQ(error_of("[1, \"o\", \"x\"]\n"),
            path + ":1: header is not a JSON object (not an asciicast file?)");
  EXPECT_EQ(error_of(std::string(kHeader) + "\n[0.1, \"o\", \"a\"]\n[0.2 \"o\", \"b\"]\n"),
            path + ":3: not JSON");
  EXPECT_EQ(error_of(std::string(kHeader) + "\n[2, \"o\", \"a\"]\n[1, \"o\", \"b\"]\n"),
            path + ":3: event time goes back (1.000000 after 2.000000)");
  EXPECT_EQ(error_of(std::string(kHeader) + "\n[1, \"o\", 5]\n"),
            path + ":2: event data is not a string");
  EXPECT_EQ(error_of(R"({"version": 1, "width": 80, "height": 24})"),
            path + ":1: asciicast version 1 is not supported (only 2)");
}

TEST_F(CastFileTest, MissingOrTooBigIsAnError) {
  auto missing = read_cast_file((m_dir / "gone.cast").string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message,
            (m_dir / "gone.cast").string() + ": No such file or directory");
  auto dir = read_cast_file(m_dir.string());
  ASSERT_FALSE(dir);
  EXPECT_EQ(dir.error().message, m_dir.string() + ": not a regular file");
  std::string big = std::string(kHeader) + "\n" + "[0, \"o\", \"" + std::string(200, 'x') + "\"]\n";
  EXPECT_NE(error_of(big, 100).find("more than the 100"), std::string::npos);
  EXPECT_EQ(error_of(big, big.size()), "(read)");
}

}  // namespace
}  // namespace postern::audit
