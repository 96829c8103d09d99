#include "common/authorized_keys.h"

#include <gtest/gtest.h>

#include "common/ssh_key.h"

namespace postern {
namespace {

class AuthorizedKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = PrivateKey::generate(KeyType::kEd25519);
    ASSERT_TRUE(key);
    m_text = key->public_key().to_openssh_text();
    m_blob = key->public_key().blob();
  }
  AuthorizedKey parse_ok(const std::string& line) {
    auto r = parse_authorized_keys_line(line);
    EXPECT_TRUE(r) << line << ": " << (r ? "" : r.error().message);
    if (!r || !*r) {
      ADD_FAILURE() << "no key in " << line;
      return {};
    }
    EXPECT_EQ((*r)->blob, m_blob);
    return **r;
  }
  std::string m_text;
  Bytes m_blob;
};

TEST_F(AuthorizedKeysTest, BlankAndCommentLines) {
  for (const char* line : {"", "   ", "\t\n", "# comment", "   # indented comment"}) {
    auto r = parse_authorized_keys_line(line);
    ASSERT_TRUE(r) << line;
    EXPECT_FALSE(*r) << line;
  }
}

// OpenSSH 10.5's ML-DSA-44 hybrid starts a line like any key type, with or without options.
TEST_F(AuthorizedKeysTest, MlDsaKeyLines) {
  auto key = PrivateKey::generate(KeyType::kMlDsa44Ed25519);
  ASSERT_TRUE(key);
  m_text = key->public_key().to_openssh_text();
  m_blob = key->public_key().blob();
  EXPECT_EQ(parse_ok(m_text + " alice@pq").key_type, "ssh-mldsa44-ed25519@openssh.com");
  EXPECT_TRUE(parse_ok("restrict,pty " + m_text).options.permit_pty);
  EXPECT_FALSE(parse_ok("restrict " + m_text).options.permit_pty);
}

TEST_F(AuthorizedKeysTest, PlainKeyWithAndWithoutComment) {
  auto k = parse_ok(m_text);
  EXPECT_EQ(k.key_type, "ssh-ed25519");
  EXPECT_EQ(k.comment, "");
  EXPECT_EQ(k.options, AuthorizedKeyOptions{});
  k = parse_ok("  " + m_text + "   user@host with spaces  \r\n");
  EXPECT_EQ(k.comment, "user@host with spaces");
}

TEST_F(AuthorizedKeysTest, QuotedValuesWithSpacesCommasAndEscapes) {
  auto k = parse_ok(R"(command="echo \"a, b\" c",no-pty,environment="A=1 2" )" + m_text + " c");
  ASSERT_TRUE(k.options.command);
  EXPECT_EQ(*k.options.command, R"(echo "a, b" c)");
  EXPECT_FALSE(k.options.permit_pty);
  ASSERT_EQ(k.options.environment.size(), 1u);
  EXPECT_EQ(k.options.environment[0], "A=1 2");
  EXPECT_EQ(k.comment, "c");
  // A backslash not before a quote stays literal; one before a quote always escapes it.
  k = parse_ok(R"(command="a\b\c" )" + m_text);
  EXPECT_EQ(*k.options.command, R"(a\b\c)");
  EXPECT_FALSE(parse_authorized_keys_line(R"(command="a\" )" + m_text));
}

TEST_F(AuthorizedKeysTest, EveryDocumentedOption) {
  auto k = parse_ok(
      "cert-authority,principals=\"a,b\",from=\"*.example.com,!bad.example.com,10.0.0.0/8\","
      "expiry-time=\"20990101Z\",permitopen=\"host:22\",permitopen=\"[::1]:*\","
      "permitlisten=\"8080\",permitlisten=\"localhost:*\",tunnel=\"3\",no-touch-required,"
      "verify-required,no-agent-forwarding,no-port-forwarding,no-user-rc,no-X11-forwarding " +
      m_text);
  const auto& o = k.options;
  EXPECT_TRUE(o.cert_authority);
  EXPECT_EQ(o.principals, "a,b");
  EXPECT_EQ(o.from, "*.example.com,!bad.example.com,10.0.0.0/8");
  ASSERT_TRUE(o.expiry_time);
  EXPECT_EQ(*o.expiry_time, time_t(4070908800));
  EXPECT_EQ(o.permitopen, (std::vector<std::string>{"host:22", "[::1]:*"}));
  EXPECT_EQ(o.permitlisten, (std::vector<std::string>{"8080", "localhost:*"}));
  EXPECT_EQ(o.tunnel, "3");
  EXPECT_TRUE(o.no_touch_required);
  EXPECT_TRUE(o.verify_required);
  EXPECT_FALSE(o.permit_agent_forwarding);
  EXPECT_FALSE(o.permit_port_forwarding);
  EXPECT_FALSE(o.permit_user_rc);
  EXPECT_FALSE(o.permit_x11_forwarding);
  EXPECT_TRUE(o.permit_pty);
}

TEST_F(AuthorizedKeysTest, RestrictThenReenable) {
  auto k = parse_ok("restrict,pty,Agent-Forwarding " + m_text);
  EXPECT_TRUE(k.options.restrict);
  EXPECT_TRUE(k.options.permit_pty);
  EXPECT_TRUE(k.options.permit_agent_forwarding);
  EXPECT_FALSE(k.options.permit_port_forwarding);
  EXPECT_FALSE(k.options.permit_user_rc);
  EXPECT_FALSE(k.options.permit_x11_forwarding);
  k = parse_ok("pty,x11-forwarding,port-forwarding,user-rc,restrict " + m_text);
  EXPECT_FALSE(k.options.permit_pty);
  EXPECT_FALSE(k.options.permit_x11_forwarding);
}

TEST_F(AuthorizedKeysTest, BadOptionsMakeTheLineAnError) {
  for (std::string opts : {
           "bogus-option",
           "no-pty,bogus",
           "command=unquoted",
           "command=\"unterminated",
           "command",
           "no-pty,",
           ",no-pty",
           "no-pty,,no-x11-forwarding",
           "no-pty=\"x\"",
           "command=\"a\"x",
           "command=\"a\",command=\"b\"",
           "environment=\"NOEQUALS\"",
           "environment=\"=value\"",
           "expiry-time=\"2020\"",
           "expiry-time=\"20201301\"",
           "permitopen=\"nohostport\"",
           "permitopen=\"host:99999\"",
           "permitlisten=\"host:port\"",
           "tunnel=\"tun0\"",
           "from=\"\"",
       }) {
    auto r = parse_authorized_keys_line(opts + " " + m_text);
    EXPECT_FALSE(r) << opts;
    if (!r) {
      EXPECT_FALSE(r.error().message.empty());
    }
  }
}

TEST_F(AuthorizedKeysTest, BadKeyData) {
  EXPECT_FALSE(parse_authorized_keys_line("ssh-ed25519"));
  EXPECT_FALSE(parse_authorized_keys_line("ssh-ed25519 not*base64"));
  EXPECT_FALSE(parse_authorized_keys_line("no-pty ssh-ed25519"));
  // Type on the line disagrees with the blob.
  EXPECT_FALSE(parse_authorized_keys_line("ssh-rsa" + m_text.substr(11)));
  // Options-looking garbage that is really an unknown key type.
  EXPECT_FALSE(parse_authorized_keys_line("ssh-foo AAAA"));
  // Truncated blob.
  EXPECT_FALSE(parse_authorized_keys_line("ssh-ed25519 AAAA"));
}

TEST_F(AuthorizedKeysTest, UnsupportedButKnownTypesStillParse) {
  // A DSA key from an old file is a line without options, not a bad options field.
  std::string dss_blob_b64 = "AAAAB3NzaC1kc3MAAAABAQ==";  // string "ssh-dss", string "\x01"
  auto r = parse_authorized_keys_line("ssh-dss " + dss_blob_b64 + " old");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(*r);
  EXPECT_EQ((*r)->key_type, "ssh-dss");
}

TEST(ExpiryTime, Formats) {
  EXPECT_EQ(parse_expiry_time("20300101Z"), time_t(1893456000));
  EXPECT_EQ(parse_expiry_time("203001010102Z"), time_t(1893456000 + 3600 + 120));
  EXPECT_EQ(parse_expiry_time("20300101010203Z"), time_t(1893456000 + 3600 + 120 + 3));
  EXPECT_TRUE(parse_expiry_time("20300101"));  // local time
  EXPECT_FALSE(parse_expiry_time(""));
  EXPECT_FALSE(parse_expiry_time("2030010"));
  EXPECT_FALSE(parse_expiry_time("2030010101"));
  EXPECT_FALSE(parse_expiry_time("20300132"));
  EXPECT_FALSE(parse_expiry_time("2030-01-01"));
  AuthorizedKeyOptions o;
  EXPECT_TRUE(key_not_expired(o, 2000000000));
  o.expiry_time = 1893456000;
  EXPECT_TRUE(key_not_expired(o, 1893455999));
  EXPECT_FALSE(key_not_expired(o, 1893456001));
}

TEST(ExpiryTime, EarliestOfSeveralWins) {
  auto o = parse_authorized_key_options("expiry-time=\"20400101Z\",expiry-time=\"20300101Z\"");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->expiry_time, time_t(1893456000));
}

TEST(FromOption, HostsAddressesAndCidr) {
  EXPECT_TRUE(from_permits("*.example.com", "Host.Example.COM", "192.0.2.1"));
  EXPECT_FALSE(from_permits("*.example.com", "", "192.0.2.1"));
  EXPECT_TRUE(from_permits("192.0.2.*", "", "192.0.2.1"));
  EXPECT_TRUE(from_permits("192.0.2.0/24", "", "192.0.2.77"));
  EXPECT_FALSE(from_permits("192.0.2.0/24", "", "192.0.3.77"));
  EXPECT_FALSE(from_permits("*,!192.0.2.1", "", "192.0.2.1"));
  EXPECT_TRUE(from_permits("*,!192.0.2.1", "", "192.0.2.2"));
  EXPECT_FALSE(from_permits("10.0.0.0/8,!10.1.0.0/16", "", "10.1.2.3"));
  EXPECT_TRUE(from_permits("10.0.0.0/8,!10.1.0.0/16", "", "10.2.2.3"));
  EXPECT_FALSE(from_permits("!*.evil.org,*", "x.evil.org", "1.2.3.4"));
  EXPECT_TRUE(from_permits("2001:db8::/32", "", "2001:db8::1"));
  EXPECT_FALSE(from_permits("2001:db8::/32", "", "2001:db9::1"));
  EXPECT_FALSE(from_permits("2001:db8::/32", "", "192.0.2.1"));
}

TEST(FromOption, Cidr) {
  EXPECT_TRUE(cidr_match("127.0.0.1", "127.0.0.1"));
  EXPECT_TRUE(cidr_match("127.0.0.1", "0.0.0.0/0"));
  EXPECT_TRUE(cidr_match("10.0.0.1", "10.0.0.0/31"));
  EXPECT_FALSE(cidr_match("10.0.0.2", "10.0.0.0/31"));
  EXPECT_FALSE(cidr_match("10.0.0.1", "10.0.0.1/24"));  // host bits set: malformed
  EXPECT_FALSE(cidr_match("10.0.0.1", "10.0.0.0/33"));
  EXPECT_FALSE(cidr_match("10.0.0.1", "10.0.0.0/"));
  EXPECT_FALSE(cidr_match("10.0.0.1", "garbage/8"));
  EXPECT_FALSE(cidr_match("garbage", "10.0.0.0/8"));
}

}  // namespace
}  // namespace postern
