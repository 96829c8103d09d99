#include "bastion/sftp_observer.h"

#include <gtest/gtest.h>

#include <vector>

#include "common/wire.h"

namespace postern::bastion {
namespace {

struct Collect : FileEventSink {
  void file_event(const FileEvent& e) override { events.push_back(e); }
  std::vector<FileEvent> events;
};

std::string sha256_hex(std::string_view s) {
  StreamDigest d;
  d.update(ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  return d.hex_final();
}

// An SFTP packet (draft-ietf-secsh-filexfer-02 §3): uint32 length, byte type, the rest.
Bytes pkt(uint8_t type, const std::function<void(Writer&)>& body) {
  Writer inner;
  inner.u8(type);
  body(inner);
  Writer w;
  w.string(inner.buffer());
  return w.buffer();
}

Bytes init() {
  return pkt(1, [](Writer& w) { w.u32(3); });
}
Bytes version(uint32_t v = 3) {
  return pkt(2, [&](Writer& w) { w.u32(v); });
}
Bytes open_req(uint32_t id, std::string_view path, uint32_t flags) {
  return pkt(3, [&](Writer& w) { w.u32(id).string(path).u32(flags).u32(0); });
}
Bytes handle(uint32_t id, std::string_view h) {
  return pkt(102, [&](Writer& w) { w.u32(id).string(h); });
}
Bytes status(uint32_t id, uint32_t code) {
  return pkt(101, [&](Writer& w) { w.u32(id).u32(code).string("").string(""); });
}
Bytes write_req(uint32_t id, std::string_view h, uint64_t off, std::string_view data) {
  return pkt(6, [&](Writer& w) { w.u32(id).string(h).u64(off).string(data); });
}
Bytes read_req(uint32_t id, std::string_view h, uint64_t off, uint32_t len) {
  return pkt(5, [&](Writer& w) { w.u32(id).string(h).u64(off).u32(len); });
}
Bytes data_resp(uint32_t id, std::string_view data) {
  return pkt(103, [&](Writer& w) { w.u32(id).string(data); });
}
Bytes close_req(uint32_t id, std::string_view h) {
  return pkt(4, [&](Writer& w) { w.u32(id).string(h); });
}
Bytes path_req(uint8_t type, uint32_t id, std::string_view p) {
  return pkt(type, [&](Writer& w) { w.u32(id).string(p); });
}
Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

constexpr uint32_t kRead = 1, kWrite = 2, kCreat = 8, kTrunc = 0x10;

class SftpObserverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    obs.from_client(init());
    obs.from_target(version());
  }
  Collect sink;
  SftpObserver obs{sink};
};

TEST_F(SftpObserverTest, UploadInPipelinedWritesSplitAcrossMessagesIsHashed) {
  obs.from_client(open_req(1, "/home/u/x.txt", kWrite | kCreat | kTrunc));
  obs.from_target(handle(1, "H1"));
  // Two pipelined writes, the stream cut at odd places (one byte, mid-header, mid-data).
  Bytes stream = cat({write_req(2, "H1", 0, "hello "), write_req(3, "H1", 6, "world")});
  obs.from_client(ByteView(stream).first(1));
  obs.from_client(ByteView(stream).subspan(1, 10));
  obs.from_client(ByteView(stream).subspan(11, 20));
  obs.from_client(ByteView(stream).subspan(31));
  obs.from_target(cat({status(2, 0), status(3, 0)}));
  obs.from_client(close_req(4, "H1"));
  obs.from_target(status(4, 0));
  ASSERT_EQ(sink.events.size(), 2u);
  EXPECT_EQ(describe(sink.events[0]), "open /home/u/x.txt flags=write,creat,trunc ok");
  const FileEvent& w = sink.events[1];
  EXPECT_EQ(w.operation, "write");
  EXPECT_EQ(w.bytes, 11u);
  EXPECT_EQ(w.sha256, sha256_hex("hello world"));
  EXPECT_EQ(describe(w),
            "write /home/u/x.txt 11 bytes sha256=" + sha256_hex("hello world") + " ok");
  EXPECT_FALSE(obs.lost());
}

TEST_F(SftpObserverTest, DownloadReadToEofIsHashedEvenWithReadsPastTheEnd) {
  obs.from_client(open_req(1, "/etc/motd", kRead));
  obs.from_target(handle(1, "h"));
  obs.from_client(cat({read_req(2, "h", 0, 4), read_req(3, "h", 4, 4), read_req(4, "h", 8, 4)}));
  obs.from_target(cat({data_resp(2, "abcd"), data_resp(3, "ef"), status(4, 1)}));
  obs.from_client(close_req(5, "h"));
  obs.from_target(status(5, 0));
  ASSERT_EQ(sink.events.size(), 2u);
  EXPECT_EQ(sink.events[1].operation, "read");
  EXPECT_EQ(sink.events[1].bytes, 6u);
  EXPECT_EQ(sink.events[1].sha256, sha256_hex("abcdef"));
}

TEST_F(SftpObserverTest, OutOfOrderOrPartialTransfersHaveNoHash) {
  obs.from_client(open_req(1, "/a", kWrite | kCreat | kTrunc));
  obs.from_target(handle(1, "w"));
  obs.from_client(write_req(2, "w", 100, "xyz"));  // not from offset 0
  obs.from_target(status(2, 0));
  obs.from_client(close_req(3, "w"));
  obs.from_target(status(3, 0));
  obs.from_client(open_req(4, "/b", kRead));
  obs.from_target(handle(4, "r"));
  obs.from_client(read_req(5, "r", 0, 2));
  obs.from_target(data_resp(5, "ab"));  // closed before EOF: not read in whole
  obs.from_client(close_req(6, "r"));
  obs.from_target(status(6, 0));
  ASSERT_EQ(sink.events.size(), 4u);
  EXPECT_EQ(sink.events[1].operation, "write");
  EXPECT_EQ(sink.events[1].bytes, 3u);
  EXPECT_EQ(sink.events[1].sha256, "");
  EXPECT_EQ(sink.events[3].operation, "read");
  EXPECT_EQ(sink.events[3].sha256, "");
}

TEST_F(SftpObserverTest, WithoutTruncOnlyCuttingToTheWrittenSizeMakesItWhole) {
  // scp's sftp mode: open without TRUNC, write, then fsetstat the size written.
  for (uint64_t size : {3u, 10u}) {
    sink.events.clear();
    obs.from_client(open_req(1, "/s", kWrite | kCreat));
    obs.from_target(handle(1, "s"));
    obs.from_client(write_req(2, "s", 0, "abc"));
    obs.from_client(pkt(10, [&](Writer& w) { w.u32(3).string("s").u32(1).u64(size); }));
    obs.from_client(close_req(4, "s"));
    obs.from_target(cat({status(2, 0), status(3, 0), status(4, 0)}));
    ASSERT_EQ(sink.events.size(), 3u);
    EXPECT_EQ(describe(sink.events[1]), "fsetstat /s size=" + std::to_string(size) + " ok");
    EXPECT_EQ(sink.events[2].operation, "write");
    EXPECT_EQ(sink.events[2].sha256, size == 3 ? sha256_hex("abc") : "");
  }
}

TEST_F(SftpObserverTest, ErrorsAreReportedWithTheServersStatus) {
  obs.from_client(open_req(1, "/root/secret", kRead));
  obs.from_target(status(1, 3));
  obs.from_client(open_req(2, "/tmp/f", kWrite | kCreat | kTrunc));
  obs.from_target(handle(2, "w"));
  obs.from_client(write_req(3, "w", 0, "data"));
  obs.from_target(status(3, 4));  // the write failed: no hash, the close says so
  obs.from_client(close_req(4, "w"));
  obs.from_target(status(4, 0));
  ASSERT_EQ(sink.events.size(), 3u);
  EXPECT_EQ(describe(sink.events[0]), "open /root/secret flags=read error: permission denied");
  EXPECT_EQ(sink.events[2].result, "error: failure (write)");
  EXPECT_EQ(sink.events[2].sha256, "");
}

TEST_F(SftpObserverTest, PathOperations) {
  obs.from_client(pkt(14, [](Writer& w) { w.u32(1).string("/d").u32(4).u32(0755); }));
  obs.from_client(path_req(15, 2, "/old"));
  obs.from_client(path_req(13, 3, "/f"));
  obs.from_client(pkt(18, [](Writer& w) { w.u32(4).string("/a").string("/b"); }));
  obs.from_client(pkt(20, [](Writer& w) { w.u32(5).string("target").string("/link"); }));
  obs.from_client(pkt(9, [](Writer& w) { w.u32(6).string("/f2").u32(4).u32(0600); }));
  obs.from_client(pkt(200, [](Writer& w) {
    w.u32(7).string("posix-rename@openssh.com").string("/c").string("/d2");
  }));
  obs.from_client(path_req(17, 8, "/stat-is-not-reported"));
  // Answers in another order than asked: matched by id.
  obs.from_target(cat({status(8, 0), status(7, 0), status(6, 0), status(5, 0), status(4, 2),
                       status(3, 0), status(2, 0), status(1, 0)}));
  std::vector<std::string> got;
  for (const auto& e : sink.events) got.push_back(describe(e));
  EXPECT_EQ(got, (std::vector<std::string>{"rename /c -> /d2 ok", "setstat /f2 mode=0600 ok",
                                           "symlink /link -> target ok",
                                           "rename /a -> /b error: no such file", "remove /f ok",
                                           "rmdir /old ok", "mkdir /d mode=0755 ok"}));
}

TEST_F(SftpObserverTest, FilesOpenAtChannelCloseAreReported) {
  obs.from_client(open_req(1, "/x", kWrite | kCreat | kTrunc));
  obs.from_target(handle(1, "w"));
  obs.from_client(write_req(2, "w", 0, "abc"));
  obs.finish();
  ASSERT_EQ(sink.events.size(), 2u);
  EXPECT_EQ(sink.events[1].result, "error: channel closed");
  EXPECT_EQ(sink.events[1].sha256, "");
}

TEST_F(SftpObserverTest, OversizedPacketStopsObservingWithOneEvent) {
  Bytes huge = {0x7f, 0xff, 0xff, 0xff, 6};
  obs.from_client(huge);
  obs.from_client(open_req(1, "/x", kRead));
  obs.from_target(handle(1, "h"));
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.events[0].operation, "lost");
  EXPECT_NE(sink.events[0].result.find("file-events lost"), std::string::npos);
  EXPECT_TRUE(obs.lost());
}

TEST_F(SftpObserverTest, GarbageStopsObserving) {
  obs.from_target(pkt(101, [](Writer& w) { w.u8(1); }));  // too short for id and code
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.events[0].operation, "lost");
}

TEST_F(SftpObserverTest, TooManyOutstandingRequestsStopsObserving) {
  Bytes many;
  for (uint32_t i = 0; i <= SftpObserver::kMaxOutstanding; ++i) {
    Bytes p = path_req(13, i, "/f");
    many.insert(many.end(), p.begin(), p.end());
  }
  obs.from_client(many);
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.events[0].result, "file-events lost: too many requests outstanding");
}

TEST_F(SftpObserverTest, TooManyOpenFilesStopsObserving) {
  for (uint32_t i = 0; i <= SftpObserver::kMaxHandles; ++i) {
    obs.from_client(open_req(i, "/f", kRead));
    obs.from_target(handle(i, "h" + std::to_string(i)));
  }
  EXPECT_TRUE(obs.lost());
  EXPECT_EQ(sink.events.back().result, "file-events lost: too many open files");
  EXPECT_EQ(sink.events.size(), SftpObserver::kMaxHandles + 1);
}

TEST(SftpObserverVersion, OtherVersionsAreNotFollowed) {
  Collect sink;
  SftpObserver obs(sink);
  obs.from_client(init());
  obs.from_target(version(6));
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.events[0].result, "file-events lost: sftp version 6");
}

TEST(FileEventPath, LongAndControlPathsAreBounded) {
  std::string p(2000, 'a');
  p[3] = '\n';
  std::string b = bounded_path(p);
  EXPECT_EQ(b.size(), kMaxEventPath + 3);
  EXPECT_EQ(b[3], '?');
}

}  // namespace
}  // namespace postern::bastion
