// The SOCKS5 CONNECT client (RFC 1928) the monitor speaks through an extender: the bytes it
// sends, the replies it takes (and never a byte past them), and every failure named.
#include "bastion/socks5_client.h"

#include <gtest/gtest.h>

namespace postern::bastion {
namespace {

using State = Socks5Connect::State;

// Feeds `data` the way a socket loop would: never more than wanted() at a time.
void feed(Socks5Connect& c, const Bytes& data) {
  size_t at = 0;
  while (at < data.size() && c.wanted() > 0) {
    size_t n = std::min(c.wanted(), data.size() - at);
    c.on_input(ByteView(data.data() + at, n));
    at += n;
  }
}

TEST(Socks5Connect, GreetingOffersOnlyNoAuthentication) {
  Socks5Connect c("db1.internal", 5432);
  EXPECT_EQ(c.take_output(), (Bytes{5, 1, 0}));
  EXPECT_TRUE(c.take_output().empty());  // the request waits for the method selection
  EXPECT_EQ(c.wanted(), 2u);
}

TEST(Socks5Connect, DomainNameRequestAfterTheMethodAndADoneReply) {
  Socks5Connect c("db1.internal", 5432);
  c.take_output();
  feed(c, {5, 0});
  EXPECT_EQ(c.state(), State::kReply);
  Bytes expected = {5, 1, 0, 3, 12};
  for (char ch : std::string("db1.internal")) expected.push_back(uint8_t(ch));
  expected.push_back(5432 >> 8);
  expected.push_back(5432 & 0xff);
  EXPECT_EQ(c.take_output(), expected);
  EXPECT_EQ(c.wanted(), 5u);
  feed(c, {5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90});
  EXPECT_EQ(c.state(), State::kDone) << c.error();
  EXPECT_EQ(c.wanted(), 0u);
}

TEST(Socks5Connect, AddressLiteralsGoAsAddresses) {
  Socks5Connect v4("10.2.3.4", 22);
  v4.take_output();
  feed(v4, {5, 0});
  EXPECT_EQ(v4.take_output(), (Bytes{5, 1, 0, 1, 10, 2, 3, 4, 0, 22}));
  Socks5Connect v6("2001:db8::1", 2222);
  v6.take_output();
  feed(v6, {5, 0});
  Bytes out = v6.take_output();
  ASSERT_EQ(out.size(), 4u + 16 + 2);
  EXPECT_EQ(out[3], 4);
  EXPECT_EQ(out[4], 0x20);
  EXPECT_EQ(out[5], 0x01);
  EXPECT_EQ(out[19], 1);
  EXPECT_EQ(out[20], 2222 >> 8);
}

TEST(Socks5Connect, ReplyLengthFollowsItsAddressTypeAndNothingBeyondIsWanted) {
  // OpenSSH answers with an IPv4 bound address; a domain or IPv6 one must be read to its end
  // and not one byte further (the target's version line follows on the same stream).
  Socks5Connect c("web", 22);
  c.take_output();
  feed(c, {5, 0});
  c.take_output();
  c.on_input(Bytes{5, 0, 0, 3, 4});
  EXPECT_EQ(c.wanted(), 4u + 2);
  c.on_input(Bytes{'h', 'o', 's', 't', 0});
  EXPECT_EQ(c.wanted(), 1u);
  c.on_input(Bytes{22});
  EXPECT_EQ(c.state(), State::kDone);
  Socks5Connect six("web", 22);
  six.take_output();
  feed(six, {5, 0});
  six.on_input(Bytes{5, 0, 0, 4, 0});
  EXPECT_EQ(six.wanted(), 16u + 2 - 1);
}

TEST(Socks5Connect, FailureRepliesAreNamed) {
  for (auto [code, text] : {std::pair<uint8_t, std::string>{5, "connection refused"},
                            {4, "host unreachable"},
                            {1, "general SOCKS server failure"},
                            {2, "connection not allowed by ruleset"},
                            {99, "unknown failure"}}) {
    Socks5Connect c("web", 22);
    c.take_output();
    feed(c, {5, 0});
    feed(c, {5, code, 0, 1, 0, 0, 0, 0, 0, 0});
    EXPECT_EQ(c.state(), State::kFailed);
    EXPECT_EQ(c.error(), text + " (SOCKS reply " + std::to_string(code) + ")");
    EXPECT_EQ(c.wanted(), 0u);
  }
}

TEST(Socks5Connect, AFailureWithABadAddressTypeStillSaysWhy) {
  Socks5Connect c("web", 22);
  c.take_output();
  feed(c, {5, 0});
  feed(c, {5, 5, 0, 0, 0});
  EXPECT_EQ(c.state(), State::kFailed);
  EXPECT_EQ(c.error(), "connection refused (SOCKS reply 5)");
  Socks5Connect ok("web", 22);
  ok.take_output();
  feed(ok, {5, 0});
  feed(ok, {5, 0, 0, 9, 0});
  EXPECT_EQ(ok.state(), State::kFailed);
  EXPECT_NE(ok.error().find("address type 9"), std::string::npos) << ok.error();
}

TEST(Socks5Connect, WrongVersionsAndMethodsFail) {
  Socks5Connect http("web", 22);
  http.take_output();
  feed(http, {'H', 'T'});
  EXPECT_EQ(http.state(), State::kFailed);
  EXPECT_NE(http.error().find("not a SOCKS5 server"), std::string::npos);
  Socks5Connect none("web", 22);
  none.take_output();
  feed(none, {5, 0xff});
  EXPECT_EQ(none.state(), State::kFailed);
  EXPECT_NE(none.error().find("no method"), std::string::npos);
  Socks5Connect other("web", 22);
  other.take_output();
  feed(other, {5, 2});
  EXPECT_EQ(other.state(), State::kFailed);
  EXPECT_NE(other.error().find("not offered"), std::string::npos);
  Socks5Connect v4reply("web", 22);
  v4reply.take_output();
  feed(v4reply, {5, 0});
  v4reply.take_output();
  feed(v4reply, {0, 90, 0, 0, 0});  // a SOCKS4 answer
  EXPECT_EQ(v4reply.state(), State::kFailed);
}

TEST(Socks5Connect, UnusableDestinationsFailBeforeAnythingIsSent) {
  Socks5Connect empty("", 22);
  EXPECT_EQ(empty.state(), State::kFailed);
  EXPECT_TRUE(empty.take_output().empty());
  Socks5Connect long_name(std::string(256, 'a'), 22);
  EXPECT_EQ(long_name.state(), State::kFailed);
  Socks5Connect zero("web", 0);
  EXPECT_EQ(zero.state(), State::kFailed);
  Socks5Connect longest(std::string(255, 'a'), 22);
  EXPECT_EQ(longest.state(), State::kGreeting);
}

TEST(Socks5Connect, MoreThanWantedIsRefusedNotBuffered) {
  Socks5Connect c("web", 22);
  c.take_output();
  c.on_input(Bytes{5, 0, 5});
  EXPECT_EQ(c.state(), State::kFailed);
}

// Found by regress/fuzz/socks5_reply_fuzz.cpp: an empty read after a refused greeting re-ran
// the last step on the greeting's bytes and ended the exchange kDone.
TEST(Socks5Connect, AnEndedExchangeStaysAsItEnded) {
  Socks5Connect failed("web", 22);
  failed.take_output();
  feed(failed, {0, 0});
  ASSERT_EQ(failed.state(), State::kFailed);
  std::string why = failed.error();
  failed.on_input({});
  failed.on_input(Bytes{5});
  EXPECT_EQ(failed.state(), State::kFailed);
  EXPECT_EQ(failed.error(), why);
  EXPECT_TRUE(failed.take_output().empty());

  Socks5Connect done("web", 22);
  done.take_output();
  feed(done, {5, 0, 5, 0, 0, 1, 10, 0, 0, 1, 0, 22});
  ASSERT_EQ(done.state(), State::kDone);
  done.on_input({});
  EXPECT_EQ(done.state(), State::kDone);
  EXPECT_EQ(done.wanted(), 0u);
}

}  // namespace
}  // namespace postern::bastion
