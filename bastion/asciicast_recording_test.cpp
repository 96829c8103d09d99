// A recorded channel's file in sshd-bastion: lines go to the descriptor as they come, input only
// with record_input, times from the header's timestamp; a file that stops taking data never
// blocks the caller (bounded buffer, then dropped lines counted and told in a notice).
#include "bastion/asciicast_recording.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace postern::bastion {
namespace {

ByteView bv(std::string_view s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

std::string read_all(int fd) {
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, size_t(n));
  return out;
}

struct TempFile {
  TempFile() {
    char tmpl[] = "/tmp/postern-cast-XXXXXX";
    fd = ::mkstemp(tmpl);
    path = tmpl;
  }
  ~TempFile() { ::unlink(path.c_str()); }
  std::string contents() {
    UniqueFd r(::open(path.c_str(), O_RDONLY));
    return read_all(r.get());
  }
  int fd;
  std::string path;
};

TEST(AsciicastRecording, WritesEventsTimedFromTheHeaderAndInputOnlyWhenAsked) {
  for (bool record_input : {false, true}) {
    TempFile f;
    uint64_t now = 1'000'000'000'000'000;
    {
      RecordingParams p{record_input, 1 << 20, 50, now - 2'500'000};
      AsciicastRecording rec(UniqueFd(f.fd), p, [&] { return now; });
      rec.output(bv("prompt$ "));
      now += 250;
      rec.input(bv("ls\r"));
      rec.resize(100, 30);
    }
    std::string want = "[2.500000, \"o\", \"prompt$ \"]\n";
    if (record_input) want += "[2.500250, \"i\", \"ls\\r\"]\n";
    want += "[2.500250, \"r\", \"100x30\"]\n";
    EXPECT_EQ(f.contents(), want);
  }
}

TEST(AsciicastRecording, ASplitCharacterHeldAtTheEndIsWrittenAsReplacement) {
  TempFile f;
  {
    RecordingParams p{false, 1 << 20, 0, 0};
    AsciicastRecording rec(UniqueFd(f.fd), p, [] { return uint64_t(1'000'000); });
    rec.output(bv("a\xE2\x82"));
  }
  EXPECT_EQ(f.contents(), "[1.000000, \"o\", \"a\"]\n[1.000000, \"o\", \"\xEF\xBF\xBD\"]\n");
}

TEST(AsciicastRecording, AFileThatStopsTakingDataNeverBlocksAndTheGapIsTold) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_NONBLOCK), 0);
  UniqueFd reader(p[0]);
  ::fcntl(p[1], F_SETPIPE_SZ, 4096);
  RecordingParams params{false, 1ull << 30, 0, 0};
  AsciicastRecording rec(
      UniqueFd(p[1]), params, [] { return uint64_t(0); }, 8192);
  std::string chunk(1000, 'x');
  // Nobody reads: the pipe takes 4 KiB, the buffer 8 KiB, the rest is dropped; no call blocks
  // (the test would hang).
  for (int i = 0; i < 100; ++i) rec.output(bv(chunk));
  EXPECT_GT(rec.dropped(), 50'000u);
  std::string got = read_all(reader.get());
  EXPECT_GT(got.size(), 4000u);
  EXPECT_LT(got.size(), 14'000u);
  // The reader catches up: the file takes data again, and the recording says what is missing
  // before what comes next.
  for (int i = 0; i < 10 && got.find("after") == std::string::npos; ++i) {
    rec.output(bv("after"));
    got += read_all(reader.get());
  }
  size_t notice = got.find("bytes of the recording dropped: the disk was too slow");
  ASSERT_NE(notice, std::string::npos);
  EXPECT_NE(got.find("after", notice), std::string::npos);
  EXPECT_EQ(rec.dropped(), 0u);
}

TEST(RecordingFile, AWriteErrorStopsTheRecording) {
  UniqueFd ro(::open("/dev/null", O_RDONLY));
  RecordingFile f(std::move(ro));
  EXPECT_FALSE(f.append("data"));
  EXPECT_TRUE(f.failed());
  EXPECT_FALSE(f.append("more"));
}

}  // namespace
}  // namespace postern::bastion
