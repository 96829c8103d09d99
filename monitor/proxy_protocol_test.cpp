#include "monitor/proxy_protocol.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "monitor/proxy_header_reader.h"
#include "monitor/session_outcome.h"

namespace postern::monitor {
namespace {

using proxy_protocol::Error;
using proxy_protocol::Parser;

std::vector<uint8_t> bytes(std::string_view s) {
  return {s.begin(), s.end()};
}

// Feeds `input` as a reader would: never more than wanted() at a time. Returns how many bytes
// the parser took.
size_t feed_all(Parser& p, const std::vector<uint8_t>& input) {
  size_t pos = 0;
  while (!p.done() && pos < input.size()) {
    size_t n = std::min(p.wanted(), input.size() - pos);
    p.feed({input.data() + pos, n});
    pos += n;
  }
  return pos;
}

Parser parse(const std::vector<uint8_t>& input) {
  Parser p;
  feed_all(p, input);
  return p;
}

std::string client_of(const Parser& p) {
  auto e = proxy_protocol::client_endpoint(p.header());
  return e.address + " " + std::to_string(e.port);
}

const std::string kSig("\r\n\r\n\0\r\nQUIT\n", 12);

// A v2 block: signature, ver_cmd, fam, length, then `body`.
std::vector<uint8_t> v2(uint8_t ver_cmd, uint8_t fam, const std::vector<uint8_t>& body) {
  auto out = bytes(kSig);
  out.push_back(ver_cmd);
  out.push_back(fam);
  out.push_back(uint8_t(body.size() >> 8));
  out.push_back(uint8_t(body.size()));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

std::vector<uint8_t> v4_body(const char* src, const char* dst, uint16_t sp, uint16_t dp) {
  std::vector<uint8_t> b(12);
  inet_pton(AF_INET, src, b.data());
  inet_pton(AF_INET, dst, b.data() + 4);
  b[8] = uint8_t(sp >> 8), b[9] = uint8_t(sp), b[10] = uint8_t(dp >> 8), b[11] = uint8_t(dp);
  return b;
}

// ---- v1 (§2.1) ----------------------------------------------------------------------------------

TEST(ProxyV1, SpecExampleTcp4) {
  auto in = bytes("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nSSH-2.0-x\r\n");
  Parser p;
  size_t used = feed_all(p, in);
  ASSERT_TRUE(p.done());
  ASSERT_EQ(p.error(), Error::kNone);
  EXPECT_EQ(p.header().version, 1);
  EXPECT_TRUE(p.header().has_client);
  EXPECT_EQ(client_of(p), "192.168.0.1 56324");
  // The SSH bytes behind the header are left for sshd-net.
  EXPECT_EQ(used, in.size() - std::string("SSH-2.0-x\r\n").size());
}

TEST(ProxyV1, Tcp6AndMappedAddresses) {
  auto p = parse(bytes("PROXY TCP6 2001:db8::1 2001:db8::2 65535 22\r\n"));
  ASSERT_EQ(p.error(), Error::kNone);
  EXPECT_EQ(client_of(p), "2001:db8::1 65535");
  p = parse(bytes("PROXY TCP6 ::ffff:10.1.2.3 ::1 1000 22\r\n"));
  ASSERT_EQ(p.error(), Error::kNone);
  EXPECT_EQ(client_of(p), "10.1.2.3 1000");
}

TEST(ProxyV1, LongestHeaderFitsAndOneMoreByteDoesNot) {
  std::string a6 = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
  // §2.1's worst case is UNKNOWN with two full IPv6 addresses.
  std::string longest = "PROXY UNKNOWN " + a6 + " " + a6 + " 65535 65535\r\n";
  ASSERT_EQ(longest.size(), proxy_protocol::kMaxV1Line);
  EXPECT_EQ(parse(bytes(longest)).error(), Error::kNone);
  EXPECT_EQ(parse(bytes("PROXY TCP6 " + a6 + " " + a6 + " 65535 65535\r\n")).error(), Error::kNone);
  EXPECT_EQ(parse(bytes("PROXY UNKNOWN " + std::string(100, 'x') + "\r\n")).error(),
            Error::kV1TooLong);
}

TEST(ProxyV1, UnknownKeepsTheRealAddress) {
  for (const char* s : {"PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff:: ffff:: 1 2\r\n"}) {
    auto p = parse(bytes(s));
    ASSERT_TRUE(p.done()) << s;
    EXPECT_EQ(p.error(), Error::kNone) << s;
    EXPECT_FALSE(p.header().has_client) << s;
  }
}

TEST(ProxyV1, MalformedLinesAreRefused) {
  for (const char* s :
       {"PROXY TCP4 192.168.0.1 192.168.0.11 56324\r\n",         // a field missing
        "PROXY TCP4 192.168.0.1  192.168.0.11 56324 443\r\n",    // two spaces
        "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\n",       // LF without CR
        "PROXY TCP4 2001:db8::1 192.168.0.11 56324 443\r\n",     // IPv6 under TCP4
        "PROXY TCP6 192.168.0.1 2001:db8::2 56324 443\r\n",      // IPv4 under TCP6
        "PROXY TCP4 192.168.0.1 192.168.0.11 65536 443\r\n",     // port out of range
        "PROXY TCP4 192.168.0.1 192.168.0.11 056324 443\r\n",    // leading zero
        "PROXY TCP4 192.168.0.01 192.168.0.11 56324 443\r\n",    // leading zero in the address
        "PROXY UDP4 192.168.0.1 192.168.0.11 56324 443\r\n",     // not a protocol of §2.1
        "PROXY TCP4 host.example 192.168.0.11 56324 443\r\n",    // a name
        "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443 x\r\n"})  // a field too many
    EXPECT_EQ(parse(bytes(s)).error(), Error::kV1Malformed) << s;
  // A line that ends inside the first bytes read.
  EXPECT_EQ(parse(bytes("PROXY TCP4\r\nSSH-2.0-x\r\n")).error(), Error::kV1Malformed);
}

TEST(ProxyV1, TruncatedHeaderWantsMore) {
  auto p = parse(bytes("PROXY TCP4 192.168.0.1 192.16"));
  EXPECT_FALSE(p.done());
  EXPECT_EQ(p.wanted(), 1u);
}

TEST(ProxyHeader, SshOrGarbageIsNotAHeader) {
  EXPECT_EQ(parse(bytes("SSH-2.0-OpenSSH_9.2\r\n")).error(), Error::kNotAHeader);
  EXPECT_EQ(parse(bytes("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n")).error(), Error::kNotAHeader);
  auto bad_sig = v2(0x21, 0x11, v4_body("1.2.3.4", "5.6.7.8", 1, 2));
  bad_sig[7] = 'q';
  EXPECT_EQ(parse(bad_sig).error(), Error::kNotAHeader);
}

TEST(ProxyHeader, FeedingPastTheHeaderIsAProgrammingError) {
  Parser p;
  auto in = bytes("PROXY UNKNOWN\r\nX");
  EXPECT_THROW(p.feed({in.data(), in.size()}), std::logic_error);
}

// ---- v2 (§2.2) ----------------------------------------------------------------------------------

TEST(ProxyV2, Tcp4WithTlvsSkipped) {
  auto body = v4_body("203.0.113.7", "198.51.100.1", 40000, 22);
  // A TLV (PP2_TYPE_AUTHORITY "example") after the addresses: ignored.
  for (uint8_t b : std::vector<uint8_t>{0x02, 0x00, 0x07, 'e', 'x', 'a', 'm', 'p', 'l', 'e'})
    body.push_back(b);
  auto in = v2(0x21, 0x11, body);
  size_t header_size = in.size();
  auto ssh = bytes("SSH-2.0-x\r\n");
  in.insert(in.end(), ssh.begin(), ssh.end());
  Parser p;
  EXPECT_EQ(feed_all(p, in), header_size);
  ASSERT_EQ(p.error(), Error::kNone);
  EXPECT_EQ(p.header().version, 2);
  EXPECT_EQ(client_of(p), "203.0.113.7 40000");
}

TEST(ProxyV2, Tcp6) {
  std::vector<uint8_t> body(36);
  inet_pton(AF_INET6, "2001:db8::7", body.data());
  inet_pton(AF_INET6, "2001:db8::1", body.data() + 16);
  body[32] = 0x01, body[33] = 0xbb, body[34] = 0, body[35] = 22;
  auto p = parse(v2(0x21, 0x21, body));
  ASSERT_EQ(p.error(), Error::kNone);
  EXPECT_EQ(client_of(p), "2001:db8::7 443");
}

TEST(ProxyV2, LocalAndUnspecKeepTheRealAddress) {
  for (auto in : {v2(0x20, 0x00, {}), v2(0x20, 0x11, v4_body("1.2.3.4", "5.6.7.8", 1, 2)),
                  v2(0x21, 0x00, {1, 2, 3})}) {
    auto p = parse(in);
    ASSERT_TRUE(p.done());
    EXPECT_EQ(p.error(), Error::kNone);
    EXPECT_FALSE(p.header().has_client);
  }
}

TEST(ProxyV2, BadFieldsAreRefused) {
  auto body = v4_body("1.2.3.4", "5.6.7.8", 1, 2);
  EXPECT_EQ(parse(v2(0x11, 0x11, body)).error(), Error::kV2BadVersion);
  EXPECT_EQ(parse(v2(0x22, 0x11, body)).error(), Error::kV2BadCommand);
  EXPECT_EQ(parse(v2(0x21, 0x12, body)).error(), Error::kV2BadFamily);  // UDP
  EXPECT_EQ(parse(v2(0x21, 0x31, std::vector<uint8_t>(216))).error(), Error::kV2BadFamily);
  EXPECT_EQ(parse(v2(0x21, 0x11, {1, 2, 3, 4, 5, 6, 7, 8})).error(), Error::kV2ShortAddress);
  EXPECT_EQ(parse(v2(0x21, 0x21, body)).error(), Error::kV2ShortAddress);  // 12 bytes for IPv6
}

TEST(ProxyV2, OversizeIsRefusedBeforeReadingIt) {
  auto in = v2(0x21, 0x11, std::vector<uint8_t>(proxy_protocol::kMaxV2Payload + 1));
  Parser p;
  EXPECT_EQ(feed_all(p, in), proxy_protocol::kV2Fixed);  // refused on the length field alone
  EXPECT_EQ(p.error(), Error::kV2TooLong);
  EXPECT_EQ(parse(v2(0x21, 0x11, std::vector<uint8_t>(proxy_protocol::kMaxV2Payload))).error(),
            Error::kNone);  // the largest allowed: TLVs up to the bound
}

TEST(ProxyV2, TruncatedHeaderWantsExactlyTheRest) {
  auto in = v2(0x21, 0x11, v4_body("1.2.3.4", "5.6.7.8", 1, 2));
  in.resize(20);
  Parser p;
  feed_all(p, in);
  EXPECT_FALSE(p.done());
  EXPECT_EQ(p.wanted(), 8u);
}

// ---- the reader and its record ------------------------------------------------------------------

TEST(ProxyHeaderReader, ReadsOnlyTheHeaderOffASocket) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  std::string in = "PROXY TCP4 10.9.8.7 10.0.0.1 1234 22\r\nSSH-2.0-rest\r\n";
  ASSERT_EQ(write(sv[1], in.data(), in.size()), ssize_t(in.size()));
  auto r = read_proxy_header(sv[0], 1000);
  ASSERT_EQ(r.error, Error::kNone);
  EXPECT_EQ(proxy_protocol::client_endpoint(r.header).address, "10.9.8.7");
  char rest[64] = {};
  EXPECT_EQ(read(sv[0], rest, sizeof rest), 14);
  EXPECT_STREQ(rest, "SSH-2.0-rest\r\n");
  close(sv[0]);
  close(sv[1]);
}

TEST(ProxyHeaderReader, SilentOrClosingPeers) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ASSERT_EQ(write(sv[1], "PROXY TCP4 ", 11), 11);
  EXPECT_EQ(read_proxy_header(sv[0], 200).error, Error::kTimeout);
  close(sv[1]);
  EXPECT_EQ(read_proxy_header(sv[0], 200).error, Error::kClosed);
  close(sv[0]);
}

TEST(ProxyHeaderReader, RecordRoundTripsAndNonsenseIsRefused) {
  ProxyHeaderResult r;
  r.header.version = 2;
  r.header.has_client = true;
  r.header.family = AF_INET6;
  inet_pton(AF_INET6, "2001:db8::9", r.header.address.data());
  r.header.port = 0xbeef;
  auto rec = encode_result(r);
  auto back = decode_result(rec);
  ASSERT_TRUE(back);
  EXPECT_EQ(proxy_protocol::client_endpoint(back->header).address, "2001:db8::9");
  EXPECT_EQ(back->header.port, 0xbeef);
  auto bad = rec;
  bad[3] = 5;  // no such family
  EXPECT_FALSE(decode_result(bad));
  bad = rec;
  bad[0] = uint8_t(Error::kCount);
  EXPECT_FALSE(decode_result(bad));
  EXPECT_FALSE(decode_result({rec.data(), rec.size() - 1}));
}

// ---- the listener's side of the startup pipe ---------------------------------------------------

TEST(StartupReport, SourceRecordThenOutcome) {
  auto r = parse_startup_report("S2001:db8::1\nF");
  ASSERT_TRUE(r.proxied_source);
  EXPECT_EQ(*r.proxied_source, "2001:db8::1");
  EXPECT_EQ(r.outcome, SessionOutcome::kAuthFail);
  r = parse_startup_report("S10.0.0.1\n");
  EXPECT_EQ(*r.proxied_source, "10.0.0.1");
  EXPECT_FALSE(r.outcome);
  EXPECT_FALSE(r.eof);
  EXPECT_TRUE(parse_startup_report("").eof);
  EXPECT_EQ(parse_startup_report("A").outcome, SessionOutcome::kAuthenticated);
  EXPECT_FALSE(parse_startup_report("S10.0.0.1").proxied_source);  // no end: ignored
}

}  // namespace
}  // namespace postern::monitor
