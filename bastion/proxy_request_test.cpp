#include "bastion/proxy_request.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace postern::bastion {
namespace {

using Status = ProxyRequestParser::Status;

Bytes bytes(std::string_view s) {
  return Bytes(s.begin(), s.end());
}
Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

const Bytes kHttpOk = bytes("HTTP/1.1 200 Connection established\r\n\r\n");
const Bytes kSocks4Ok = {0, 90, 0, 0, 0, 0, 0, 0};
const Bytes kSocks4No = {0, 91, 0, 0, 0, 0, 0, 0};
const Bytes kSocks5Choice = {5, 0};
Bytes socks5_reply(uint8_t rep) {
  return {5, rep, 0, 1, 0, 0, 0, 0, 0, 0};
}
const Bytes kSocks5Hello = {5, 1, 0};  // one method: no authentication

struct Valid {
  const char* name;
  Bytes request;
  ProxyKind kind;
  std::string host;
  uint16_t port;
  Bytes reply;  // everything sent, method choice included
};

std::vector<Valid> valid_requests() {
  return {
      {"connect", bytes("CONNECT web1.internal:22 HTTP/1.1\r\nHost: web1.internal:22\r\n\r\n"),
       ProxyKind::kHttpConnect, "web1.internal", 22, kHttpOk},
      // netcat-openbsd's exact request (nc -X connect)
      {"connect nc", bytes("CONNECT 10.1.0.5:2222 HTTP/1.0\r\n\r\n"), ProxyKind::kHttpConnect,
       "10.1.0.5", 2222, kHttpOk},
      {"connect ipv6", bytes("CONNECT [::1]:22 HTTP/1.1\r\n\r\n"), ProxyKind::kHttpConnect, "::1",
       22, kHttpOk},
      {"connect bare LF", bytes("CONNECT db1:5432 HTTP/1.1\nProxy-Authorization: x\n\n"),
       ProxyKind::kHttpConnect, "db1", 5432, kHttpOk},
      {"socks4", {4, 1, 0, 22, 10, 1, 0, 5, 'u', 0}, ProxyKind::kSocks4, "10.1.0.5", 22, kSocks4Ok},
      {"socks4 no user id",
       {4, 1, 0x08, 0xae, 127, 0, 0, 1, 0},
       ProxyKind::kSocks4,
       "127.0.0.1",
       2222,
       kSocks4Ok},
      {"socks4a",
       cat({4, 1, 0, 22, 0, 0, 0, 1, 'b', 'o', 'b', 0}, bytes(std::string("web1.internal", 14))),
       ProxyKind::kSocks4a, "web1.internal", 22, kSocks4Ok},
      {"socks5 ipv4", cat(kSocks5Hello, {5, 1, 0, 1, 10, 1, 0, 5, 0, 22}), ProxyKind::kSocks5,
       "10.1.0.5", 22, cat(kSocks5Choice, socks5_reply(0))},
      {"socks5 domain",
       cat(kSocks5Hello, cat({5, 1, 0, 3, 4}, bytes(std::string_view("web1\x00\x16", 6)))),
       ProxyKind::kSocks5, "web1", 22, cat(kSocks5Choice, socks5_reply(0))},
      {"socks5 ipv6", cat(kSocks5Hello, {5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0,
                                         0, 0, 0, 0, 0,    0,    0,    0,    1, 0, 22}),
       ProxyKind::kSocks5, "2001:db8::1", 22, cat(kSocks5Choice, socks5_reply(0))},
      // Several methods offered (nc -X 5 offers only 0x00; others offer user/password too).
      {"socks5 methods", cat({5, 3, 2, 1, 0}, {5, 1, 0, 1, 127, 0, 0, 1, 0x04, 0x38}),
       ProxyKind::kSocks5, "127.0.0.1", 1080, cat(kSocks5Choice, socks5_reply(0))},
  };
}

TEST(ProxyRequest, ValidRequestsInOnePiece) {
  for (const Valid& v : valid_requests()) {
    SCOPED_TRACE(v.name);
    ProxyRequestParser p;
    auto step = p.feed(v.request);
    ASSERT_EQ(step.status, Status::kDone) << step.error;
    EXPECT_EQ(step.send, v.reply);
    EXPECT_EQ(p.kind(), v.kind);
    EXPECT_EQ(p.host(), v.host);
    EXPECT_EQ(p.port(), v.port);
    EXPECT_TRUE(p.leftover().empty());
  }
}

// Byte by byte: every proper prefix needs more and sends nothing but SOCKS5's method choice,
// once; the last byte completes the request with the same outcome.
TEST(ProxyRequest, ValidRequestsByteByByte) {
  for (const Valid& v : valid_requests()) {
    SCOPED_TRACE(v.name);
    ProxyRequestParser p;
    Bytes sent;
    for (size_t i = 0; i < v.request.size(); ++i) {
      auto step = p.feed(ByteView(&v.request[i], 1));
      sent.insert(sent.end(), step.send.begin(), step.send.end());
      if (i + 1 < v.request.size()) {
        ASSERT_EQ(step.status, Status::kNeedMore) << "at byte " << i << ": " << step.error;
      } else {
        ASSERT_EQ(step.status, Status::kDone) << step.error;
      }
    }
    EXPECT_EQ(sent, v.reply);
    EXPECT_EQ(p.host(), v.host);
    EXPECT_EQ(p.port(), v.port);
  }
}

TEST(ProxyRequest, BytesBehindTheRequestAreLeftOver) {
  for (const Valid& v : valid_requests()) {
    SCOPED_TRACE(v.name);
    ProxyRequestParser p;
    Bytes ssh = bytes("SSH-2.0-OpenSSH_9.2\r\n");
    auto step = p.feed(cat(v.request, ssh));
    ASSERT_EQ(step.status, Status::kDone) << step.error;
    EXPECT_EQ(p.leftover(), ssh);
  }
  // Beyond the parser's limit too: a request that ends early keeps what follows it.
  ProxyRequestParser p;
  Bytes big(3 * kMaxProxyRequest, 'x');
  ASSERT_EQ(p.feed(cat(bytes("CONNECT a:1 HTTP/1.1\r\n\r\n"), big)).status, Status::kDone);
  EXPECT_EQ(p.leftover(), big);
}

struct Refused {
  const char* name;
  Bytes request;
  Bytes reply_prefix;  // what the error reply starts with (empty: no reply at all)
};

Bytes http_error(int code) {
  return bytes(code == 405 ? "HTTP/1.1 405 Method Not Allowed\r\nAllow: CONNECT\r\n"
                           : "HTTP/1.1 400 Bad Request\r\n");
}

std::vector<Refused> refused_requests() {
  Bytes long_user = {4, 1, 0, 22, 10, 0, 0, 1};
  long_user.resize(long_user.size() + 300, 'u');
  Bytes long_host = {4, 1, 0, 22, 0, 0, 0, 1, 0};
  long_host.resize(long_host.size() + 300, 'h');
  return {
      {"garbage", bytes("\x01\x02\x03"), http_error(400)},
      {"ssh version instead", bytes("SSH-2.0-OpenSSH_9.2\r\n"), http_error(400)},
      {"get", bytes("GET / HTTP/1.1\r\n\r\n"), http_error(405)},
      {"lower-case method", bytes("connect a:22 HTTP/1.1\r\n\r\n"), http_error(400)},
      {"no port", bytes("CONNECT web1 HTTP/1.1\r\n\r\n"), http_error(400)},
      {"port 0", bytes("CONNECT web1:0 HTTP/1.1\r\n\r\n"), http_error(400)},
      {"port too big", bytes("CONNECT web1:65536 HTTP/1.1\r\n\r\n"), http_error(400)},
      {"http/2", bytes("CONNECT web1:22 HTTP/2.0\r\n\r\n"), http_error(400)},
      {"extra space", bytes("CONNECT  web1:22 HTTP/1.1\r\n\r\n"), http_error(400)},
      {"bad host", bytes("CONNECT we;b1:22 HTTP/1.1\r\n\r\n"), http_error(400)},
      {"ipv6 without brackets", bytes("CONNECT ::1:22 HTTP/1.1\r\n\r\n"), http_error(400)},
      {"folded header", bytes("CONNECT a:22 HTTP/1.1\r\nX: 1\r\n  2\r\n\r\n"), http_error(400)},
      {"header control char", bytes("CONNECT a:22 HTTP/1.1\r\nX: \x01\r\n\r\n"), http_error(400)},
      {"socks4 bind", {4, 2, 0, 22, 10, 0, 0, 1, 0}, kSocks4No},
      {"socks4 port 0", {4, 1, 0, 0, 10, 0, 0, 1, 0}, kSocks4No},
      {"socks4 0.0.0.0", {4, 1, 0, 22, 0, 0, 0, 0, 0}, kSocks4No},
      {"socks4 user id too long", long_user, kSocks4No},
      {"socks4a host too long", long_host, kSocks4No},
      {"socks4a bad host", cat({4, 1, 0, 22, 0, 0, 0, 9, 0}, bytes(std::string("a b", 4))),
       kSocks4No},
      {"socks5 no methods", {5, 0}, {5, 0xff}},
      {"socks5 only user/password", {5, 1, 2}, {5, 0xff}},
      {"socks5 bind", cat(kSocks5Hello, {5, 2, 0, 1, 10, 0, 0, 1, 0, 22}),
       cat(kSocks5Choice, socks5_reply(7))},
      {"socks5 udp associate", cat(kSocks5Hello, {5, 3, 0, 1, 10, 0, 0, 1, 0, 22}),
       cat(kSocks5Choice, socks5_reply(7))},
      {"socks5 wrong request version", cat(kSocks5Hello, {4, 1, 0, 1, 10, 0, 0, 1, 0, 22}),
       cat(kSocks5Choice, socks5_reply(1))},
      {"socks5 reserved byte", cat(kSocks5Hello, {5, 1, 1, 1, 10, 0, 0, 1, 0, 22}),
       cat(kSocks5Choice, socks5_reply(1))},
      {"socks5 address type", cat(kSocks5Hello, {5, 1, 0, 2, 10, 0, 0, 1, 0, 22}),
       cat(kSocks5Choice, socks5_reply(8))},
      {"socks5 empty domain", cat(kSocks5Hello, {5, 1, 0, 3, 0, 0, 22}),
       cat(kSocks5Choice, socks5_reply(4))},
      {"socks5 bad domain",
       cat(kSocks5Hello, cat({5, 1, 0, 3, 3}, bytes(std::string_view("a/b\x00\x16", 5)))),
       cat(kSocks5Choice, socks5_reply(4))},
      {"socks5 port 0", cat(kSocks5Hello, {5, 1, 0, 1, 10, 0, 0, 1, 0, 0}),
       cat(kSocks5Choice, socks5_reply(1))},
  };
}

TEST(ProxyRequest, RefusedRequestsGetTheirProtocolsErrorReply) {
  for (const Refused& r : refused_requests()) {
    SCOPED_TRACE(r.name);
    ProxyRequestParser p;
    auto step = p.feed(r.request);
    ASSERT_EQ(step.status, Status::kError);
    EXPECT_FALSE(step.error.empty());
    ASSERT_GE(step.send.size(), r.reply_prefix.size());
    EXPECT_EQ(Bytes(step.send.begin(), step.send.begin() + long(r.reply_prefix.size())),
              r.reply_prefix);
    // Once refused, nothing more is taken.
    EXPECT_EQ(p.feed(bytes("x")).status, Status::kError);
  }
}

TEST(ProxyRequest, HttpErrorsCarryAShortBodyOfTheirLength) {
  ProxyRequestParser p;
  auto step = p.feed(bytes("GET / HTTP/1.1\r\n\r\n"));
  std::string text(step.send.begin(), step.send.end());
  size_t body = text.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos);
  std::string content = text.substr(body + 4);
  EXPECT_EQ(content, "postern: only CONNECT is served here\n");
  EXPECT_NE(text.find("Content-Length: " + std::to_string(content.size()) + "\r\n"),
            std::string::npos);
  EXPECT_NE(text.find("Connection: close\r\n"), std::string::npos);
}

// Truncated requests wait for more and never answer early (no reply that could be mistaken
// for success), except SOCKS5's method choice once the greeting is whole.
TEST(ProxyRequest, TruncatedRequestsNeedMore) {
  struct Truncated {
    const char* name;
    Bytes request;
    Bytes sent;
  };
  const Truncated cases[] = {
      {"http line", bytes("CONNECT web1:22 HTTP/1.1"), {}},
      {"http headers", bytes("CONNECT web1:22 HTTP/1.1\r\nHost: web1\r\n"), {}},
      {"socks4 header", {4, 1, 0, 22}, {}},
      {"socks4 user id", {4, 1, 0, 22, 10, 0, 0, 1, 'u'}, {}},
      {"socks4a host", {4, 1, 0, 22, 0, 0, 0, 1, 0, 'w', 'e'}, {}},
      {"socks5 greeting", {5, 2, 0}, {}},
      {"socks5 request", cat(kSocks5Hello, {5, 1, 0, 3, 10, 'w'}), kSocks5Choice},
  };
  for (const Truncated& t : cases) {
    SCOPED_TRACE(t.name);
    ProxyRequestParser p;
    auto step = p.feed(t.request);
    EXPECT_EQ(step.status, Status::kNeedMore) << step.error;
    EXPECT_EQ(step.send, t.sent);
  }
}

TEST(ProxyRequest, OversizedRequestsAreRefusedAtTheLimit) {
  // Only an HTTP request can grow without bound (SOCKS fields have their own small limits,
  // tested above): header lines that never end, or a line that never does.
  struct Oversized {
    const char* name;
    Bytes start;
    Bytes filler;
  };
  const Oversized cases[] = {
      {"headers without end", bytes("CONNECT web1:22 HTTP/1.1\r\n"),
       bytes("X-Pad: aaaaaaaaaaaaaaaaaaaa\r\n")},
      {"request line without end", bytes("CONNECT "), Bytes(29, 'a')},
      {"header line without end", bytes("CONNECT web1:22 HTTP/1.1\r\nX: "), Bytes(29, 'a')},
  };
  for (const Oversized& o : cases) {
    SCOPED_TRACE(o.name);
    ProxyRequestParser p;
    auto step = p.feed(o.start);
    size_t fed = o.start.size();
    while (step.status == Status::kNeedMore && fed < 4 * kMaxProxyRequest) {
      EXPECT_TRUE(step.send.empty());
      step = p.feed(o.filler);
      fed += o.filler.size();
    }
    // Refused once the limit is reached, not before.
    ASSERT_EQ(step.status, Status::kError) << "after " << fed << " bytes";
    EXPECT_GE(fed, kMaxProxyRequest);
    EXPECT_LT(fed, kMaxProxyRequest + o.filler.size());
    Bytes prefix = http_error(400);
    ASSERT_GE(step.send.size(), prefix.size());
    EXPECT_EQ(Bytes(step.send.begin(), step.send.begin() + long(prefix.size())), prefix);
  }
}

// A request that is not whole by the deadline gets its own protocol's refusal.
TEST(ProxyRequest, ExpiredRequestsGetTheirProtocolsErrorReply) {
  struct Slow {
    const char* name;
    Bytes start;
    Bytes reply;  // everything sent, the expiry's reply included
  };
  const Slow cases[] = {
      {"nothing", {}, bytes("HTTP/1.1 408 Request Timeout\r\n")},
      {"http", bytes("CONNECT web1:22 HTTP/1.1\r\n"), bytes("HTTP/1.1 408 Request Timeout\r\n")},
      {"socks4", {4, 1, 0, 22}, kSocks4No},
      {"socks5 greeting", {5, 2, 0}, {5, 0xff}},
      {"socks5 request", cat(kSocks5Hello, {5, 1}), cat(kSocks5Choice, socks5_reply(1))},
  };
  for (const Slow& c : cases) {
    SCOPED_TRACE(c.name);
    ProxyRequestParser p;
    Bytes sent;
    if (!c.start.empty()) {
      auto step = p.feed(c.start);
      ASSERT_EQ(step.status, Status::kNeedMore);
      sent = step.send;
    }
    auto step = p.expire();
    ASSERT_EQ(step.status, Status::kError);
    sent.insert(sent.end(), step.send.begin(), step.send.end());
    ASSERT_GE(sent.size(), c.reply.size());
    EXPECT_EQ(Bytes(sent.begin(), sent.begin() + long(c.reply.size())), c.reply);
    EXPECT_EQ(p.feed(bytes("x")).status, Status::kError);
  }
}

TEST(ProxyRequest, ProxyHosts) {
  for (const char* ok : {"web1", "web1.internal.example", "10.1.0.5", "::1", "fe80::1", "a_b-c"})
    EXPECT_TRUE(is_proxy_host(ok)) << ok;
  for (const char* bad : {"", "-web", ".web", "web 1", "web/1", "[::1]", "::g", "we\x01"})
    EXPECT_FALSE(is_proxy_host(bad)) << bad;
  EXPECT_TRUE(is_proxy_host(std::string(kMaxProxyHost, 'a')));
  EXPECT_FALSE(is_proxy_host(std::string(kMaxProxyHost + 1, 'a')));
}

TEST(ProxyRequest, KindNames) {
  EXPECT_EQ(proxy_kind_name(ProxyKind::kHttpConnect), "http-connect");
  EXPECT_EQ(proxy_kind_name(ProxyKind::kSocks4), "socks4");
  EXPECT_EQ(proxy_kind_name(ProxyKind::kSocks4a), "socks4a");
  EXPECT_EQ(proxy_kind_name(ProxyKind::kSocks5), "socks5");
}

}  // namespace
}  // namespace postern::bastion
