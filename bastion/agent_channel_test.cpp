// The agent channel toward the client with fabricated client messages (RFC 4254 §5): opening,
// refusal, windows and packet sizes both ways, answers reassembled, the close handshake.
#include "bastion/agent_channel.h"

#include <gtest/gtest.h>

#include <string>

#include "bastion/collecting_sink_test_support.h"
#include "common/ssh_msg.h"
#include "common/wire.h"
#include "session/connection_messages.h"

namespace postern::bastion {
namespace {

using namespace postern::session;
constexpr uint32_t kClientId = 7;

Bytes confirmation(uint32_t window, uint32_t max_packet) {
  return encode(ChannelOpenConfirmationMsg{AgentChannel::kId, kClientId, window, max_packet});
}

Bytes data_msg(ByteView data, uint32_t recipient = AgentChannel::kId) {
  Writer w;
  w.u8(kMsgChannelData).u32(recipient).string(data);
  return w.take();
}

Bytes framed(const Bytes& message) {
  Writer w;
  w.u32(uint32_t(message.size())).raw(message);
  return w.take();
}

struct AgentChannelTest : ::testing::Test {
  CollectingSink client;
  AgentChannel channel{client};

  void SetUp() override {
    // RFC 4254 §5.1: type, our number, our window and packet size, no type-specific data.
    auto open = decode<ChannelOpenMsg>(client.take());
    EXPECT_EQ(open.channel_type, "auth-agent@openssh.com");
    EXPECT_EQ(open.sender_channel, AgentChannel::kId);
    EXPECT_EQ(open.initial_window, AgentChannel::kWindow);
    EXPECT_EQ(open.max_packet, AgentChannel::kMaxPacket);
    EXPECT_TRUE(open.data.bytes.empty());
    EXPECT_EQ(channel.state(), AgentChannel::State::kOpening);
  }
  void handle(const Bytes& msg) {
    ASSERT_TRUE(channel.owns(msg));
    channel.handle(msg);
  }
  // The payload of a CHANNEL_DATA the bastion sent to the client.
  Bytes sent_data() {
    Bytes msg = client.take();
    Reader r(msg);
    EXPECT_EQ(r.u8(), kMsgChannelData);
    EXPECT_EQ(r.u32(), kClientId);
    ByteView d = r.string();
    return Bytes(d.begin(), d.end());
  }
};

TEST_F(AgentChannelTest, NumberIsOneTheRelayNeverAllocates) {
  EXPECT_GE(AgentChannel::kId, Relay::kMaxChannels);
}

TEST_F(AgentChannelTest, RequestWaitsForTheOpenThenKeepsToPacketSizeAndWindow) {
  Bytes request(25, 0xab);
  channel.send_request(request);
  EXPECT_TRUE(client.sent.empty());  // not before the confirmation
  handle(confirmation(22, 10));
  EXPECT_EQ(channel.state(), AgentChannel::State::kOpen);
  EXPECT_EQ(sent_data().size(), 10u);
  EXPECT_EQ(sent_data().size(), 10u);
  EXPECT_EQ(sent_data().size(), 2u);  // the window ends here
  EXPECT_TRUE(client.sent.empty());
  handle(encode(ChannelWindowAdjustMsg{AgentChannel::kId, 100}));
  EXPECT_EQ(sent_data().size(), 3u);
  EXPECT_TRUE(client.sent.empty());
}

TEST_F(AgentChannelTest, RefusedMeansNoForwardedAgent) {
  handle(encode(ChannelOpenFailureMsg{AgentChannel::kId, kOpenAdministrativelyProhibited,
                                      "agent forwarding disabled", ""}));
  EXPECT_EQ(channel.state(), AgentChannel::State::kRefused);
  EXPECT_NE(channel.failure().find("refused"), std::string::npos);
  // The number is free again: nothing more is the channel's.
  EXPECT_FALSE(channel.owns(data_msg(to_bytes("x"))));
  channel.send_request(Bytes{1, 2, 3});
  EXPECT_TRUE(client.sent.empty());
}

TEST_F(AgentChannelTest, OwnsOnlyChannelMessagesForItsNumber) {
  EXPECT_TRUE(channel.owns(confirmation(100, 100)));
  EXPECT_FALSE(channel.owns(data_msg(to_bytes("x"), 0)));
  EXPECT_FALSE(channel.owns(encode(ChannelOpenMsg{"session", AgentChannel::kId, 1, 1, {}})));
  EXPECT_FALSE(channel.owns(encode(GlobalRequestMsg{"keepalive@openssh.com", true, {}})));
  EXPECT_FALSE(channel.owns(Bytes{kMsgChannelData, 0, 0}));  // too short for a number
}

TEST_F(AgentChannelTest, AnswersReassembledAcrossDataMessages) {
  handle(confirmation(1000, 1000));
  Bytes answer = framed(Bytes{kAgentFailure});
  handle(data_msg(ByteView(answer).first(3)));
  EXPECT_FALSE(channel.next_answer());
  handle(data_msg(ByteView(answer).subspan(3)));
  EXPECT_EQ(channel.next_answer(), Bytes{kAgentFailure});
  EXPECT_FALSE(channel.next_answer());
  EXPECT_TRUE(channel.failure().empty());
}

TEST_F(AgentChannelTest, WindowGrantedAgainAndNeverOverrun) {
  handle(confirmation(1000, 1000));
  // An answer of 40000 bytes: past half the window, the client is given it back.
  Bytes payload(40000 - 4, 0);
  payload[0] = kAgentIdentitiesAnswer;
  Bytes answer = framed(payload);
  for (size_t at = 0; at < answer.size(); at += AgentChannel::kMaxPacket)
    handle(data_msg(ByteView(answer).subspan(
        at, std::min<size_t>(AgentChannel::kMaxPacket, answer.size() - at))));
  auto adjust = decode<ChannelWindowAdjustMsg>(client.take());
  EXPECT_EQ(adjust.recipient_channel, kClientId);
  EXPECT_EQ(adjust.bytes_to_add, 40000u);
  EXPECT_EQ(channel.next_answer(), payload);
  // A packet over our maximum: a protocol error.
  EXPECT_THROW(channel.handle(data_msg(Bytes(AgentChannel::kMaxPacket + 1, 0))), ProtocolError);
}

TEST_F(AgentChannelTest, NoWindowWhileAWholeAnswerWaits) {
  handle(confirmation(1000, 1000));
  // A client that sends a maximal answer and keeps sending: once an answer's worth is held,
  // the window is not granted again and sending past it is an error, not a growing buffer.
  Bytes chunk(AgentChannel::kMaxPacket, 0);
  Writer head;
  head.u32(uint32_t(kMaxAgentFrame)).u8(kAgentIdentitiesAnswer);
  std::copy(head.buffer().begin(), head.buffer().end(), chunk.begin());
  size_t accepted = 0;
  try {
    for (int i = 0; i < 100; ++i) {
      channel.handle(data_msg(chunk));
      accepted += chunk.size();
      std::fill(chunk.begin(), chunk.begin() + 5, 0);
    }
    ADD_FAILURE() << "the window never ran out";
  } catch (const ProtocolError&) {
  }
  EXPECT_GE(accepted, kMaxAgentFrame);
  EXPECT_LE(accepted, kMaxAgentFrame + 4 + AgentChannel::kWindow);
  auto answer = channel.next_answer();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->size(), kMaxAgentFrame);
}

TEST_F(AgentChannelTest, OverLongAnswerClosesTheChannel) {
  handle(confirmation(1000, 1000));
  Writer w;
  w.u32(uint32_t(kMaxAgentFrame + 1));
  handle(data_msg(w.buffer()));
  EXPECT_NE(channel.failure().find("over the limit"), std::string::npos) << channel.failure();
  EXPECT_EQ(channel.state(), AgentChannel::State::kClosing);
  EXPECT_EQ(decode<ChannelCloseMsg>(client.take()).recipient_channel, kClientId);
  EXPECT_FALSE(channel.next_answer());
  handle(data_msg(to_bytes("late")));  // in flight before our CLOSE: dropped
  handle(encode(ChannelCloseMsg{AgentChannel::kId}));
  EXPECT_EQ(channel.state(), AgentChannel::State::kClosed);
  EXPECT_FALSE(channel.owns(encode(ChannelCloseMsg{AgentChannel::kId})));
  EXPECT_TRUE(client.sent.empty());
}

TEST_F(AgentChannelTest, ClientClosesFirst) {
  handle(confirmation(1000, 1000));
  handle(encode(ChannelEofMsg{AgentChannel::kId}));
  EXPECT_FALSE(channel.failure().empty());
  handle(encode(ChannelCloseMsg{AgentChannel::kId}));
  EXPECT_EQ(decode<ChannelCloseMsg>(client.take()).recipient_channel, kClientId);
  EXPECT_EQ(channel.state(), AgentChannel::State::kClosed);
  channel.close();  // nothing more to send
  EXPECT_TRUE(client.sent.empty());
}

TEST_F(AgentChannelTest, ClosedBeforeTheConfirmationClosesOnArrival) {
  channel.send_request(Bytes{1, 2, 3});
  channel.close();
  EXPECT_TRUE(client.sent.empty());
  handle(confirmation(1000, 1000));
  EXPECT_EQ(decode<ChannelCloseMsg>(client.take()).recipient_channel, kClientId);
  EXPECT_TRUE(client.sent.empty());  // the request was not sent
  EXPECT_EQ(channel.state(), AgentChannel::State::kClosing);
}

TEST_F(AgentChannelTest, RequestsRefusedAndOutOfPhaseMessagesAreErrors) {
  EXPECT_THROW(channel.handle(data_msg(to_bytes("x"))), ProtocolError);  // before the open
  handle(confirmation(1000, 1000));
  Writer req;
  req.u8(kMsgChannelRequest).u32(AgentChannel::kId).string("whatever").boolean(true);
  handle(req.buffer());
  EXPECT_EQ(decode<ChannelFailureMsg>(client.take()).recipient_channel, kClientId);
  EXPECT_THROW(channel.handle(confirmation(1000, 1000)), ProtocolError);
  EXPECT_THROW(channel.handle(encode(ChannelSuccessMsg{AgentChannel::kId})), ProtocolError);
  EXPECT_THROW(channel.handle(encode(ChannelWindowAdjustMsg{AgentChannel::kId, UINT32_MAX})),
               ProtocolError);
}

}  // namespace
}  // namespace postern::bastion
