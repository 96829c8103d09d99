// tun@openssh.com framing (OpenSSH PROTOCOL §2.3) and the channel, with a SOCK_SEQPACKET pair
// standing in for the tun device (one datagram per packet, as a tun fd reads and writes).
#include "session/tun_forward.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "common/protocol_error.h"
#include "common/wire.h"
#include "session/connection.h"
#include "session/connection_messages.h"

namespace postern::session {
namespace {

Bytes ipv4_packet(size_t n, uint8_t fill = 0xab) {
  Bytes p(n, fill);
  p[0] = 0x45;
  return p;
}

// One CHANNEL_DATA payload of point-to-point mode: address family, packet.
Bytes frame(uint32_t af, ByteView packet) {
  Writer w;
  w.u32(af);
  w.raw(packet);
  return w.take();
}

TEST(TunFraming, HeaderFollowsTheIpVersion) {
  uint8_t hdr[kTunMaxHeader];
  Bytes v4 = ipv4_packet(20);
  ASSERT_EQ(tun_frame_header(kTunPointToPoint, v4, hdr), 4);
  EXPECT_EQ(Reader(ByteView(hdr, 4)).u32(), kTunAfInet);
  Bytes v6(40, 0);
  v6[0] = 0x60;
  ASSERT_EQ(tun_frame_header(kTunPointToPoint, v6, hdr), 4);
  EXPECT_EQ(Reader(ByteView(hdr, 4)).u32(), kTunAfInet6);
  Bytes other(20, 0x20);
  EXPECT_EQ(tun_frame_header(kTunPointToPoint, other, hdr), -1);
  EXPECT_EQ(tun_frame_header(kTunPointToPoint, Bytes{}, hdr), -1);
  EXPECT_EQ(tun_frame_header(kTunEthernet, other, hdr), 0);
  EXPECT_EQ(tun_frame_header(kTunEthernet, Bytes(kTunMaxPacket + 1), hdr), -1);
}

TEST(TunFraming, UnwrapsOneMessageAsOnePacket) {
  Bytes p = ipv4_packet(60, 1);
  ByteView got;
  Bytes m4 = frame(kTunAfInet, p);
  ASSERT_TRUE(tun_unwrap(kTunPointToPoint, m4, got));
  EXPECT_EQ(Bytes(got.begin(), got.end()), p);
  Bytes v6(48, 0);
  v6[0] = 0x60;
  Bytes m6 = frame(kTunAfInet6, v6);
  ASSERT_TRUE(tun_unwrap(kTunPointToPoint, m6, got));
  EXPECT_EQ(Bytes(got.begin(), got.end()), v6);
  // Ethernet: the message is the frame.
  Bytes eth(64, 0xee);
  ASSERT_TRUE(tun_unwrap(kTunEthernet, eth, got));
  EXPECT_EQ(Bytes(got.begin(), got.end()), eth);
}

TEST(TunFraming, DropsWhatCannotBeAPacket) {
  ByteView got;
  EXPECT_FALSE(tun_unwrap(kTunPointToPoint, frame(10, ipv4_packet(20)), got));  // Linux AF_INET6
  EXPECT_FALSE(tun_unwrap(kTunPointToPoint, frame(0, ipv4_packet(20)), got));
  EXPECT_FALSE(tun_unwrap(kTunPointToPoint, Bytes{0, 0, 0}, got));
  EXPECT_FALSE(tun_unwrap(kTunPointToPoint, frame(kTunAfInet, Bytes{}), got));
  EXPECT_FALSE(tun_unwrap(kTunPointToPoint, frame(kTunAfInet, Bytes(kTunMaxPacket + 1)), got));
  EXPECT_FALSE(tun_unwrap(kTunEthernet, Bytes{}, got));
  EXPECT_FALSE(tun_unwrap(kTunEthernet, Bytes(kTunMaxPacket + 1), got));
}

class CollectingSink : public PacketSink {
 public:
  std::vector<Bytes> messages;
  void send(ByteView p) override { messages.emplace_back(p.begin(), p.end()); }
  bool can_send_direct() const override { return false; }
  MutableByteView begin_packet(size_t n) override {
    m_packet.resize(n);
    return m_packet;
  }
  void commit_packet() override { messages.push_back(m_packet); }
  void send_unimplemented() override {}
  size_t queued_bytes() const override { return 0; }

 private:
  Bytes m_packet;
};

class FakeMonitor : public PrivilegedOps {
 public:
  bool refuse = false;
  uint32_t mode = 0, unit = 0;
  UniqueFd far_end;  // the "network" side of the fake device
  Result<PtyAllocation> allocate_pty() override { return Unexpected("no pty"); }
  Result<TunAllocation> open_tun(uint32_t m, uint32_t u) override {
    mode = m;
    unit = u;
    if (refuse) return Unexpected("PermitTunnel no");
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
      return Unexpected("socketpair");
    far_end.reset(sv[1]);
    return TunAllocation{UniqueFd(sv[0]), "tun7"};
  }
};

class TunChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    passwd* pw = ::getpwuid(::getuid());
    ASSERT_NE(pw, nullptr);
    user = Account{pw->pw_name, pw->pw_uid, pw->pw_gid, pw->pw_dir, "/bin/sh"};
    conn = std::make_unique<Connection>(sink, user, ConnectionEnds{}, SessionOptions{}, monitor);
  }
  Bytes open(uint32_t mode, uint32_t unit, bool extra = false) {
    Writer w;
    w.u8(kMsgChannelOpen);
    w.string("tun@openssh.com");
    w.u32(5);          // client's channel
    w.u32(1 << 20);    // window
    w.u32(32 * 1024);  // max packet
    w.u32(mode);
    w.u32(unit);
    if (extra) w.u8(0);
    return w.take();
  }
  Bytes data(ByteView payload) {
    Writer w;
    w.u8(kMsgChannelData);
    w.u32(0);
    w.string(payload);
    return w.take();
  }
  void poll_once() {
    std::vector<pollfd> fds;
    conn->collect_pollfds(fds);
    ASSERT_GT(::poll(fds.data(), fds.size(), 2000), 0);
    conn->dispatch_pollfds(fds);
  }
  Account user;
  CollectingSink sink;
  FakeMonitor monitor;
  std::unique_ptr<Connection> conn;
};

TEST_F(TunChannelTest, RefusedByTheMonitor) {
  monitor.refuse = true;
  conn->handle_message(open(kTunPointToPoint, 0x7fffffff));
  EXPECT_EQ(monitor.unit, 0x7fffffffu);
  ASSERT_EQ(sink.messages.size(), 1u);
  Reader r(sink.messages[0]);
  EXPECT_EQ(r.u8(), kMsgChannelOpenFailure);
  EXPECT_EQ(r.u32(), 5u);
  EXPECT_EQ(r.u32(), kOpenAdministrativelyProhibited);
}

TEST_F(TunChannelTest, MalformedOpenIsAProtocolError) {
  EXPECT_THROW(conn->handle_message(open(kTunPointToPoint, 0, true)), ProtocolError);
  Writer w;
  w.u8(kMsgChannelOpen);
  w.string("tun@openssh.com");
  w.u32(5);
  w.u32(1 << 20);
  w.u32(32 * 1024);
  w.u32(1);  // no unit
  EXPECT_THROW(conn->handle_message(w.buffer()), ProtocolError);
}

TEST_F(TunChannelTest, PacketsBothWays) {
  conn->handle_message(open(kTunPointToPoint, 3));
  EXPECT_EQ(monitor.mode, kTunPointToPoint);
  EXPECT_EQ(monitor.unit, 3u);
  ASSERT_EQ(sink.messages.size(), 1u);
  EXPECT_EQ(sink.messages[0][0], kMsgChannelOpenConfirmation);
  sink.messages.clear();

  // Client → device: each message is one packet, one write; a bad one is dropped.
  Bytes p1 = ipv4_packet(84, 1), p2 = ipv4_packet(1400, 2), p3 = ipv4_packet(40, 3);
  conn->handle_message(data(frame(kTunAfInet, p1)));
  conn->handle_message(data(frame(99, p2)));
  conn->handle_message(data(frame(kTunAfInet, p2)));
  conn->handle_message(data(Bytes{1, 2}));
  conn->handle_message(data(frame(kTunAfInet, p3)));
  for (const Bytes& want : {p1, p2, p3}) {
    Bytes got(4096);
    ssize_t n = ::recv(monitor.far_end.get(), got.data(), got.size(), MSG_DONTWAIT);
    ASSERT_EQ(n, ssize_t(want.size()));
    got.resize(size_t(n));
    EXPECT_EQ(got, want);
  }
  EXPECT_LT(::recv(monitor.far_end.get(), nullptr, 0, MSG_DONTWAIT), 0);

  // Device → client: one packet, one CHANNEL_DATA with the address family in front; what is
  // not IP is not sent.
  Bytes junk(30, 0x11);
  ASSERT_EQ(::send(monitor.far_end.get(), junk.data(), junk.size(), 0), ssize_t(junk.size()));
  Bytes reply = ipv4_packet(100, 9);
  ASSERT_EQ(::send(monitor.far_end.get(), reply.data(), reply.size(), 0), ssize_t(reply.size()));
  poll_once();
  std::vector<Bytes> sent;
  for (const Bytes& m : sink.messages) {
    if (m[0] != kMsgChannelData) continue;
    Reader r(m);
    r.u8();
    EXPECT_EQ(r.u32(), 5u);
    ByteView d = r.string();
    sent.emplace_back(d.begin(), d.end());
  }
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0], frame(kTunAfInet, reply));

  // The client closes: so do we, and the device is released.
  sink.messages.clear();
  Writer close;
  close.u8(kMsgChannelClose);
  close.u32(0);
  conn->handle_message(close.buffer());
  ASSERT_EQ(sink.messages.size(), 1u);
  EXPECT_EQ(sink.messages[0][0], kMsgChannelClose);
  std::vector<pollfd> fds;
  conn->collect_pollfds(fds);
  EXPECT_EQ(conn->open_channels(), 0u);
  char b;
  EXPECT_EQ(::recv(monitor.far_end.get(), &b, 1, MSG_DONTWAIT), 0);  // the other end is closed
}

}  // namespace
}  // namespace postern::session
