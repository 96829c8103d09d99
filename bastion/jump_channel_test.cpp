// Jump channels over a real socketpair: the window accounting both ways, EOF and close, and the
// jump-mode connection's opens and its notice on a session channel.
#include "bastion/jump_channel.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "bastion/collecting_sink_test_support.h"
#include "bastion/jump_connection.h"
#include "common/ssh_msg.h"
#include "common/wire.h"
#include "session/connection_messages.h"

namespace postern::bastion {
namespace {

using namespace postern::session;

struct SocketPair {
  int far = -1;   // the target's end in the test
  UniqueFd near;  // handed to the channel
  SocketPair() {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    far = sv[0];
    near = UniqueFd(sv[1]);
  }
  ~SocketPair() { ::close(far); }
  std::string read_far() {
    char buf[4096];
    ssize_t n = ::read(far, buf, sizeof buf);
    return n > 0 ? std::string(buf, size_t(n)) : std::string();
  }
};

// The payloads of the CHANNEL_DATA messages in `sink`, concatenated; other messages stay.
std::string take_data(CollectingSink& sink, uint32_t recipient) {
  std::string out;
  for (auto it = sink.sent.begin(); it != sink.sent.end();) {
    if ((*it)[0] != kMsgChannelData) {
      ++it;
      continue;
    }
    Reader r(*it);
    r.u8();
    EXPECT_EQ(r.u32(), recipient);
    out += std::string(r.text());
    it = sink.sent.erase(it);
  }
  return out;
}

TEST(JumpChannel, ReadsTheSocketOnlyWhileTheClientsWindowAllows) {
  SocketPair sp;
  CollectingSink client;
  JumpChannel ch(0, 5, /*client_window=*/10, /*client_max_packet=*/32768, std::move(sp.near));
  auto conf = decode<ChannelOpenConfirmationMsg>(ch.confirmation());
  EXPECT_EQ(conf.recipient_channel, 5u);
  EXPECT_EQ(conf.initial_window, JumpChannel::kWindow);

  std::string sent(100, 'x');
  ASSERT_EQ(::write(sp.far, sent.data(), sent.size()), 100);
  EXPECT_TRUE(ch.poll_events(0) & POLLIN);
  ch.on_readable(client);
  EXPECT_EQ(take_data(client, 5), std::string(10, 'x'));
  EXPECT_EQ(ch.client_window(), 0u);
  EXPECT_FALSE(ch.poll_events(0) & POLLIN);  // window closed: the socket waits
  ch.on_readable(client);
  EXPECT_TRUE(client.sent.empty());
  ch.on_client_window_adjust(1000);
  EXPECT_TRUE(ch.poll_events(0) & POLLIN);
  ch.on_readable(client);
  EXPECT_EQ(take_data(client, 5), std::string(90, 'x'));
  EXPECT_EQ(ch.bytes_down(), 100u);
  // A client that is not reading its output stops the socket reads too.
  EXPECT_FALSE(ch.poll_events(JumpChannel::kClientBacklogLimit) & POLLIN);
}

TEST(JumpChannel, PacketsFitTheClientsMaximum) {
  SocketPair sp;
  CollectingSink client;
  JumpChannel ch(0, 5, 100000, /*client_max_packet=*/100, std::move(sp.near));
  std::string sent(300, 'y');
  ASSERT_EQ(::write(sp.far, sent.data(), sent.size()), 300);
  ch.on_readable(client);
  ASSERT_EQ(client.sent.size(), 1u);
  EXPECT_LE(client.sent[0].size() - kDataHeaderSize, 100u);
}

TEST(JumpChannel, ClientDataIsBoundedByTheAdvertisedWindowAndReopenedAsWritten) {
  SocketPair sp;
  CollectingSink client;
  JumpChannel ch(0, 5, 1000, 32768, std::move(sp.near));
  std::string half(JumpChannel::kWindow / 2, 'a');
  ch.on_client_data(as_bytes(std::string_view(half)));
  ch.on_client_data(as_bytes(std::string_view(half)));
  // The whole window is used: one more byte is the client's protocol error.
  EXPECT_THROW(ch.on_client_data(as_bytes(std::string_view("b"))), ProtocolError);
  EXPECT_EQ(ch.queued_for_socket(), size_t(JumpChannel::kWindow));
  // The socket takes what it can; the window re-opens by what left, once half is out.
  size_t received = 0;
  while (ch.queued_for_socket() > 0) {
    EXPECT_TRUE(ch.poll_events(0) & POLLOUT);
    ch.on_writable(client);
    received += sp.read_far().size();
  }
  while (true) {
    pollfd p{sp.far, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) break;
    received += sp.read_far().size();
  }
  EXPECT_EQ(received, size_t(JumpChannel::kWindow));
  uint64_t granted = 0;
  for (const Bytes& m : client.sent) {
    auto adj = decode<ChannelWindowAdjustMsg>(m);
    EXPECT_EQ(adj.recipient_channel, 5u);
    granted += adj.bytes_to_add;
  }
  EXPECT_GE(granted, JumpChannel::kWindow / 2);
  EXPECT_LE(granted, JumpChannel::kWindow);
  ch.on_client_data(as_bytes(std::string_view(std::string(granted, 'c'))));  // fits again
}

TEST(JumpChannel, EofAndCloseBothWays) {
  SocketPair sp;
  CollectingSink client;
  JumpChannel ch(0, 5, 1000, 32768, std::move(sp.near));
  ch.on_client_data(as_bytes(std::string_view("bye")));
  ch.on_client_eof();
  ch.on_writable(client);
  EXPECT_EQ(sp.read_far(), "bye");
  EXPECT_EQ(sp.read_far(), "");  // the client's EOF became the socket's
  ::shutdown(sp.far, SHUT_WR);
  ch.on_readable(client);
  EXPECT_EQ(client.take(), encode(ChannelEofMsg{5}));
  EXPECT_EQ(client.take(), encode(ChannelCloseMsg{5}));
  EXPECT_FALSE(ch.finished());
  ch.on_client_close(client);
  EXPECT_TRUE(ch.finished());
  EXPECT_TRUE(client.sent.empty());  // no second CLOSE
}

struct JumpConnectionFixture : ::testing::Test {
  CollectingSink client;
  SocketPair sp;
  std::vector<std::string> opened;
  std::vector<std::string> closed;
  bool allow = true;
  JumpConnection conn{client,
                      [this](const std::string& host, uint32_t port, const std::string& orig) {
                        opened.push_back(host + ":" + std::to_string(port) + " from " + orig);
                        JumpConnection::Opened o;
                        o.allowed = allow;
                        o.target_id = 7;
                        if (allow)
                          o.fd = std::move(sp.near);
                        else
                          o.message = "postern: alice may not reach db1:5432";
                        return o;
                      },
                      [this](uint32_t target, uint32_t ch, uint64_t up, uint64_t down) {
                        closed.push_back(std::to_string(target) + " " + std::to_string(ch) + " " +
                                         std::to_string(up) + " " + std::to_string(down));
                      },
                      [] { return std::string("use ssh -J"); }};

  static Bytes pty_req(uint32_t recipient) {
    Writer w;
    w.u8(kMsgChannelRequest).u32(recipient).string("pty-req").boolean(true);
    w.string("xterm").u32(80).u32(24).u32(0).u32(0).string("");
    return w.take();
  }
  static Bytes request(uint32_t recipient, std::string_view name, bool want_reply) {
    Writer w;
    w.u8(kMsgChannelRequest).u32(recipient).string(name).boolean(want_reply);
    return w.take();
  }
  Bytes direct_tcpip(uint32_t sender) {
    Writer d;
    d.string("db1").u32(5432).string("10.1.2.3").u32(40000);
    return encode(ChannelOpenMsg{"direct-tcpip", sender, 5000, 32768, {d.buffer()}});
  }
};

TEST_F(JumpConnectionFixture, DirectTcpipRelaysBytesBothWays) {
  conn.from_client(direct_tcpip(3));
  EXPECT_EQ(opened, std::vector<std::string>{"db1:5432 from 10.1.2.3:40000"});
  auto conf = decode<ChannelOpenConfirmationMsg>(client.take());
  EXPECT_EQ(conf.recipient_channel, 3u);
  Writer data;
  data.u8(kMsgChannelData).u32(conf.sender_channel).string("SSH-2.0-x\r\n");
  conn.from_client(data.buffer());
  std::vector<pollfd> fds;
  conn.add_poll_fds(fds, 0);
  ASSERT_EQ(fds.size(), 1u);
  fds[0].revents = POLLOUT;
  conn.handle_poll(fds.data(), fds.size());
  EXPECT_EQ(sp.read_far(), "SSH-2.0-x\r\n");
  ASSERT_EQ(::write(sp.far, "SSH-2.0-y\r\n", 11), 11);
  fds[0].revents = POLLIN;
  conn.handle_poll(fds.data(), fds.size());
  EXPECT_EQ(take_data(client, 3), "SSH-2.0-y\r\n");
  ::shutdown(sp.far, SHUT_WR);
  conn.handle_poll(fds.data(), fds.size());
  EXPECT_EQ(client.take(), encode(ChannelEofMsg{3}));
  conn.from_client(encode(ChannelCloseMsg{conf.sender_channel}));
  EXPECT_EQ(client.take(), encode(ChannelCloseMsg{3}));
  EXPECT_EQ(closed, std::vector<std::string>{"7 3 11 11"});
  EXPECT_EQ(conn.open_channels(), 0u);
}

TEST_F(JumpConnectionFixture, RefusedOpenCarriesTheMonitorsMessage) {
  allow = false;
  conn.from_client(direct_tcpip(3));
  auto f = decode<ChannelOpenFailureMsg>(client.take());
  EXPECT_EQ(f.recipient_channel, 3u);
  EXPECT_EQ(f.reason, kOpenAdministrativelyProhibited);
  EXPECT_EQ(f.description, "postern: alice may not reach db1:5432");
  EXPECT_EQ(conn.open_channels(), 0u);
}

TEST_F(JumpConnectionFixture, SessionChannelShowsTheNoticeAndExitsWithOne) {
  conn.from_client(encode(ChannelOpenMsg{"session", 0, 100000, 32768, {}}));
  auto conf = decode<ChannelOpenConfirmationMsg>(client.take());
  conn.from_client(pty_req(conf.sender_channel));
  EXPECT_EQ(client.take(), encode(ChannelSuccessMsg{0}));
  Writer shell;
  shell.u8(kMsgChannelRequest).u32(conf.sender_channel).string("shell").boolean(true);
  conn.from_client(shell.buffer());
  EXPECT_EQ(client.take(), encode(ChannelSuccessMsg{0}));
  Bytes err = client.take();
  Reader r(err);
  EXPECT_EQ(r.u8(), kMsgChannelExtendedData);
  r.u32();
  EXPECT_EQ(r.u32(), kExtendedDataStderr);
  EXPECT_EQ(r.text(), "use ssh -J\r\n");
  Bytes status = client.take();
  Reader s(status);
  s.u8();
  s.u32();
  EXPECT_EQ(s.text(), "exit-status");
  s.boolean();
  EXPECT_EQ(s.u32(), 1u);
  EXPECT_EQ(client.take(), encode(ChannelEofMsg{0}));
  EXPECT_EQ(client.take(), encode(ChannelCloseMsg{0}));
  conn.from_client(encode(ChannelCloseMsg{conf.sender_channel}));
  EXPECT_TRUE(client.sent.empty());
  EXPECT_EQ(conn.open_channels(), 0u);
}

TEST_F(JumpConnectionFixture, CommandWithoutAPtyGetsTheLineEndedForAPipe) {
  conn.from_client(encode(ChannelOpenMsg{"session", 0, 100000, 32768, {}}));
  client.take();
  Writer exec;
  exec.u8(kMsgChannelRequest).u32(0).string("exec").boolean(false).string("uptime");
  conn.from_client(exec.buffer());
  Bytes err = client.take();
  Reader r(err);
  r.u8();
  r.u32();
  r.u32();
  EXPECT_EQ(r.text(), "use ssh -J\n");
}

TEST_F(JumpConnectionFixture, PtyShellRunsThePickerAndHandsTheChoiceOver) {
  std::vector<std::string> chosen;
  conn.set_picker({[] {
                     return PickerList{
                         {{"deploy", "web1", "deploy@web1"}, {"ops", "db1", "ops@db1"}},
                         "deploy%web1"};
                   },
                   [&](const std::string& u, const std::string& t) {
                     chosen.push_back(u + "@" + t);
                     return std::string();
                   }});
  conn.from_client(encode(ChannelOpenMsg{"session", 5, 100000, 32768, {}}));
  auto conf = decode<ChannelOpenConfirmationMsg>(client.take());
  conn.from_client(pty_req(conf.sender_channel));
  EXPECT_EQ(client.take(), encode(ChannelSuccessMsg{5}));
  Writer env;
  env.u8(kMsgChannelRequest).u32(conf.sender_channel).string("env").boolean(false);
  env.string("LANG").string("C");
  conn.from_client(env.buffer());
  EXPECT_TRUE(client.sent.empty());  // kept, no reply wanted
  conn.from_client(request(conf.sender_channel, "shell", true));
  EXPECT_EQ(client.take(), encode(ChannelSuccessMsg{5}));
  auto adj = decode<ChannelWindowAdjustMsg>(client.take());  // keys may come now
  EXPECT_EQ(adj.bytes_to_add, PtyPickerChannel::kInputWindow);
  EXPECT_EQ(take_data(client, 5).find("\x1b[?1049h"), 0u);
  // While it runs, the connection opens nothing else.
  conn.from_client(direct_tcpip(6));
  auto f = decode<ChannelOpenFailureMsg>(client.take());
  EXPECT_EQ(f.description, "postern: the target picker is running");
  EXPECT_TRUE(opened.empty());
  Writer keys;
  keys.u8(kMsgChannelData).u32(conf.sender_channel).string("\x1b[B\r");
  conn.from_client(keys.buffer());
  EXPECT_EQ(chosen, std::vector<std::string>{"ops@db1"});
  auto picked = conn.take_picked();
  ASSERT_TRUE(picked);
  EXPECT_EQ(picked->target, "db1");
  EXPECT_EQ(picked->local_id, conf.sender_channel);
  EXPECT_EQ(picked->client_id, 5u);
  ASSERT_EQ(picked->requests.size(), 2u);
  EXPECT_EQ(picked->requests[0].first, "pty-req");
  EXPECT_EQ(picked->requests[1].first, "env");
  EXPECT_EQ(conn.open_channels(), 0u);  // the relay's now
  EXPECT_FALSE(conn.take_picked());
}

TEST_F(JumpConnectionFixture, PtyShellWithNothingToPickGetsTheLine) {
  conn.set_picker({[] { return PickerList{}; },
                   [](const std::string&, const std::string&) { return std::string(); }});
  conn.from_client(encode(ChannelOpenMsg{"session", 0, 100000, 32768, {}}));
  client.take();
  conn.from_client(pty_req(0));
  client.take();
  conn.from_client(request(0, "shell", true));
  EXPECT_EQ(client.take(), encode(ChannelSuccessMsg{0}));
  Bytes err = client.take();
  Reader r(err);
  EXPECT_EQ(r.u8(), kMsgChannelExtendedData);
  r.u32();
  r.u32();
  EXPECT_EQ(r.text(), "use ssh -J\r\n");
  EXPECT_FALSE(conn.take_picked());
}

TEST_F(JumpConnectionFixture, GlobalRequestsAreRefusedAndUnknownChannelsAreErrors) {
  conn.from_client(encode(GlobalRequestMsg{"keepalive@openssh.com", true, {}}));
  EXPECT_EQ(client.take(), Bytes{kMsgRequestFailure});
  Writer data;
  data.u8(kMsgChannelData).u32(9).string("x");
  EXPECT_THROW(conn.from_client(data.buffer()), ProtocolError);
}

}  // namespace
}  // namespace postern::bastion
