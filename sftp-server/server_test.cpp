// The SFTP core driven in memory: requests in as bytes, replies parsed back, against a
// scratch directory. No client, no pipes.
#include "sftp-server/server.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>

namespace postern::sftp {
namespace {

namespace fs = std::filesystem;

struct Reply {
  uint8_t type = 0;
  Bytes body;  // after the type byte
};

class SftpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sftp-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    m_dir = fs::canonical(tmpl).string();
    m_options.user = "tester";
    m_options.home = m_dir;
    m_options.start_directory = m_dir;
  }
  void TearDown() override {
    m_server.reset();
    fs::remove_all(m_dir);
  }

  void start(bool init = true) {
    m_server.reset();
    m_extensions.clear();
    m_server = std::make_unique<Server>(m_options);
    if (!init) return;
    Writer w;
    w.u8(kFxpInit).u32(3);
    send_packet(w.buffer());
    Reply r = next();
    ASSERT_EQ(r.type, kFxpVersion);
    Reader rd(r.body);
    ASSERT_EQ(rd.u32(), 3u);
    while (!rd.done()) {
      std::string name(rd.text());
      m_extensions[name] = std::string(rd.text());
    }
  }

  void send_packet(ByteView payload) {
    Writer w;
    w.u32(uint32_t(payload.size())).raw(payload);
    m_server->received_data(w.buffer());
  }

  // A request: type, id, then the fields the caller wrote.
  template <typename F>
  void request(uint8_t type, uint32_t id, F fields) {
    Writer w;
    w.u8(type).u32(id);
    fields(w);
    send_packet(w.buffer());
  }
  template <typename F>
  void extended(const char* name, uint32_t id, F fields) {
    request(kFxpExtended, id, [&](Writer& w) {
      w.string(name);
      fields(w);
    });
  }

  bool has_reply() const { return m_server->output().size() >= 4; }

  Reply next() {
    ByteView out = m_server->output();
    EXPECT_GE(out.size(), 5u);
    if (out.size() < 5) return {};
    Reader r(out);
    uint32_t len = r.u32();
    EXPECT_GE(out.size(), 4 + size_t(len));
    Reply reply;
    reply.type = out[4];
    reply.body.assign(out.begin() + 5, out.begin() + 4 + len);
    m_server->consume_output(4 + len);
    return reply;
  }

  // The status code of a STATUS reply to `id`.
  uint32_t status(uint32_t id) {
    Reply r = next();
    EXPECT_EQ(r.type, kFxpStatus);
    if (r.type != kFxpStatus) return 0xffffffff;
    Reader rd(r.body);
    EXPECT_EQ(rd.u32(), id);
    uint32_t code = rd.u32();
    EXPECT_EQ(rd.text(), status_message(code));
    rd.text();
    return code;
  }

  Bytes handle_reply(uint32_t id) {
    Reply r = next();
    EXPECT_EQ(r.type, kFxpHandle);
    if (r.type != kFxpHandle) return {};
    Reader rd(r.body);
    EXPECT_EQ(rd.u32(), id);
    auto h = rd.string();
    return Bytes(h.begin(), h.end());
  }

  Bytes open(const std::string& path, uint32_t pflags, uint32_t id = 1) {
    request(kFxpOpen, id, [&](Writer& w) {
      w.string(path).u32(pflags);
      write_attrs(w, Attrs{});
    });
    return handle_reply(id);
  }

  void write_data(const Bytes& h, uint64_t offset, std::string_view data, uint32_t id = 2) {
    request(kFxpWrite, id, [&](Writer& w) { w.string(ByteView(h)).u64(offset).string(data); });
    EXPECT_EQ(status(id), kFxOk);
  }

  void close(const Bytes& h, uint32_t id = 3) {
    request(kFxpClose, id, [&](Writer& w) { w.string(ByteView(h)); });
    EXPECT_EQ(status(id), kFxOk);
  }

  // The NAME reply's (filename, longname) pairs.
  std::vector<std::pair<std::string, std::string>> names(uint32_t id) {
    Reply r = next();
    EXPECT_EQ(r.type, kFxpName);
    std::vector<std::pair<std::string, std::string>> out;
    if (r.type != kFxpName) return out;
    Reader rd(r.body);
    EXPECT_EQ(rd.u32(), id);
    uint32_t n = rd.u32();
    for (uint32_t i = 0; i < n; ++i) {
      std::string f(rd.text());
      std::string l(rd.text());
      read_attrs(rd);
      out.emplace_back(f, l);
    }
    EXPECT_TRUE(rd.done());
    return out;
  }

  Attrs attrs_reply(uint32_t id) {
    Reply r = next();
    EXPECT_EQ(r.type, kFxpAttrs);
    if (r.type != kFxpAttrs) return {};
    Reader rd(r.body);
    EXPECT_EQ(rd.u32(), id);
    return read_attrs(rd);
  }

  std::string path(const std::string& name) const { return m_dir + "/" + name; }
  void make_file(const std::string& name, std::string_view content) {
    std::ofstream(path(name)) << content;
  }
  std::string slurp(const std::string& name) const {
    std::ifstream in(path(name));
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::string m_dir;
  ServerOptions m_options;
  std::unique_ptr<Server> m_server;
  std::map<std::string, std::string> m_extensions;
};

TEST_F(SftpServerTest, VersionAdvertisesOpenSshExtensions) {
  start();
  EXPECT_EQ(m_extensions["posix-rename@openssh.com"], "1");
  EXPECT_EQ(m_extensions["statvfs@openssh.com"], "2");
  EXPECT_EQ(m_extensions["fstatvfs@openssh.com"], "2");
  EXPECT_EQ(m_extensions["hardlink@openssh.com"], "1");
  EXPECT_EQ(m_extensions["fsync@openssh.com"], "1");
  EXPECT_EQ(m_extensions["lsetstat@openssh.com"], "1");
  EXPECT_EQ(m_extensions["limits@openssh.com"], "1");
  EXPECT_EQ(m_extensions["expand-path@openssh.com"], "1");
  EXPECT_EQ(m_extensions["copy-data"], "1");
  EXPECT_EQ(m_extensions["home-directory"], "1");
  EXPECT_EQ(m_extensions["users-groups-by-id@openssh.com"], "1");
  EXPECT_EQ(m_extensions.size(), 11u);
}

TEST_F(SftpServerTest, ReadOnlyHidesWritingExtensions) {
  m_options.read_only = true;
  start();
  EXPECT_FALSE(m_extensions.count("posix-rename@openssh.com"));
  EXPECT_FALSE(m_extensions.count("hardlink@openssh.com"));
  EXPECT_FALSE(m_extensions.count("fsync@openssh.com"));
  EXPECT_FALSE(m_extensions.count("lsetstat@openssh.com"));
  EXPECT_FALSE(m_extensions.count("copy-data"));
  EXPECT_TRUE(m_extensions.count("statvfs@openssh.com"));
  EXPECT_TRUE(m_extensions.count("limits@openssh.com"));
}

TEST_F(SftpServerTest, WriteThenReadBack) {
  start();
  Bytes h = open("f", kFxfWrite | kFxfCreat | kFxfTrunc);
  ASSERT_EQ(h.size(), kHandleSize);
  write_data(h, 0, "hello ");
  write_data(h, 6, "world");
  close(h);
  EXPECT_EQ(slurp("f"), "hello world");

  h = open(path("f"), kFxfRead);
  request(kFxpRead, 4, [&](Writer& w) { w.string(ByteView(h)).u64(6).u32(100); });
  Reply r = next();
  ASSERT_EQ(r.type, kFxpData);
  Reader rd(r.body);
  EXPECT_EQ(rd.u32(), 4u);
  EXPECT_EQ(rd.text(), "world");
  request(kFxpRead, 5, [&](Writer& w) { w.string(ByteView(h)).u64(11).u32(100); });
  EXPECT_EQ(status(5), kFxEof);
  close(h);
}

TEST_F(SftpServerTest, LargeReadIsClampedToTheAdvertisedLimit) {
  start();
  make_file("big", std::string(kMaxReadLength + 5000, 'x'));
  Bytes h = open("big", kFxfRead);
  request(kFxpRead, 7, [&](Writer& w) { w.string(ByteView(h)).u64(0).u32(0xffffffff); });
  Reply r = next();
  ASSERT_EQ(r.type, kFxpData);
  Reader rd(r.body);
  rd.u32();
  EXPECT_EQ(rd.string(kMaxPacketLength).size(), kMaxReadLength);
}

TEST_F(SftpServerTest, LimitsReply) {
  m_options.max_handles = 7;
  start();
  extended("limits@openssh.com", 9, [](Writer&) {});
  Reply r = next();
  ASSERT_EQ(r.type, kFxpExtendedReply);
  Reader rd(r.body);
  EXPECT_EQ(rd.u32(), 9u);
  EXPECT_EQ(rd.u64(), kMaxPacketLength);
  EXPECT_EQ(rd.u64(), kMaxReadLength);
  EXPECT_EQ(rd.u64(), kMaxWriteLength);
  EXPECT_EQ(rd.u64(), 7u);
}

TEST_F(SftpServerTest, HandleLimitAndUnknownHandles) {
  m_options.max_handles = 2;
  start();
  make_file("a", "1");
  Bytes h1 = open("a", kFxfRead, 1);
  Bytes h2 = open("a", kFxfRead, 2);
  request(kFxpOpen, 3, [&](Writer& w) {
    w.string("a").u32(kFxfRead);
    write_attrs(w, Attrs{});
  });
  EXPECT_EQ(status(3), kFxFailure);
  request(kFxpOpendir, 4, [&](Writer& w) { w.string("."); });
  EXPECT_EQ(status(4), kFxFailure);
  close(h1);
  // A closed handle is stale even when its slot is reused.
  Bytes h3 = open("a", kFxfRead, 5);
  EXPECT_NE(h1, h3);
  request(kFxpRead, 6, [&](Writer& w) { w.string(ByteView(h1)).u64(0).u32(10); });
  EXPECT_EQ(status(6), kFxFailure);
  request(kFxpClose, 7, [&](Writer& w) { w.string("bogus"); });
  EXPECT_EQ(status(7), kFxFailure);
  request(kFxpWrite, 8, [&](Writer& w) { w.string("12345678").u64(0).string("x"); });
  EXPECT_EQ(status(8), kFxFailure);
  // A directory handle is not a file handle.
  close(h2);
  request(kFxpOpendir, 9, [&](Writer& w) { w.string("."); });
  Bytes d = handle_reply(9);
  request(kFxpRead, 10, [&](Writer& w) { w.string(ByteView(d)).u64(0).u32(10); });
  EXPECT_EQ(status(10), kFxFailure);
  EXPECT_EQ(m_server->open_handles(), 2u);
}

TEST_F(SftpServerTest, OpenErrorsMapToStatus) {
  start();
  request(kFxpOpen, 1, [&](Writer& w) {
    w.string("missing").u32(kFxfRead);
    write_attrs(w, Attrs{});
  });
  EXPECT_EQ(status(1), kFxNoSuchFile);
  make_file("x", "");
  request(kFxpOpen, 2, [&](Writer& w) {
    w.string("x").u32(kFxfWrite | kFxfCreat | kFxfExcl);
    write_attrs(w, Attrs{});
  });
  EXPECT_EQ(status(2), kFxFailure);
}

TEST_F(SftpServerTest, FifoNeverBlocks) {
  start();
  ASSERT_EQ(mkfifo(path("fifo").c_str(), 0600), 0);
  Bytes h = open("fifo", kFxfRead, 1);
  request(kFxpRead, 2, [&](Writer& w) { w.string(ByteView(h)).u64(0).u32(10); });
  EXPECT_EQ(status(2), kFxFailure);  // ESPIPE: not a file one can read at an offset
  close(h, 4);
  request(kFxpOpen, 3, [&](Writer& w) {
    w.string("fifo").u32(kFxfWrite);
    write_attrs(w, Attrs{});
  });
  EXPECT_EQ(status(3), kFxFailure);  // ENXIO: nobody reads it
}

TEST_F(SftpServerTest, OpenWithPermissions) {
  start();
  request(kFxpOpen, 1, [&](Writer& w) {
    w.string("p").u32(kFxfWrite | kFxfCreat);
    Attrs a;
    a.flags = kAttrPermissions;
    a.permissions = 0600;
    write_attrs(w, a);
  });
  Bytes h = handle_reply(1);
  close(h);
  struct stat st;
  ASSERT_EQ(stat(path("p").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(SftpServerTest, StatLstatFstat) {
  start();
  make_file("s", "12345");
  ASSERT_EQ(symlink("s", path("l").c_str()), 0);
  request(kFxpStat, 1, [&](Writer& w) { w.string("l"); });
  Attrs a = attrs_reply(1);
  EXPECT_EQ(a.flags, kAttrSize | kAttrUidGid | kAttrPermissions | kAttrAcModTime);
  EXPECT_EQ(a.size, 5u);
  EXPECT_TRUE(S_ISREG(a.permissions));
  request(kFxpLstat, 2, [&](Writer& w) { w.string("l"); });
  EXPECT_TRUE(S_ISLNK(attrs_reply(2).permissions));
  Bytes h = open("s", kFxfRead, 3);
  request(kFxpFstat, 4, [&](Writer& w) { w.string(ByteView(h)); });
  EXPECT_EQ(attrs_reply(4).size, 5u);
  request(kFxpStat, 5, [&](Writer& w) { w.string("nope"); });
  EXPECT_EQ(status(5), kFxNoSuchFile);
}

TEST_F(SftpServerTest, SetstatAndFsetstat) {
  start();
  make_file("s", "123456789");
  request(kFxpSetstat, 1, [&](Writer& w) {
    w.string("s");
    Attrs a;
    a.flags = kAttrPermissions | kAttrSize | kAttrAcModTime;
    a.permissions = 0640;
    a.size = 4;
    a.atime = 1000000000;
    a.mtime = 1200000000;
    write_attrs(w, a);
  });
  EXPECT_EQ(status(1), kFxOk);
  struct stat st;
  ASSERT_EQ(stat(path("s").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_size, 4);
  EXPECT_EQ(st.st_mtime, 1200000000);
  EXPECT_EQ(st.st_atime, 1000000000);

  Bytes h = open("s", kFxfWrite, 2);
  request(kFxpFsetstat, 3, [&](Writer& w) {
    w.string(ByteView(h));
    Attrs a;
    a.flags = kAttrSize;
    a.size = 1;
    write_attrs(w, a);
  });
  EXPECT_EQ(status(3), kFxOk);
  EXPECT_EQ(slurp("s"), "1");
  request(kFxpSetstat, 4, [&](Writer& w) {
    w.string("missing");
    Attrs a;
    a.flags = kAttrPermissions;
    a.permissions = 0600;
    write_attrs(w, a);
  });
  EXPECT_EQ(status(4), kFxNoSuchFile);
}

TEST_F(SftpServerTest, DirectoryListing) {
  start();
  for (int i = 0; i < 250; ++i) make_file("f" + std::to_string(i), "x");
  request(kFxpOpendir, 1, [&](Writer& w) { w.string(m_dir); });
  Bytes h = handle_reply(1);
  std::set<std::string> seen;
  for (uint32_t id = 2;; ++id) {
    request(kFxpReaddir, id, [&](Writer& w) { w.string(ByteView(h)); });
    if (m_server->output()[4] == kFxpStatus) {
      EXPECT_EQ(status(id), kFxEof);
      break;
    }
    auto batch = names(id);
    EXPECT_LE(batch.size(), 100u);
    for (auto& [f, l] : batch) {
      EXPECT_NE(l.find(f), std::string::npos);
      seen.insert(f);
    }
  }
  EXPECT_EQ(seen.size(), 252u);  // with . and ..
  EXPECT_TRUE(seen.count("f249"));
  close(h, 99);
  request(kFxpOpendir, 100, [&](Writer& w) { w.string("missing"); });
  EXPECT_EQ(status(100), kFxNoSuchFile);
}

TEST_F(SftpServerTest, LongNameLooksLikeLs) {
  start();
  make_file("n", "abc");
  chmod(path("n").c_str(), 0640);
  request(kFxpOpendir, 1, [&](Writer& w) { w.string("."); });
  Bytes h = handle_reply(1);
  request(kFxpReaddir, 2, [&](Writer& w) { w.string(ByteView(h)); });
  for (auto& [f, l] : names(2))
    if (f == "n") {
      EXPECT_EQ(l.substr(0, 10), "-rw-r-----");
      EXPECT_EQ(l.substr(l.size() - 2), " n");
      EXPECT_NE(l.find(" 3 "), std::string::npos);
    }
}

TEST_F(SftpServerTest, MkdirRmdirRemove) {
  start();
  request(kFxpMkdir, 1, [&](Writer& w) {
    w.string("d");
    Attrs a;
    a.flags = kAttrPermissions;
    a.permissions = 0700;
    write_attrs(w, a);
  });
  EXPECT_EQ(status(1), kFxOk);
  struct stat st;
  ASSERT_EQ(stat(path("d").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  request(kFxpMkdir, 2, [&](Writer& w) {
    w.string("d");
    write_attrs(w, Attrs{});
  });
  EXPECT_EQ(status(2), kFxFailure);  // EEXIST
  make_file("d/inner", "");
  request(kFxpRmdir, 3, [&](Writer& w) { w.string("d"); });
  EXPECT_EQ(status(3), kFxFailure);  // ENOTEMPTY
  request(kFxpRemove, 4, [&](Writer& w) { w.string("d/inner"); });
  EXPECT_EQ(status(4), kFxOk);
  request(kFxpRmdir, 5, [&](Writer& w) { w.string("d"); });
  EXPECT_EQ(status(5), kFxOk);
  request(kFxpRemove, 6, [&](Writer& w) { w.string("d"); });
  EXPECT_EQ(status(6), kFxNoSuchFile);
}

TEST_F(SftpServerTest, Realpath) {
  start();
  request(kFxpRealpath, 1, [&](Writer& w) { w.string("."); });
  EXPECT_EQ(names(1)[0].first, m_dir);
  request(kFxpRealpath, 2, [&](Writer& w) { w.string(""); });
  EXPECT_EQ(names(2)[0].first, m_dir);
  fs::create_directory(path("sub"));
  request(kFxpRealpath, 3, [&](Writer& w) { w.string("sub/../sub/./new-file"); });
  EXPECT_EQ(names(3)[0].first, path("sub/new-file"));
  request(kFxpRealpath, 4, [&](Writer& w) { w.string("no/such/dir"); });
  EXPECT_EQ(status(4), kFxNoSuchFile);
  request(kFxpRealpath, 5, [&](Writer& w) { w.string("/"); });
  EXPECT_EQ(names(5)[0].first, "/");
}

TEST_F(SftpServerTest, RenameRefusesToReplacePosixRenameReplaces) {
  start();
  make_file("a", "A");
  make_file("b", "B");
  request(kFxpRename, 1, [&](Writer& w) { w.string("a").string("b"); });
  EXPECT_EQ(status(1), kFxFailure);
  EXPECT_EQ(slurp("b"), "B");
  request(kFxpRename, 2, [&](Writer& w) { w.string("a").string("c"); });
  EXPECT_EQ(status(2), kFxOk);
  EXPECT_EQ(slurp("c"), "A");
  extended("posix-rename@openssh.com", 3, [](Writer& w) { w.string("c").string("b"); });
  EXPECT_EQ(status(3), kFxOk);
  EXPECT_EQ(slurp("b"), "A");
  request(kFxpRename, 4, [&](Writer& w) { w.string("missing").string("z"); });
  EXPECT_EQ(status(4), kFxNoSuchFile);
}

TEST_F(SftpServerTest, SymlinkReadlinkHardlink) {
  start();
  make_file("t", "T");
  // PROTOCOL §4.1: target first, then the new link.
  request(kFxpSymlink, 1, [&](Writer& w) { w.string("t").string("l"); });
  EXPECT_EQ(status(1), kFxOk);
  request(kFxpReadlink, 2, [&](Writer& w) { w.string("l"); });
  EXPECT_EQ(names(2)[0].first, "t");
  request(kFxpReadlink, 3, [&](Writer& w) { w.string("t"); });
  EXPECT_EQ(status(3), kFxBadMessage);  // EINVAL: not a link
  extended("hardlink@openssh.com", 4, [](Writer& w) { w.string("t").string("h"); });
  EXPECT_EQ(status(4), kFxOk);
  EXPECT_EQ(slurp("h"), "T");
}

TEST_F(SftpServerTest, StatvfsAndFstatvfs) {
  start();
  extended("statvfs@openssh.com", 1, [&](Writer& w) { w.string(m_dir); });
  Reply r = next();
  ASSERT_EQ(r.type, kFxpExtendedReply);
  EXPECT_EQ(r.body.size(), 4u + 11 * 8);
  make_file("f", "");
  Bytes h = open("f", kFxfRead, 2);
  extended("fstatvfs@openssh.com", 3, [&](Writer& w) { w.string(ByteView(h)); });
  r = next();
  ASSERT_EQ(r.type, kFxpExtendedReply);
  extended("statvfs@openssh.com", 4, [&](Writer& w) { w.string("missing/x"); });
  EXPECT_EQ(status(4), kFxNoSuchFile);
}

TEST_F(SftpServerTest, FsyncAndLsetstat) {
  start();
  Bytes h = open("f", kFxfWrite | kFxfCreat, 1);
  extended("fsync@openssh.com", 2, [&](Writer& w) { w.string(ByteView(h)); });
  EXPECT_EQ(status(2), kFxOk);
  ASSERT_EQ(symlink("f", path("l").c_str()), 0);
  extended("lsetstat@openssh.com", 3, [&](Writer& w) {
    w.string("l");
    Attrs a;
    a.flags = kAttrAcModTime;
    a.atime = a.mtime = 1234567890;
    write_attrs(w, a);
  });
  EXPECT_EQ(status(3), kFxOk);
  struct stat st;
  ASSERT_EQ(lstat(path("l").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtime, 1234567890);
  ASSERT_EQ(stat(path("f").c_str(), &st), 0);
  EXPECT_NE(st.st_mtime, 1234567890);
}

TEST_F(SftpServerTest, ExpandPathAndHomeDirectory) {
  start();
  fs::create_directory(path("docs"));
  extended("expand-path@openssh.com", 1, [](Writer& w) { w.string("~/docs"); });
  EXPECT_EQ(names(1)[0].first, path("docs"));
  extended("expand-path@openssh.com", 2, [](Writer& w) { w.string("~"); });
  EXPECT_EQ(names(2)[0].first, m_dir);
  extended("expand-path@openssh.com", 3, [](Writer& w) { w.string("~root"); });
  EXPECT_EQ(names(3)[0].first, fs::canonical("/root").string());
  extended("expand-path@openssh.com", 4, [](Writer& w) { w.string("~no-such-user-here/x"); });
  EXPECT_EQ(status(4), kFxNoSuchFile);
  extended("home-directory", 5, [](Writer& w) { w.string(""); });
  EXPECT_EQ(names(5)[0].first, m_dir);
  extended("home-directory", 6, [](Writer& w) { w.string("root"); });
  EXPECT_EQ(names(6)[0].first, "/root");
}

TEST_F(SftpServerTest, CopyData) {
  start();
  make_file("src", "0123456789");
  Bytes from = open("src", kFxfRead, 1);
  Bytes to = open("dst", kFxfWrite | kFxfCreat, 2);
  extended("copy-data", 3,
           [&](Writer& w) { w.string(ByteView(from)).u64(2).u64(5).string(ByteView(to)).u64(1); });
  EXPECT_EQ(status(3), kFxOk);
  EXPECT_EQ(slurp("dst"), std::string("\0"
                                      "23456",
                                      6));
  // Length 0 copies to the end of the source.
  extended("copy-data", 4,
           [&](Writer& w) { w.string(ByteView(from)).u64(8).u64(0).string(ByteView(to)).u64(6); });
  EXPECT_EQ(status(4), kFxOk);
  EXPECT_EQ(slurp("dst"), std::string("\0"
                                      "2345689",
                                      8));
  extended("copy-data", 5, [&](Writer& w) {
    w.string(ByteView(from)).u64(0).u64(1).string(ByteView(from)).u64(0);
  });
  EXPECT_EQ(status(5), kFxFailure);
  extended("copy-data", 6,
           [&](Writer& w) { w.string(ByteView(to)).u64(0).u64(1).string(ByteView(from)).u64(0); });
  EXPECT_EQ(status(6), kFxPermissionDenied);
}

TEST_F(SftpServerTest, UsersGroupsById) {
  start();
  extended("users-groups-by-id@openssh.com", 1, [](Writer& w) {
    Writer ids;
    ids.u32(0).u32(0x7ffffff0);
    w.string(ByteView(ids.buffer()));
    Writer gids;
    gids.u32(0);
    w.string(ByteView(gids.buffer()));
  });
  Reply r = next();
  ASSERT_EQ(r.type, kFxpExtendedReply);
  Reader rd(r.body);
  rd.u32();
  Reader users(rd.string());
  EXPECT_EQ(users.text(), "root");
  EXPECT_EQ(users.text(), "");
  EXPECT_TRUE(users.done());
  Reader groups(rd.string());
  EXPECT_EQ(groups.text(), "root");
  extended("users-groups-by-id@openssh.com", 2, [](Writer& w) { w.string("abc").string(""); });
  EXPECT_EQ(status(2), kFxBadMessage);
}

TEST_F(SftpServerTest, ReadOnlyRefusesChanges) {
  m_options.read_only = true;
  start();
  make_file("f", "x");
  request(kFxpOpen, 1, [&](Writer& w) {
    w.string("f").u32(kFxfWrite);
    write_attrs(w, Attrs{});
  });
  EXPECT_EQ(status(1), kFxPermissionDenied);
  request(kFxpOpen, 2, [&](Writer& w) {
    w.string("g").u32(kFxfRead | kFxfCreat);
    write_attrs(w, Attrs{});
  });
  EXPECT_EQ(status(2), kFxPermissionDenied);
  EXPECT_FALSE(fs::exists(path("g")));
  request(kFxpMkdir, 3, [&](Writer& w) {
    w.string("d");
    write_attrs(w, Attrs{});
  });
  EXPECT_EQ(status(3), kFxPermissionDenied);
  request(kFxpRemove, 4, [&](Writer& w) { w.string("f"); });
  EXPECT_EQ(status(4), kFxPermissionDenied);
  extended("posix-rename@openssh.com", 5, [](Writer& w) { w.string("f").string("g"); });
  EXPECT_EQ(status(5), kFxPermissionDenied);
  EXPECT_TRUE(fs::exists(path("f")));
  Bytes h = open("f", kFxfRead, 6);  // reading is fine
  EXPECT_EQ(h.size(), kHandleSize);
}

TEST_F(SftpServerTest, DenyAndAllowLists) {
  m_options.denied = "mkdir,posix-rename";
  start();
  EXPECT_FALSE(m_extensions.count("posix-rename@openssh.com"));
  request(kFxpMkdir, 1, [&](Writer& w) {
    w.string("d");
    write_attrs(w, Attrs{});
  });
  EXPECT_EQ(status(1), kFxPermissionDenied);
  m_server.reset();

  m_options.denied.reset();
  m_options.allowed = "realpath,stat";
  start();
  EXPECT_TRUE(m_extensions.empty());
  request(kFxpStat, 2, [&](Writer& w) { w.string("."); });
  attrs_reply(2);
  request(kFxpLstat, 3, [&](Writer& w) { w.string("."); });
  EXPECT_EQ(status(3), kFxPermissionDenied);
}

TEST_F(SftpServerTest, MalformedRequestsGetStatuses) {
  start();
  // OPEN cut short inside its path string.
  request(kFxpOpen, 1, [](Writer& w) { w.u32(100).raw(as_bytes("abc")); });
  EXPECT_EQ(status(1), kFxBadMessage);
  request(kFxpStat, 2, [](Writer& w) { w.string(std::string_view("a\0b", 3)); });
  EXPECT_EQ(status(2), kFxBadMessage);
  request(99, 3, [](Writer&) {});
  EXPECT_EQ(status(3), kFxOpUnsupported);
  extended("nonsense@example.com", 4, [](Writer&) {});
  EXPECT_EQ(status(4), kFxOpUnsupported);
  request(kFxpExtended, 5, [](Writer& w) { w.u32(1000); });
  EXPECT_EQ(status(5), kFxBadMessage);
  // A write whose data length overruns the packet.
  request(kFxpWrite, 6,
          [](Writer& w) { w.string("12345678").u64(0).u32(5000).raw(as_bytes("x")); });
  EXPECT_EQ(status(6), kFxBadMessage);
  // Extended attributes in ATTRS are accepted and skipped; an absurd count is not.
  request(kFxpMkdir, 7,
          [](Writer& w) { w.string("d").u32(kAttrExtended).u32(1).string("t").string("v"); });
  EXPECT_EQ(status(7), kFxOk);
  request(kFxpMkdir, 8, [](Writer& w) { w.string("e").u32(kAttrExtended).u32(1u << 30); });
  EXPECT_EQ(status(8), kFxBadMessage);
  EXPECT_FALSE(has_reply());
}

TEST_F(SftpServerTest, FramingViolationsThrow) {
  start();
  Writer w;
  w.u32(0);
  EXPECT_THROW(m_server->received_data(w.buffer()), ProtocolError);

  start();
  Writer big;
  big.u32(kMaxPacketLength + 1);
  EXPECT_THROW(m_server->received_data(big.buffer()), ProtocolError);

  start();
  Writer no_id;
  no_id.u32(3).u8(kFxpStat).u8(0).u8(0);
  EXPECT_THROW(m_server->received_data(no_id.buffer()), ProtocolError);

  start(false);
  Writer early;
  early.u32(5).u8(kFxpStat).u32(1);
  EXPECT_THROW(m_server->received_data(early.buffer()), ProtocolError);

  start();
  Writer again;
  again.u32(5).u8(kFxpInit).u32(3);
  EXPECT_THROW(m_server->received_data(again.buffer()), ProtocolError);
}

TEST_F(SftpServerTest, ByteAtATimeInput) {
  start();
  Writer w;
  for (uint32_t id = 1; id <= 3; ++id) {
    Writer p;
    p.u8(kFxpRealpath).u32(id).string(".");
    w.u32(uint32_t(p.size())).raw(p.buffer());
  }
  for (uint8_t b : w.buffer()) m_server->received_data(ByteView(&b, 1));
  for (uint32_t id = 1; id <= 3; ++id) EXPECT_EQ(names(id)[0].first, m_dir);
}

TEST_F(SftpServerTest, OutputBacklogHoldsRequestsBack) {
  start();
  make_file("big", std::string(kMaxReadLength, 'y'));
  Bytes h = open("big", kFxfRead);
  Writer all;
  const uint32_t kRequests = 64;
  for (uint32_t id = 10; id < 10 + kRequests; ++id) {
    Writer p;
    p.u8(kFxpRead).u32(id).string(ByteView(h)).u64(0).u32(kMaxReadLength);
    all.u32(uint32_t(p.size())).raw(p.buffer());
  }
  m_server->received_data(all.buffer());
  EXPECT_FALSE(m_server->wants_input());
  EXPECT_LT(m_server->output().size(), kOutputHighWater + kMaxPacketLength);
  uint32_t got = 0;
  while (got < kRequests) {
    if (!has_reply()) {
      ASSERT_TRUE(m_server->has_unprocessed_input());
      m_server->process();
      continue;
    }
    Reply r = next();
    ASSERT_EQ(r.type, kFxpData);
    Reader rd(r.body);
    EXPECT_EQ(rd.u32(), 10 + got);
    ++got;
  }
  EXPECT_FALSE(m_server->has_unprocessed_input());
  EXPECT_TRUE(m_server->wants_input());
}

TEST_F(SftpServerTest, StartDirectoryAndUmask) {
  fs::create_directory(path("start"));
  m_options.start_directory = path("start");
  m_options.umask = 077;
  start();
  request(kFxpRealpath, 1, [&](Writer& w) { w.string("."); });
  EXPECT_EQ(names(1)[0].first, path("start"));
  Bytes h = open("created", kFxfWrite | kFxfCreat, 2);
  close(h);
  struct stat st;
  ASSERT_EQ(stat(path("start/created").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ::umask(022);
}

// Random and mutated requests: every one gets an answer or a ProtocolError, nothing else.
// Read-only, so whatever paths the noise spells, nothing on disk changes.
TEST_F(SftpServerTest, RandomRequestsNeverCrash) {
  m_options.read_only = true;
  m_options.max_handles = 16;
  make_file("f", "some content");
  uint32_t seed = 12345;
  auto rnd = [&]() {
    seed = seed * 1103515245 + 12345;
    return seed >> 8;
  };
  const uint8_t kTypes[] = {
      kFxpOpen,     kFxpClose,   kFxpRead,     kFxpWrite,   kFxpLstat,    kFxpFstat, kFxpSetstat,
      kFxpFsetstat, kFxpOpendir, kFxpReaddir,  kFxpRemove,  kFxpMkdir,    kFxpRmdir, kFxpRealpath,
      kFxpStat,     kFxpRename,  kFxpReadlink, kFxpSymlink, kFxpExtended, 0,         250};
  const char* kExt[] = {"limits@openssh.com",
                        "statvfs@openssh.com",
                        "fstatvfs@openssh.com",
                        "expand-path@openssh.com",
                        "home-directory",
                        "copy-data",
                        "users-groups-by-id@openssh.com",
                        "fsync@openssh.com"};
  for (int round = 0; round < 3000; ++round) {
    start();
    Bytes handle = open("f", kFxfRead, 1);
    request(kFxpOpendir, 2, [&](Writer& w) { w.string("."); });
    Bytes dir = handle_reply(2);
    Writer p;
    p.u8(kTypes[rnd() % sizeof kTypes]).u32(rnd());
    if (p.buffer()[0] == kFxpExtended) p.string(kExt[rnd() % 8]);
    int fields = int(rnd() % 6);
    for (int i = 0; i < fields; ++i) {
      switch (rnd() % 6) {
        case 0:
          p.string(ByteView(rnd() % 2 ? handle : dir));
          break;
        case 1:
          p.string(rnd() % 2 ? "f" : "/");
          break;
        case 2:
          p.u32(rnd());
          break;
        case 3:
          p.u64(uint64_t(rnd()) << (rnd() % 40));
          break;
        case 4:
          p.u32(rnd() % 64);
          break;
        default:
          for (uint32_t n = rnd() % 12; n > 0; --n) p.u8(uint8_t(rnd()));
      }
    }
    // Flip a byte now and then.
    if (rnd() % 3 == 0 && p.size() > 1) p.buffer()[1 + rnd() % (p.size() - 1)] ^= uint8_t(rnd());
    try {
      send_packet(p.buffer());
      while (has_reply()) next();
    } catch (const ProtocolError&) {
    }
  }
  EXPECT_EQ(slurp("f"), "some content");
}

TEST(SftpStatus, ErrnoMapping) {
  EXPECT_EQ(status_from_errno(0), kFxOk);
  EXPECT_EQ(status_from_errno(ENOENT), kFxNoSuchFile);
  EXPECT_EQ(status_from_errno(EACCES), kFxPermissionDenied);
  EXPECT_EQ(status_from_errno(EPERM), kFxPermissionDenied);
  EXPECT_EQ(status_from_errno(ENOSYS), kFxOpUnsupported);
  EXPECT_EQ(status_from_errno(EIO), kFxFailure);
}

TEST(SftpRequestNames, MatchOpenSshList) {
  const auto& names = request_names();
  ASSERT_EQ(names.size(), 29u);
  EXPECT_EQ(names.front(), "open");
  EXPECT_EQ(names.back(), "users-groups-by-id");
}

}  // namespace
}  // namespace postern::sftp
