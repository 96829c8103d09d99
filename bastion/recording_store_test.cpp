// The monitor's recording files: the name splits back into its parts whatever the names hold,
// the header is asciicast v2 with postern's fields, files are new (O_EXCL), 0600 in a 0700
// directory made when missing, and an unusable directory is a clear error.
#include "bastion/recording_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace postern::bastion {
namespace {

namespace fs = std::filesystem;

RecordingInfo info() {
  RecordingInfo i;
  i.session = "0123456789abcdef";
  i.bastion_user = "alice";
  i.target = "web1";
  i.target_user = "deploy";
  i.channel = "exec";
  i.command = "uname -a";
  i.term = "xterm";
  i.width = 132;
  i.height = 43;
  i.unix_seconds = 1796613300;  // 2026-12-07T03:15:00Z
  i.client_channel = 3;
  return i;
}

class RecordingStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/postern-rs-XXXXXX";
    dir = ::mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(dir); }
  fs::path dir;
};

TEST(RecordingName, AsSpecifiedAndUnambiguous) {
  EXPECT_EQ(recording_file_name(info()),
            "20261207T031500Z_alice_deploy@web1_0123456789abcdef.cast");
  RecordingInfo odd = info();
  odd.bastion_user = "a_b/../c";
  odd.target_user = "";
  odd.target = "x@y_z";
  EXPECT_EQ(recording_file_name(odd, 2),
            "20261207T031500Z_a-b-..-c_-@x-y-z_0123456789abcdef-2.cast");
  odd.bastion_user = "..";
  odd.target = std::string(300, 'h');
  std::string n = recording_file_name(odd);
  EXPECT_EQ(n.find('/'), std::string::npos);
  EXPECT_LT(n.size(), 255u);
  EXPECT_EQ(std::count(n.begin(), n.end(), '_'), 3);
}

TEST(RecordingHeader, IsAsciicastV2WithPosternFields) {
  auto h = nlohmann::json::parse(asciicast_header(info()));
  EXPECT_EQ(h["version"], 2);
  EXPECT_EQ(h["width"], 132);
  EXPECT_EQ(h["height"], 43);
  EXPECT_EQ(h["timestamp"], 1796613300);
  EXPECT_EQ(h["command"], "uname -a");
  EXPECT_EQ(h["title"], "alice as deploy@web1: uname -a");
  EXPECT_EQ(h["env"]["TERM"], "xterm");
  EXPECT_EQ(h["postern"]["session"], "0123456789abcdef");
  EXPECT_EQ(h["postern"]["bastion_user"], "alice");
  EXPECT_EQ(h["postern"]["target"], "web1");
  EXPECT_EQ(h["postern"]["target_user"], "deploy");
  EXPECT_EQ(h["postern"]["channel"], "exec");
  EXPECT_EQ(asciicast_header(info()).back(), '\n');
}

TEST_F(RecordingStoreTest, CreatesTheDirectoryAndANewPrivateFileWithItsHeader) {
  std::string recdir = (dir / "a" / "rec").string();
  auto r = open_recording(recdir, info());
  ASSERT_TRUE(r) << r.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(recdir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(::stat(r->path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(r->path, recdir + "/" + recording_file_name(info()));
  ASSERT_EQ(::write(r->fd.get(), "[0.1, \"o\", \"x\"]\n", 16), 16);
  std::stringstream ss;
  ss << std::ifstream(r->path).rdbuf();
  EXPECT_EQ(ss.str(), asciicast_header(info()) + "[0.1, \"o\", \"x\"]\n");
  EXPECT_EQ(r->header_bytes, asciicast_header(info()).size());
  // The same name again (another channel in the same second): a new file beside it.
  auto again = open_recording(recdir, info());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->path, recdir + "/" + recording_file_name(info(), 2));
}

TEST_F(RecordingStoreTest, AnUnusableDirectoryIsAClearError) {
  std::ofstream(dir / "file") << "x";
  auto r = open_recording((dir / "file" / "rec").string(), info());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("recordings directory"), std::string::npos) << r.error().message;
  auto r2 = open_recording((dir / "file").string(), info());
  ASSERT_FALSE(r2);
  EXPECT_NE(r2.error().message.find("is not a directory"), std::string::npos);
}

TEST_F(RecordingStoreTest, Sha256OfTheFile) {
  std::ofstream(dir / "f") << "abc";
  auto h = file_sha256_hex((dir / "f").string());
  ASSERT_TRUE(h);
  EXPECT_EQ(*h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_FALSE(file_sha256_hex((dir / "missing").string()));
}

}  // namespace
}  // namespace postern::bastion
