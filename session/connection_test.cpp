// The channel layer driven without sockets: payloads in through Connection::handle_message,
// payloads out through a fake PacketSink, real children and real ptys.
#include "session/connection.h"

#include <openssl/evp.h>
#include <pty.h>
#include <pwd.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <functional>
#include <string>

#include "common/protocol_error.h"
#include "common/wire.h"
#include "session/connection_messages.h"

namespace postern::session {
namespace {

class FakeSink : public PacketSink {
 public:
  std::function<void(ByteView)> on_message;
  bool direct = true;
  size_t queued = 0;
  int unimplemented = 0;

  void send(ByteView p) override { on_message(p); }
  bool can_send_direct() const override { return direct; }
  MutableByteView begin_packet(size_t n) override {
    m_packet.resize(n);
    return m_packet;
  }
  void commit_packet() override { on_message(m_packet); }
  void send_unimplemented() override { ++unimplemented; }
  size_t queued_bytes() const override { return queued; }

 private:
  Bytes m_packet;
};

class FakePrivileged : public PrivilegedOps {
 public:
  int allocations = 0;
  Result<PtyAllocation> allocate_pty() override {
    int master, slave;
    char name[64];
    if (::openpty(&master, &slave, name, nullptr, nullptr) != 0) return Unexpected("openpty");
    ++allocations;
    return PtyAllocation{UniqueFd(master), UniqueFd(slave), name};
  }
};

struct Sha256 {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  Sha256() { EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(ctx); }
  void update(ByteView b) { EVP_DigestUpdate(ctx, b.data(), b.size()); }
  Bytes final() {
    Bytes out(32);
    unsigned n = 0;
    EVP_DigestFinal_ex(ctx, out.data(), &n);
    return out;
  }
};

// What the "client" side of the test saw on one channel.
struct ChannelView {
  uint32_t server_id = 0;
  uint32_t server_window = 0;  // how much we may still send
  uint32_t server_max_packet = 0;
  std::string out, err;
  std::vector<std::string> events;  // "data", "ext", "exit-status 3", "eof", "close", ...
  uint64_t received = 0;
  int adjusts = 0;
};

class ConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::signal(SIGPIPE, SIG_IGN);
    struct passwd* pw = ::getpwuid(::getuid());
    ASSERT_NE(pw, nullptr);
    user = Account{pw->pw_name, pw->pw_uid, pw->pw_gid, pw->pw_dir, "/bin/sh"};
    peer = ConnectionEnds{{"127.0.0.1", 50000}, {"127.0.0.1", 22}};
    sink.on_message = [this](ByteView m) { on_output(m); };
  }
  void make_connection() {
    conn = std::make_unique<Connection>(sink, user, peer, options, privileged);
  }

  void on_output(ByteView m) {
    Reader r(m);
    uint8_t type = r.u8();
    outputs.push_back(type);
    switch (type) {
      case kMsgChannelOpenConfirmation: {
        uint32_t mine = r.u32();
        ChannelView& v = views[mine];
        v.server_id = r.u32();
        v.server_window = r.u32();
        v.server_max_packet = r.u32();
        v.events.push_back("confirm");
        break;
      }
      case kMsgChannelOpenFailure: {
        uint32_t mine = r.u32();
        views[mine].events.push_back("open-failure " + std::to_string(r.u32()));
        break;
      }
      case kMsgChannelWindowAdjust: {
        ChannelView& v = views[r.u32()];
        v.server_window += r.u32();
        ++v.adjusts;
        break;
      }
      case kMsgChannelData:
      case kMsgChannelExtendedData: {
        ChannelView& v = views[r.u32()];
        uint32_t code = type == kMsgChannelExtendedData ? r.u32() : 0;
        ByteView d = r.string();
        r.expect_done();
        EXPECT_LE(d.size(), client_max_packet);
        v.received += d.size();
        EXPECT_LE(v.received, client_window_total[&v - &views[0]]) << "window overrun";
        const char* ev = code ? "ext" : "data";
        if (v.events.empty() || v.events.back() != ev) v.events.push_back(ev);
        if (data_hook)
          data_hook(v, code, d);
        else
          (code ? v.err : v.out).append(as_string(d));
        break;
      }
      case kMsgChannelEof:
        views[r.u32()].events.push_back("eof");
        break;
      case kMsgChannelClose:
        views[r.u32()].events.push_back("close");
        break;
      case kMsgChannelRequest: {
        ChannelView& v = views[r.u32()];
        std::string req(r.text());
        bool want = r.boolean();
        EXPECT_FALSE(want);
        if (req == "exit-status") {
          v.events.push_back("exit-status " + std::to_string(r.u32()));
        } else if (req == "exit-signal") {
          std::string sig(r.text());
          bool core = r.boolean();
          r.text();
          r.text();
          v.events.push_back("exit-signal " + sig + (core ? " core" : ""));
        } else {
          v.events.push_back("request " + req);
        }
        break;
      }
      case kMsgChannelSuccess:
        views[r.u32()].events.push_back("success");
        break;
      case kMsgChannelFailure:
        views[r.u32()].events.push_back("failure");
        break;
      default:
        break;
    }
  }

  // Opens a session; the test's channel id is `mine`, with the given client window.
  uint32_t open_session(uint32_t mine = 0, uint32_t window = 2 * 1024 * 1024,
                        uint32_t max_packet = 32768) {
    client_window_total[mine] = window;
    client_max_packet = max_packet;
    ChannelOpenMsg m{"session", mine, window, max_packet, {}};
    conn->handle_message(encode(m));
    EXPECT_EQ(views[mine].events.back(), "confirm");
    return views[mine].server_id;
  }
  void request(uint32_t mine, const std::string& type, bool want_reply, const Bytes& args = {}) {
    ChannelRequestMsg m{views[mine].server_id, type, want_reply, Rest{args}};
    conn->handle_message(encode(m));
  }
  void exec(uint32_t mine, const std::string& command, bool want_reply = true) {
    Writer w;
    w.string(command);
    request(mine, "exec", want_reply, w.take());
  }
  void send_data(uint32_t mine, ByteView data) {
    Writer w;
    w.u8(kMsgChannelData).u32(views[mine].server_id).string(data);
    ASSERT_LE(data.size(), views[mine].server_window);
    views[mine].server_window -= uint32_t(data.size());
    conn->handle_message(w.buffer());
  }
  void send_simple(uint8_t type, uint32_t mine) {
    Writer w;
    w.u8(type).u32(views[mine].server_id);
    conn->handle_message(w.buffer());
  }
  void adjust(uint32_t mine, uint32_t n) {
    client_window_total[mine] += n;
    ChannelWindowAdjustMsg m{views[mine].server_id, n};
    conn->handle_message(encode(m));
  }

  // One round of the poll loop.
  void pump(int timeout_ms = 50) {
    std::vector<pollfd> fds;
    conn->collect_pollfds(fds);
    if (fds.empty()) {
      ::usleep(1000);
      conn->dispatch_pollfds(fds);
      return;
    }
    int n = ::poll(fds.data(), fds.size(), timeout_ms);
    ASSERT_GE(n, 0);
    conn->dispatch_pollfds(fds);
  }
  bool run_until(const std::function<bool()>& done, int seconds = 20) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      pump();
    }
    return true;
  }
  bool closed(uint32_t mine) {
    auto& e = views[mine].events;
    return !e.empty() && e.back() == "close";
  }
  std::vector<std::string> tail(uint32_t mine, size_t n) {
    auto& e = views[mine].events;
    return std::vector<std::string>(e.end() - long(std::min(n, e.size())), e.end());
  }

  Account user;
  ConnectionEnds peer;
  SessionOptions options;
  FakeSink sink;
  FakePrivileged privileged;
  std::unique_ptr<Connection> conn;
  ChannelView views[8];
  uint64_t client_window_total[8] = {};
  uint32_t client_max_packet = 32768;
  std::vector<uint8_t> outputs;
  std::function<void(ChannelView&, uint32_t, ByteView)> data_hook;
};

TEST_F(ConnectionTest, ExecStdoutStderrExitStatusInOrder) {
  make_connection();
  open_session();
  exec(0, "echo hi; echo err >&2; exit 3");
  EXPECT_EQ(views[0].events.back(), "success");
  ASSERT_TRUE(run_until([&] { return closed(0); }));
  EXPECT_EQ(views[0].out, "hi\n");
  EXPECT_EQ(views[0].err, "err\n");
  EXPECT_EQ(tail(0, 3), (std::vector<std::string>{"exit-status 3", "eof", "close"}));
  // The client answers CLOSE; then the channel is gone.
  send_simple(kMsgChannelClose, 0);
  pump();
  EXPECT_EQ(conn->open_channels(), 0u);
}

TEST_F(ConnectionTest, ExecWithoutDirectPacketsAndLoginEnvironment) {
  sink.direct = false;
  make_connection();
  open_session();
  exec(0, "echo \"$USER|$LOGNAME|$HOME|$SHELL|$SSH_CONNECTION|$SSH_CLIENT|${SSH_TTY-none}|$PWD\"");
  ASSERT_TRUE(run_until([&] { return closed(0); }));
  EXPECT_EQ(views[0].out, user.name + "|" + user.name + "|" + user.home +
                              "|/bin/sh|127.0.0.1 50000 127.0.0.1 22|127.0.0.1 50000 22|none|" +
                              user.home + "\n");
  EXPECT_EQ(tail(0, 3), (std::vector<std::string>{"exit-status 0", "eof", "close"}));
}

TEST_F(ConnectionTest, StdinReachesChildAndEofEndsIt) {
  make_connection();
  open_session();
  exec(0, "tr a-z A-Z");
  send_data(0, as_bytes("hello "));
  send_data(0, as_bytes("world\n"));
  send_simple(kMsgChannelEof, 0);
  ASSERT_TRUE(run_until([&] { return closed(0); }));
  EXPECT_EQ(views[0].out, "HELLO WORLD\n");
  EXPECT_EQ(tail(0, 3), (std::vector<std::string>{"exit-status 0", "eof", "close"}));
}

TEST_F(ConnectionTest, StderrAfterStdoutClosedComesBeforeEof) {
  make_connection();
  open_session();
  exec(0, "echo a; exec >/dev/null; sleep 0.3; echo late >&2; exit 7");
  ASSERT_TRUE(run_until([&] { return closed(0); }));
  EXPECT_EQ(views[0].out, "a\n");
  EXPECT_EQ(views[0].err, "late\n");
  EXPECT_EQ(tail(0, 5), (std::vector<std::string>{"data", "ext", "exit-status 7", "eof", "close"}));
}

TEST_F(ConnectionTest, EarlyCloseOfOutputStillReportsStatus) {
  make_connection();
  open_session();
  exec(0, "exec >/dev/null 2>&1; sleep 0.3; exit 44");
  ASSERT_TRUE(run_until([&] { return closed(0); }));
  EXPECT_EQ(tail(0, 3), (std::vector<std::string>{"exit-status 44", "eof", "close"}));
}

TEST_F(ConnectionTest, ExitSignalAndSignalRequest) {
  make_connection();
  open_session(0);
  exec(0, "kill -TERM $$");
  ASSERT_TRUE(run_until([&] { return closed(0); }));
  EXPECT_EQ(tail(0, 3), (std::vector<std::string>{"exit-signal TERM", "eof", "close"}));

  open_session(1);
  exec(1, "exec sleep 30");
  pump();
  Writer w;
  w.string("USR1");
  request(1, "signal", false, w.take());
  ASSERT_TRUE(run_until([&] { return closed(1); }));
  EXPECT_EQ(tail(1, 3), (std::vector<std::string>{"exit-signal USR1", "eof", "close"}));

  // Names outside RFC 4254 §6.10 are refused.
  open_session(2);
  exec(2, "exec sleep 30");
  Writer bad;
  bad.string("STOP");
  request(2, "signal", true, bad.take());
  EXPECT_EQ(views[2].events.back(), "failure");
  send_simple(kMsgChannelClose, 2);
  EXPECT_EQ(views[2].events.back(), "close");
}

TEST_F(ConnectionTest, RespectsClientWindowAndMaxPacket) {
  make_connection();
  open_session(0, 1000, 300);
  exec(0, "head -c 5000 /dev/zero");
  for (int i = 0; i < 20; ++i) pump(20);
  EXPECT_EQ(views[0].received, 1000u);
  EXPECT_FALSE(closed(0));
  adjust(0, 1500);
  for (int i = 0; i < 20; ++i) pump(20);
  EXPECT_EQ(views[0].received, 2500u);
  adjust(0, 100000);
  ASSERT_TRUE(run_until([&] { return closed(0); }));
  EXPECT_EQ(views[0].received, 5000u);
  EXPECT_EQ(views[0].out, std::string(5000, '\0'));
  EXPECT_EQ(tail(0, 3), (std::vector<std::string>{"exit-status 0", "eof", "close"}));
}

TEST_F(ConnectionTest, WindowGrowsOnlyWhenThePeerUsesItAll) {
  make_connection();
  open_session();
  exec(0, "cat >/dev/null");
  Bytes chunk(32768, 'x');
  // A peer that never fills the window gets it back as it is consumed, no more.
  for (int i = 0; i < 40; ++i) {
    send_data(0, chunk);
    for (int j = 0; j < 3; ++j) pump(5);
  }
  EXPECT_LE(views[0].server_window, kInitialWindow);
  EXPECT_GE(views[0].server_window, kInitialWindow / 2);
  // A peer that sends the whole window has its window doubled with the next adjust.
  ASSERT_TRUE(run_until([&] {
    if (views[0].server_window > kInitialWindow) return true;
    while (views[0].server_window >= chunk.size()) send_data(0, chunk);
    return false;
  }));
  send_simple(kMsgChannelEof, 0);
  ASSERT_TRUE(run_until([&] { return closed(0); }));
}

TEST_F(ConnectionTest, DataBeyondOurWindowIsAProtocolError) {
  make_connection();
  open_session();
  exec(0, "sleep 5");
  Bytes chunk(32768, 'x');
  // The child never reads, so nothing is consumed and no window comes back.
  uint32_t window = views[0].server_window;
  EXPECT_EQ(window, kInitialWindow);
  for (uint32_t sent = 0; sent + chunk.size() <= window; sent += uint32_t(chunk.size()))
    send_data(0, chunk);
  for (int i = 0; i < 5; ++i) pump(10);
  // The pipe took some (up to its size), so some window may have come back; fill it all.
  while (views[0].server_window >= chunk.size()) send_data(0, chunk);
  Writer w;
  w.u8(kMsgChannelData).u32(views[0].server_id).string(ByteView(chunk));
  EXPECT_THROW(conn->handle_message(w.buffer()), ProtocolError);
}

TEST_F(ConnectionTest, LargeTransferThroughCatWithChecksums) {
  make_connection();
  open_session(0, 1024 * 1024, 32768);
  exec(0, "cat");
  Sha256 sent_hash, received_hash;
  uint64_t to_send = 64ull * 1024 * 1024;
  uint64_t sent = 0;
  data_hook = [&](ChannelView& v, uint32_t code, ByteView d) {
    EXPECT_EQ(code, 0u);
    received_hash.update(d);
    (void)v;
  };
  Bytes chunk(32768);
  uint64_t counter = 0;
  uint64_t last_adjusted = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!closed(0)) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    while (sent < to_send && views[0].server_window > 0) {
      size_t n = std::min<uint64_t>({chunk.size(), views[0].server_window, to_send - sent});
      for (size_t i = 0; i < n; i += 8) {
        ++counter;
        std::memcpy(chunk.data() + i, &counter, std::min<size_t>(8, n - i));
      }
      sent_hash.update(ByteView(chunk.data(), n));
      send_data(0, ByteView(chunk.data(), n));
      sent += n;
      if (sent == to_send) send_simple(kMsgChannelEof, 0);
    }
    pump(10);
    // Act as a fast client: give back what we received.
    if (views[0].received - last_adjusted >= 256 * 1024) {
      adjust(0, uint32_t(views[0].received - last_adjusted));
      last_adjusted = views[0].received;
    }
  }
  EXPECT_EQ(views[0].received, to_send);
  EXPECT_EQ(sent_hash.final(), received_hash.final());
  EXPECT_EQ(tail(0, 3), (std::vector<std::string>{"exit-status 0", "eof", "close"}));
  EXPECT_GT(views[0].adjusts, 0);
}

TEST_F(ConnectionTest, EnvFilteredByAcceptEnvAndServerSetEnvWins) {
  options.accept_env = {"LANG", "LC_*", "!LC_SECRET", "_XXX_TEST_*"};
  options.set_env = {{"_XXX_TEST_B", "23"}, {"_XXX_TEST_B", "42"}};
  make_connection();
  open_session();
  auto env = [&](const char* n, const char* v) {
    Writer w;
    w.string(n).string(v);
    request(0, "env", true, w.take());
    return views[0].events.back();
  };
  EXPECT_EQ(env("LANG", "C.UTF-8"), "success");
  EXPECT_EQ(env("LC_TIME", "C"), "success");
  EXPECT_EQ(env("LC_SECRET", "x"), "failure");
  EXPECT_EQ(env("OTHER", "x"), "failure");
  EXPECT_EQ(env("_XXX_TEST_A", "1"), "success");
  EXPECT_EQ(env("_XXX_TEST_A", "11"), "success");
  EXPECT_EQ(env("_XXX_TEST_B", "2"), "success");
  exec(0, "echo \"$LANG|$LC_TIME|${LC_SECRET-unset}|${OTHER-unset}|$_XXX_TEST_A|$_XXX_TEST_B\"");
  ASSERT_TRUE(run_until([&] { return closed(0); }));
  EXPECT_EQ(views[0].out, "C.UTF-8|C|unset|unset|1|23\n");
}

TEST_F(ConnectionTest, PtyShellWithModesAndWindowChange) {
  user.shell = "/bin/sh";
  options.print_motd = false;
  make_connection();
  open_session();
  Writer modes;
  modes.u8(3).u32(8);   // VERASE ^H
  modes.u8(53).u32(0);  // ECHO off, so the output is only what the commands print
  modes.u8(0);
  Writer pty;
  pty.string("xterm-test").u32(100).u32(40).u32(0).u32(0).string(modes.buffer());
  request(0, "pty-req", true, pty.take());
  EXPECT_EQ(views[0].events.back(), "success");
  EXPECT_EQ(privileged.allocations, 1);
  request(0, "shell", true);
  EXPECT_EQ(views[0].events.back(), "success");
  send_data(
      0, as_bytes(
             "stty size; echo T=$TERM; tty; echo TTY=$SSH_TTY; stty -a | grep -o 'erase = ^H'\n"));
  Writer wc;
  wc.u32(120).u32(50).u32(0).u32(0);
  ASSERT_TRUE(run_until([&] { return views[0].out.find("erase = ^H") != std::string::npos; }));
  request(0, "window-change", false, wc.take());
  send_data(0, as_bytes("stty size; exit 5\n"));
  ASSERT_TRUE(run_until([&] { return closed(0); }));
  const std::string& out = views[0].out;
  EXPECT_NE(out.find("40 100\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("50 120\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("T=xterm-test\r\n"), std::string::npos) << out;
  size_t tty = out.find("/dev/pts/");
  ASSERT_NE(tty, std::string::npos) << out;
  std::string name = out.substr(tty, out.find('\r', tty) - tty);
  EXPECT_NE(out.find("TTY=" + name), std::string::npos) << out;
  EXPECT_EQ(views[0].err, "");
  EXPECT_EQ(tail(0, 3), (std::vector<std::string>{"exit-status 5", "eof", "close"}));
}

TEST_F(ConnectionTest, PtyRefusedWhenPermitTtyNo) {
  options.permit_tty = false;
  make_connection();
  open_session();
  Writer pty;
  pty.string("xterm").u32(80).u32(24).u32(0).u32(0).string("");
  request(0, "pty-req", true, pty.take());
  EXPECT_EQ(views[0].events.back(), "failure");
  EXPECT_EQ(privileged.allocations, 0);
}

TEST_F(ConnectionTest, LoginShellGetsDashArgv0) {
  user.shell = "/bin/bash";
  make_connection();
  open_session();
  request(0, "shell", true);
  send_data(0, as_bytes("echo \"argv0=$0\"; exit\n"));
  send_simple(kMsgChannelEof, 0);
  ASSERT_TRUE(run_until([&] { return closed(0); }));
  EXPECT_NE(views[0].out.find("argv0=-bash\n"), std::string::npos) << views[0].out;
}

TEST_F(ConnectionTest, SubsystemsAndForceCommand) {
  options.subsystems = {{"hello", "echo subsystem ran"}, {"sftp", "internal-sftp"}};
  make_connection();
  open_session(0);
  Writer w;
  w.string("hello");
  request(0, "subsystem", true, w.take());
  EXPECT_EQ(views[0].events.back(), "success");
  ASSERT_TRUE(run_until([&] { return closed(0); }));
  EXPECT_EQ(views[0].out, "subsystem ran\n");

  open_session(1);
  Writer s;
  s.string("sftp");
  request(1, "subsystem", true, s.take());
  EXPECT_EQ(views[1].events.back(), "success");  // internal-sftp (sftp_child.h)
  // internal-sftp runs in a child of its own (sftp_child.h), which a signal reaches as in sshd.
  Writer sig;
  sig.string("KILL");
  request(1, "signal", true, sig.take());
  EXPECT_EQ(views[1].events.back(), "success");
  ASSERT_TRUE(run_until([&] { return closed(1); }));
  EXPECT_NE(std::find(views[1].events.begin(), views[1].events.end(), "exit-signal KILL"),
            views[1].events.end());
  open_session(1);
  Writer u;
  u.string("nope");
  request(1, "subsystem", true, u.take());
  EXPECT_EQ(views[1].events.back(), "failure");

  // ForceCommand internal-sftp refuses a shell without starting anything: no child to signal
  // (and never kill(-1, ...)).
  options.force_command = "internal-sftp";
  make_connection();
  open_session(4);
  request(4, "shell", true);
  EXPECT_EQ(views[4].events.back(), "success");
  Writer sig2;
  sig2.string("KILL");
  request(4, "signal", true, sig2.take());
  EXPECT_EQ(views[4].events.back(), "failure");

  options.force_command = "echo \"forced:$SSH_ORIGINAL_COMMAND\"";
  make_connection();
  open_session(2);
  exec(2, "original command");
  ASSERT_TRUE(run_until([&] { return closed(2); }));
  EXPECT_EQ(views[2].out, "forced:original command\n");
}

TEST_F(ConnectionTest, RefusalsAndUnknownMessages) {
  options.max_sessions = 1;
  make_connection();
  // Unknown channel types are refused (RFC 4254 §5.1).
  ChannelOpenMsg tcp{"x11", 3, 1000, 1000, Rest{to_bytes("xx")}};
  conn->handle_message(encode(tcp));
  EXPECT_EQ(views[3].events.back(), "open-failure 3");
  // keepalive@openssh.com gets REQUEST_FAILURE.
  GlobalRequestMsg ka{"keepalive@openssh.com", true, {}};
  conn->handle_message(encode(ka));
  EXPECT_EQ(outputs.back(), kMsgRequestFailure);
  size_t before = outputs.size();
  GlobalRequestMsg quiet{"whatever@example.com", false, {}};
  conn->handle_message(encode(quiet));
  EXPECT_EQ(outputs.size(), before);
  // An unknown message number gets UNIMPLEMENTED.
  Bytes odd = {120, 1, 2};
  conn->handle_message(odd);
  EXPECT_EQ(sink.unimplemented, 1);
  // MaxSessions.
  open_session(0);
  ChannelOpenMsg second{"session", 1, 1000, 1000, {}};
  conn->handle_message(encode(second));
  EXPECT_EQ(views[1].events.back(), "open-failure 1");
  // Unknown channel requests fail; a second exec fails; messages for unknown channels throw.
  request(0, "unknown@example.com", true);
  EXPECT_EQ(views[0].events.back(), "failure");
  exec(0, "true");
  exec(0, "true");
  EXPECT_EQ(views[0].events.back(), "failure");
  ChannelEofMsg stray{99};
  EXPECT_THROW(conn->handle_message(encode(stray)), ProtocolError);
  Bytes truncated = {kMsgChannelData, 0, 0, 0, 0, 0, 0, 1, 0};
  EXPECT_THROW(conn->handle_message(truncated), ProtocolError);
  ASSERT_TRUE(run_until([&] { return closed(0); }));
}

TEST_F(ConnectionTest, ClientCloseWhileChildRuns) {
  make_connection();
  open_session();
  exec(0, "exec sleep 30");
  pump();
  send_simple(kMsgChannelClose, 0);
  EXPECT_EQ(views[0].events.back(), "close");
  pump();
  EXPECT_EQ(conn->open_channels(), 0u);
}

TEST_F(ConnectionTest, OutputCongestionStopsReading) {
  make_connection();
  open_session();
  sink.queued = kMaxQueuedOutput;
  exec(0, "echo hi");
  for (int i = 0; i < 10; ++i) pump(10);
  EXPECT_EQ(views[0].out, "");
  sink.queued = 0;
  ASSERT_TRUE(run_until([&] { return closed(0); }));
  EXPECT_EQ(views[0].out, "hi\n");
}

}  // namespace
}  // namespace postern::session
