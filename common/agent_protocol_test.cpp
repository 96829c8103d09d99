// The agent protocol with fabricated answers (draft-miller-ssh-agent): framing, key lists,
// signatures, failures and the bounds.
#include "common/agent_protocol.h"

#include <gtest/gtest.h>

#include <string>

#include "common/wire.h"

namespace postern {
namespace {

Bytes framed(const Bytes& message) {
  Writer w;
  w.u32(uint32_t(message.size())).raw(message);
  return w.take();
}

Bytes key_blob(std::string_view type, std::string_view body) {
  Writer w;
  w.string(type).string(body);
  return w.take();
}

Bytes identities(const std::vector<std::pair<Bytes, std::string>>& keys, uint32_t count) {
  Writer w;
  w.u8(kAgentIdentitiesAnswer).u32(count);
  for (const auto& [blob, comment] : keys) w.string(ByteView(blob)).string(comment);
  return w.take();
}

TEST(AgentClient, RequestsAreFramed) {
  EXPECT_EQ(agent_request_identities(), (Bytes{0, 0, 0, 1, kAgentRequestIdentities}));
  Bytes blob = key_blob("ssh-ed25519", "k");
  Bytes frame = agent_sign_request(blob, to_bytes("data"), kAgentRsaSha2_512);
  Reader r(frame);
  EXPECT_EQ(r.u32(), frame.size() - 4);
  EXPECT_EQ(r.u8(), kAgentSignRequest);
  ByteView b = r.string();
  EXPECT_EQ(Bytes(b.begin(), b.end()), blob);
  EXPECT_EQ(r.text(), "data");
  EXPECT_EQ(r.u32(), 4u);
  EXPECT_TRUE(r.done());
}

TEST(AgentClient, IdentitiesInTheAgentsOrder) {
  Bytes a = key_blob("ssh-ed25519", "a"), b = key_blob("ssh-rsa", "b");
  auto keys = parse_identities_answer(identities({{a, "first"}, {b, "second"}}, 2));
  ASSERT_TRUE(keys) << keys.error().message;
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].key_blob, a);
  EXPECT_EQ((*keys)[0].comment, "first");
  EXPECT_EQ((*keys)[1].key_blob, b);
  EXPECT_EQ((*keys)[1].comment, "second");
  auto none = parse_identities_answer(identities({}, 0));
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(AgentClient, IdentitiesBounded) {
  std::vector<std::pair<Bytes, std::string>> many;
  for (size_t i = 0; i <= kMaxAgentKeys; ++i) many.push_back({key_blob("ssh-ed25519", "x"), ""});
  auto over = parse_identities_answer(identities(many, uint32_t(many.size())));
  ASSERT_FALSE(over);
  EXPECT_NE(over.error().message.find("more than 64"), std::string::npos) << over.error().message;
  many.pop_back();
  EXPECT_TRUE(parse_identities_answer(identities(many, uint32_t(many.size()))));
  // A count the answer does not hold, trailing bytes, an empty key: malformed, not a crash.
  Bytes a = key_blob("ssh-ed25519", "a");
  EXPECT_FALSE(parse_identities_answer(identities({{a, ""}}, 2)));
  Bytes trailing = identities({{a, ""}}, 1);
  trailing.push_back(0);
  EXPECT_FALSE(parse_identities_answer(trailing));
  EXPECT_FALSE(parse_identities_answer(identities({{Bytes{}, ""}}, 1)));
  EXPECT_FALSE(parse_identities_answer(Bytes{}));
}

TEST(AgentClient, IdentitiesFailureAndOtherAnswers) {
  auto refused = parse_identities_answer(Bytes{kAgentFailure});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "the agent refused to list its keys");
  auto other = parse_identities_answer(Bytes{kAgentSignResponse, 0, 0, 0, 0});
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message.find("unexpected answer 14"), std::string::npos);
}

TEST(AgentClient, SignResponse) {
  Writer sig;
  sig.string("ssh-ed25519").string("sixty-four bytes of signature");
  Writer answer;
  answer.u8(kAgentSignResponse).string(ByteView(sig.buffer()));
  auto s = parse_sign_response(answer.buffer());
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(*s, sig.buffer());

  auto refused = parse_sign_response(Bytes{kAgentFailure});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "the agent refused to sign");
  EXPECT_FALSE(parse_sign_response(Bytes{kAgentIdentitiesAnswer, 0, 0, 0, 0}));
  // The signature blob must itself be "string algorithm, string signature" and nothing more.
  Writer bad;
  bad.u8(kAgentSignResponse).string("not a blob");
  EXPECT_FALSE(parse_sign_response(bad.buffer()));
  Writer extra;
  extra.u8(kAgentSignResponse).string(ByteView(sig.buffer())).u8(0);
  EXPECT_FALSE(parse_sign_response(extra.buffer()));
}

TEST(AgentFrameReader, ReassemblesSplitAndJoinedAnswers) {
  Bytes one = framed(Bytes{kAgentFailure});
  Bytes two = framed(identities({}, 0));
  Bytes stream = one;
  stream.insert(stream.end(), two.begin(), two.end());
  AgentFrameReader reader;
  // Byte by byte: nothing until an answer is whole.
  for (size_t i = 0; i < one.size(); ++i) {
    EXPECT_FALSE(reader.next_frame());
    ASSERT_TRUE(reader.received(ByteView(stream).subspan(i, 1)));
  }
  EXPECT_EQ(reader.next_frame(), Bytes{kAgentFailure});
  EXPECT_FALSE(reader.next_frame());
  ASSERT_TRUE(reader.received(ByteView(stream).subspan(one.size())));
  EXPECT_EQ(reader.next_frame(), identities({}, 0));
  EXPECT_FALSE(reader.next_frame());
  EXPECT_EQ(reader.buffered(), 0u);
  // Two in one piece.
  ASSERT_TRUE(reader.received(stream));
  EXPECT_EQ(reader.next_frame(), Bytes{kAgentFailure});
  EXPECT_EQ(reader.next_frame(), identities({}, 0));
}

TEST(AgentFrameReader, RefusesOverLongAndEmptyAnswers) {
  AgentFrameReader reader;
  Writer w;
  w.u32(uint32_t(kMaxAgentFrame));  // at the limit: still taken, and waited for
  EXPECT_TRUE(reader.received(w.buffer()));
  EXPECT_FALSE(reader.next_frame());
  EXPECT_TRUE(reader.error().empty());

  AgentFrameReader over;
  Writer big;
  big.u32(uint32_t(kMaxAgentFrame + 1)).u8(kAgentFailure);
  EXPECT_FALSE(over.received(big.buffer()));
  EXPECT_NE(over.error().find("over the limit"), std::string::npos) << over.error();
  EXPECT_EQ(over.buffered(), 0u);                             // nothing kept
  EXPECT_FALSE(over.received(framed(Bytes{kAgentFailure})));  // and nothing more taken
  EXPECT_FALSE(over.next_frame());

  AgentFrameReader empty;
  EXPECT_FALSE(empty.received(Bytes{0, 0, 0, 0}));
  EXPECT_FALSE(empty.error().empty());

  // An over-long answer that follows a good one in the same piece is found when the good one
  // is taken.
  AgentFrameReader later;
  Bytes stream = framed(Bytes{kAgentFailure});
  stream.insert(stream.end(), big.buffer().begin(), big.buffer().end());
  EXPECT_TRUE(later.received(stream));
  EXPECT_EQ(later.next_frame(), Bytes{kAgentFailure});
  EXPECT_FALSE(later.next_frame());
  EXPECT_FALSE(later.error().empty());
}

}  // namespace
}  // namespace postern
