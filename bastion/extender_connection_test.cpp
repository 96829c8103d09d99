// An extender's connection protocol (extender_connection.h) over a real listening Unix socket:
// the one dynamic reverse forward and its allocated port (RFC 4254 §7.1), forwarded-tcpip
// channels for accepted streams (§7.2) relayed both ways, and everything else refused.
#include "bastion/extender_connection.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "bastion/collecting_sink_test_support.h"
#include "common/ssh_msg.h"
#include "common/wire.h"
#include "session/connection_messages.h"

namespace postern::bastion {
namespace {

using namespace postern::session;

constexpr uint32_t kPort = 50001;

// A listening socket in the abstract namespace, and a way to connect to it.
struct AbstractListener {
  sockaddr_un sa{};
  socklen_t len = 0;
  UniqueFd fd;
  AbstractListener() {
    sa.sun_family = AF_UNIX;
    std::string name = "postern-ext-test-" + std::to_string(::getpid());
    std::memcpy(sa.sun_path + 1, name.data(), name.size());
    len = socklen_t(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    fd.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0));
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), len), 0);
    EXPECT_EQ(::listen(fd.get(), 8), 0);
  }
  UniqueFd connect() {
    UniqueFd c(::socket(AF_UNIX, SOCK_STREAM, 0));
    EXPECT_EQ(::connect(c.get(), reinterpret_cast<sockaddr*>(&sa), len), 0);
    return c;
  }
};

Bytes global(const std::string& name, bool want_reply, const std::string& address, uint32_t port) {
  Writer data;
  data.string(address).u32(port);
  return encode(GlobalRequestMsg{name, want_reply, Rest{data.take()}});
}

struct Fixture {
  CollectingSink client;
  AbstractListener listener;
  int asked = 0;
  std::string asked_address;
  bool refuse = false;
  ExtenderConnection ext{client,
                         [this](const std::string& address, uint32_t) {
                           ++asked;
                           asked_address = address;
                           ExtenderConnection::Listening l;
                           if (refuse) {
                             l.message = "no";
                             return l;
                           }
                           l.allowed = true;
                           l.fd = std::move(listener.fd);
                           return l;
                         },
                         kPort};

  // One poll round as the loop runs it.
  void poll_round() {
    std::vector<pollfd> fds;
    ext.add_poll_fds(fds, 0);
    ::poll(fds.data(), fds.size(), 1000);
    ext.handle_poll(fds.data(), fds.size());
  }
};

TEST(ExtenderConnection, TheDynamicForwardGetsItsAllocatedPort) {
  Fixture f;
  f.ext.from_client(global("tcpip-forward", true, "localhost", 0));
  EXPECT_EQ(f.asked, 1);
  EXPECT_EQ(f.asked_address, "localhost");
  Bytes reply = f.client.take();
  Reader r(reply);
  EXPECT_EQ(r.u8(), kMsgRequestSuccess);
  EXPECT_EQ(r.u32(), kPort);  // §7.1: port 0 asked, the allocated one answered
  EXPECT_TRUE(r.done());
  EXPECT_TRUE(f.ext.forwarding());
  // One forward per connection; the monitor is not asked again.
  f.ext.from_client(global("tcpip-forward", true, "localhost", 0));
  EXPECT_EQ(f.client.take(), encode(RequestFailureMsg{}));
  EXPECT_EQ(f.asked, 1);
}

TEST(ExtenderConnection, ARefusedForwardFailsAndIsNotAskedAgain) {
  Fixture f;
  f.refuse = true;
  f.ext.from_client(global("tcpip-forward", true, "localhost", 0));
  EXPECT_EQ(f.client.take(), encode(RequestFailureMsg{}));
  f.ext.from_client(global("tcpip-forward", true, "localhost", 0));
  EXPECT_EQ(f.client.take(), encode(RequestFailureMsg{}));
  EXPECT_EQ(f.asked, 1);
  EXPECT_FALSE(f.ext.forwarding());
}

TEST(ExtenderConnection, NoSessionNoChannelOfItsOwnNoOtherRequest) {
  Fixture f;
  for (std::string type : {"session", "direct-tcpip", "x11"}) {
    f.ext.from_client(encode(ChannelOpenMsg{type, 7, 1 << 20, 32768, Rest{}}));
    auto fail = decode<ChannelOpenFailureMsg>(f.client.take());
    EXPECT_EQ(fail.recipient_channel, 7u);
    EXPECT_EQ(fail.reason, kOpenAdministrativelyProhibited);
  }
  f.ext.from_client(encode(GlobalRequestMsg{"keepalive@openssh.com", true, Rest{}}));
  EXPECT_EQ(f.client.take(), encode(RequestFailureMsg{}));
  f.ext.from_client(encode(GlobalRequestMsg{"no-more-sessions@openssh.com", false, Rest{}}));
  EXPECT_TRUE(f.client.sent.empty());
  // A channel message for a channel nobody opened ends the connection.
  EXPECT_THROW(f.ext.from_client(encode(ChannelEofMsg{0})), ProtocolError);
}

TEST(ExtenderConnection, AnAcceptedStreamBecomesAForwardedChannelRelayedBothWays) {
  Fixture f;
  f.ext.from_client(global("tcpip-forward", true, "localhost", 0));
  f.client.take();
  UniqueFd user = f.listener.connect();
  f.poll_round();
  auto open = decode<ChannelOpenMsg>(f.client.take());
  EXPECT_EQ(open.channel_type, "forwarded-tcpip");
  EXPECT_EQ(open.initial_window, JumpChannel::kWindow);
  Reader od(open.data.bytes);
  EXPECT_EQ(od.text(), "localhost");  // as the client asked: OpenSSH matches it
  EXPECT_EQ(od.u32(), kPort);
  od.text();
  od.u32();
  EXPECT_TRUE(od.done());
  // Nothing is relayed before the client confirms.
  ASSERT_EQ(::write(user.get(), "\x05\x01\x00", 3), 3);
  EXPECT_TRUE(f.client.sent.empty());
  f.ext.from_client(encode(ChannelOpenConfirmationMsg{open.sender_channel, 42, 1 << 20, 32768}));
  f.poll_round();
  Bytes data = f.client.take();
  Reader dr(data);
  EXPECT_EQ(dr.u8(), kMsgChannelData);
  EXPECT_EQ(dr.u32(), 42u);
  EXPECT_EQ(dr.text(), std::string("\x05\x01\x00", 3));
  // The client's bytes reach the stream.
  Writer w;
  w.u8(kMsgChannelData).u32(open.sender_channel).string(std::string_view("\x05\x00", 2));
  f.ext.from_client(w.take());
  f.poll_round();
  char buf[8];
  ASSERT_EQ(::read(user.get(), buf, sizeof buf), 2);
  EXPECT_EQ(std::string(buf, 2), std::string("\x05\x00", 2));
  EXPECT_EQ(f.ext.open_channels(), 1u);
  // The client closes: the stream ends, the slot is free.
  f.ext.from_client(encode(ChannelCloseMsg{open.sender_channel}));
  EXPECT_EQ(f.ext.open_channels(), 0u);
  EXPECT_EQ(::read(user.get(), buf, sizeof buf), 0);
}

TEST(ExtenderConnection, AStreamTheClientRefusesIsClosed) {
  Fixture f;
  f.ext.from_client(global("tcpip-forward", true, "localhost", 0));
  f.client.take();
  UniqueFd user = f.listener.connect();
  f.poll_round();
  auto open = decode<ChannelOpenMsg>(f.client.take());
  f.ext.from_client(
      encode(ChannelOpenFailureMsg{open.sender_channel, kOpenConnectFailed, "no", ""}));
  char buf[4];
  EXPECT_EQ(::read(user.get(), buf, sizeof buf), 0);
  EXPECT_EQ(f.ext.open_channels(), 0u);
  // Confirming it afterwards is the client's protocol error.
  EXPECT_THROW(
      f.ext.from_client(encode(ChannelOpenConfirmationMsg{open.sender_channel, 1, 1 << 20, 32768})),
      ProtocolError);
}

TEST(ExtenderConnection, CancelStopsNewStreams) {
  Fixture f;
  f.ext.from_client(global("tcpip-forward", true, "localhost", 0));
  f.client.take();
  f.ext.from_client(global("cancel-tcpip-forward", true, "elsewhere", 0));
  EXPECT_EQ(f.client.take(), encode(RequestFailureMsg{}));
  f.ext.from_client(global("cancel-tcpip-forward", true, "localhost", kPort));
  Bytes ok = f.client.take();
  EXPECT_EQ(ok, Bytes{kMsgRequestSuccess});
  EXPECT_FALSE(f.ext.forwarding());
}

}  // namespace
}  // namespace postern::bastion
