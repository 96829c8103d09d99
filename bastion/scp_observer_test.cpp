#include "bastion/scp_observer.h"

#include <gtest/gtest.h>

#include <vector>

namespace postern::bastion {
namespace {

struct Collect : FileEventSink {
  void file_event(const FileEvent& e) override { events.push_back(describe(e)); }
  std::vector<std::string> events;
};

ByteView bv(std::string_view s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

std::string sha256_hex(std::string_view s) {
  StreamDigest d;
  d.update(bv(s));
  return d.hex_final();
}

const std::string kZero(1, '\0');

TEST(ScpObserver, OtherCommandsAreNotObserved) {
  Collect sink;
  EXPECT_EQ(ScpObserver::for_command("ls -l", sink), nullptr);
  EXPECT_EQ(ScpObserver::for_command("scp -v /x", sink), nullptr);  // neither -t nor -f
  EXPECT_NE(ScpObserver::for_command("scp -t -- /x", sink), nullptr);
}

TEST(ScpObserver, UploadCountsAndHashesTheFile) {
  Collect sink;
  auto o = ScpObserver::for_command("scp -t /tmp/up.txt", sink);
  ASSERT_NE(o, nullptr);
  o->from_target(bv(kZero));  // the sink is ready
  o->from_client(bv("C0644 11 up.txt\n"));
  o->from_target(bv(kZero));
  o->from_client(bv("hello"));  // the data in two messages, then the source's status byte
  o->from_client(bv(" world" + kZero));
  o->from_target(bv(kZero));
  EXPECT_EQ(sink.events, (std::vector<std::string>{"open /tmp/up.txt flags=write ok",
                                                   "write /tmp/up.txt 11 bytes sha256=" +
                                                       sha256_hex("hello world") + " ok"}));
  EXPECT_FALSE(o->lost());
}

TEST(ScpObserver, DownloadWithTimesAndDirectories) {
  Collect sink;
  auto o = ScpObserver::for_command("scp -r -p -f '/srv/my dir'", sink);
  ASSERT_NE(o, nullptr);
  o->from_client(bv(kZero));
  o->from_target(bv("D0755 0 my dir\n"));
  o->from_client(bv(kZero));
  o->from_target(bv("T1700000000 0 1700000000 0\n"));
  o->from_client(bv(kZero));
  o->from_target(bv("C0600 3 a\nabc" + kZero));  // line and data in one message: after the answer
  EXPECT_TRUE(o->lost());  // the source may not go on before the sink answered
  EXPECT_EQ(sink.events.back(),
            "lost file-events lost: the source went on before the sink answered");
}

TEST(ScpObserver, DownloadInDirectory) {
  Collect sink;
  auto o = ScpObserver::for_command("scp -r -f /srv/d", sink);
  o->from_client(bv(kZero));
  o->from_target(bv("D0755 0 d\n"));
  o->from_client(bv(kZero));
  o->from_target(bv("C0600 3 a\n"));
  o->from_client(bv(kZero));
  o->from_target(bv("abc" + kZero));
  o->from_client(bv(kZero));
  o->from_target(bv("E\n"));
  o->from_client(bv(kZero));
  EXPECT_EQ(sink.events, (std::vector<std::string>{
                             "open /srv/d/d/a flags=read ok",
                             "read /srv/d/d/a 3 bytes sha256=" + sha256_hex("abc") + " ok"}));
}

TEST(ScpObserver, RefusedFileAndSourceErrors) {
  Collect sink;
  auto o = ScpObserver::for_command("scp -d -t /ro/", sink);
  o->from_target(bv(kZero));
  o->from_client(bv("C0644 5 f\n"));
  o->from_target(bv("\x01scp: /ro/f: Permission denied\n"));
  Collect sink2;
  auto f = ScpObserver::for_command("scp -f /nope", sink2);
  f->from_client(bv(kZero));
  f->from_target(bv("\x01scp: /nope: No such file or directory\n"));
  EXPECT_EQ(
      sink.events,
      (std::vector<std::string>{"open /ro/f flags=write error: scp: /ro/f: Permission denied"}));
  EXPECT_EQ(sink2.events, (std::vector<std::string>{"open /nope flags=read error: scp: /nope: No "
                                                    "such file or directory"}));
}

TEST(ScpObserver, UploadUnderAnotherNameSaysSo) {
  Collect sink;
  auto o = ScpObserver::for_command("scp -t /tmp/target", sink);
  o->from_target(bv(kZero));
  o->from_client(bv("C0644 0 src.txt\n"));
  o->from_target(bv(kZero));
  o->from_client(bv(kZero));
  o->from_target(bv(kZero));
  EXPECT_EQ(sink.events, (std::vector<std::string>{
                             "open /tmp/target flags=write name=src.txt ok",
                             "write /tmp/target 0 bytes sha256=" + sha256_hex("") + " ok"}));
}

TEST(ScpObserver, GarbageAndLongLinesStopObserving) {
  Collect sink;
  auto o = ScpObserver::for_command("scp -t /x", sink);
  o->from_target(bv(kZero));
  o->from_client(bv("Zwhat\n"));
  o->from_client(bv("C0644 1 x\n"));
  EXPECT_EQ(sink.events, (std::vector<std::string>{"lost file-events lost: unknown control line"}));
  Collect sink2;
  auto l = ScpObserver::for_command("scp -t /x", sink2);
  l->from_target(bv(kZero));
  l->from_client(bv(std::string(ScpObserver::kMaxLine + 1, 'C')));
  EXPECT_EQ(sink2.events,
            (std::vector<std::string>{"lost file-events lost: control line too long"}));
  Collect sink3;
  auto a = ScpObserver::for_command("scp -t /x", sink3);
  a->from_target(bv(kZero + kZero));  // an answer to nothing
  EXPECT_TRUE(a->lost());
}

}  // namespace
}  // namespace postern::bastion
