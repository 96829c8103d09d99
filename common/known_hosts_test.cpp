#include "common/known_hosts.h"

#include <gtest/gtest.h>

namespace postern {
namespace {

// A key and its hashed entry for "example.com" as `ssh-keygen -H` wrote them.
constexpr const char* kKey =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGwTL0kTgJPpZPG+DScmB8metuPRAWwrjUvuFnNa4kEm";
constexpr const char* kHashedExample =
    "|1|eNne8hsLymlF1gag5duper7SIe4=|RUbsk9yuOXbltuMFQhtHVi8IZoo=";

PublicKey key() {
  return *PublicKey::from_openssh_text(kKey);
}

PublicKey other_key() {
  auto k = PrivateKey::generate(KeyType::kEd25519);
  return k->public_key();
}

// OpenSSH 10.5's ML-DSA-44 hybrid host keys (and CAs of that type) in known_hosts lines.
TEST(KnownHostsLine, MlDsaKeys) {
  auto pq = PrivateKey::generate(KeyType::kMlDsa44Ed25519);
  ASSERT_TRUE(pq);
  std::string text = pq->public_key().to_openssh_text();
  auto plain = parse_known_hosts_line("pq.example.com " + text + " host");
  ASSERT_TRUE(plain);
  EXPECT_TRUE(plain->key == pq->public_key());
  auto ca = parse_known_hosts_line("@cert-authority *.example.com " + text);
  ASSERT_TRUE(ca);
  EXPECT_EQ(ca->marker, KnownHostMarker::kCertAuthority);
  EXPECT_TRUE(ca->key == pq->public_key());
}

TEST(KnownHostsLine, ParsesMarkersAndSkipsComments) {
  EXPECT_FALSE(parse_known_hosts_line("# comment"));
  EXPECT_FALSE(parse_known_hosts_line("   "));
  EXPECT_FALSE(parse_known_hosts_line(""));
  auto plain = parse_known_hosts_line(std::string("a,b ") + kKey + " comment", 3);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->marker, KnownHostMarker::kNone);
  EXPECT_EQ(plain->hosts, "a,b");
  EXPECT_EQ(plain->line_no, 3u);
  EXPECT_TRUE(plain->key == key());
  auto ca = parse_known_hosts_line(std::string("@cert-authority *.example.com ") + kKey);
  ASSERT_TRUE(ca);
  EXPECT_EQ(ca->marker, KnownHostMarker::kCertAuthority);
  auto revoked = parse_known_hosts_line(std::string("@revoked\t* ") + kKey + "\r");
  ASSERT_TRUE(revoked);
  EXPECT_EQ(revoked->marker, KnownHostMarker::kRevoked);
}

TEST(KnownHostsLine, RefusesMalformedLines) {
  EXPECT_FALSE(parse_known_hosts_line(std::string("@bogus host ") + kKey));
  EXPECT_FALSE(parse_known_hosts_line("@revoked"));
  EXPECT_FALSE(parse_known_hosts_line("host ssh-ed25519 !!notbase64"));
  EXPECT_FALSE(parse_known_hosts_line("host ssh-ed25519"));
  EXPECT_FALSE(parse_known_hosts_line("host"));
}

TEST(KnownHostsField, PatternsNegationAndCase) {
  EXPECT_TRUE(known_hosts_field_matches("a.example.com,b", "A.Example.COM"));
  EXPECT_TRUE(known_hosts_field_matches("*.example.com", "x.example.com"));
  EXPECT_TRUE(known_hosts_field_matches("host?", "host1"));
  EXPECT_FALSE(known_hosts_field_matches("host?", "host12"));
  EXPECT_FALSE(known_hosts_field_matches("*.example.com,!bad.example.com", "bad.example.com"));
  EXPECT_TRUE(known_hosts_field_matches("*.example.com,!bad.example.com", "ok.example.com"));
  EXPECT_FALSE(known_hosts_field_matches("other", "host"));
}

TEST(KnownHostsField, Ports) {
  EXPECT_TRUE(known_hosts_field_matches("[host]:2222", "host", 2222));
  EXPECT_FALSE(known_hosts_field_matches("[host]:2222", "host"));
  EXPECT_FALSE(known_hosts_field_matches("host", "host", 2222));
}

TEST(KnownHostsField, HashedNames) {
  EXPECT_TRUE(known_hosts_field_matches(kHashedExample, "example.com"));
  EXPECT_TRUE(known_hosts_field_matches(kHashedExample, "EXAMPLE.com"));
  EXPECT_FALSE(known_hosts_field_matches(kHashedExample, "example.org"));
  EXPECT_FALSE(known_hosts_field_matches("|1|garbage", "example.com"));
  EXPECT_FALSE(known_hosts_field_matches("|1|AAAA|AAAA", "example.com"));
  Bytes salt(20, 7);
  std::string h = hash_known_host_name("Host.Example", salt);
  EXPECT_TRUE(known_hosts_field_matches(h, "host.example"));
  EXPECT_FALSE(known_hosts_field_matches(h, "host.exampl"));
}

TEST(KnownHostsLookup, PlainCaAndRevoked) {
  std::string text =
      std::string("# known hosts\nother.host ") + kKey + "\n" + kHashedExample + " " + kKey + "\n";
  auto r = lookup_known_host(text, "example.com", key());
  EXPECT_EQ(r.status, KnownHostStatus::kFound);
  EXPECT_EQ(r.line_no, 3u);
  EXPECT_EQ(lookup_known_host(text, "third.host", key()).status, KnownHostStatus::kNotFound);
  EXPECT_EQ(lookup_known_host(text, "example.com", other_key()).status, KnownHostStatus::kNotFound);
  // A plain line never makes a key a CA, and a CA line never accepts the key itself.
  EXPECT_EQ(lookup_known_host(text, "example.com", key(), true).status, KnownHostStatus::kNotFound);
  std::string ca_text = std::string("@cert-authority *.com ") + kKey + "\n";
  EXPECT_EQ(lookup_known_host(ca_text, "example.com", key(), true).status, KnownHostStatus::kFound);
  EXPECT_EQ(lookup_known_host(ca_text, "example.com", key()).status, KnownHostStatus::kNotFound);
  // @revoked wins, wherever it is in the file.
  std::string revoked = text + "@revoked * " + kKey + "\n";
  EXPECT_EQ(lookup_known_host(revoked, "example.com", key()).status, KnownHostStatus::kRevoked);
  EXPECT_EQ(lookup_known_host(ca_text + "@revoked * " + kKey, "example.com", key(), true).status,
            KnownHostStatus::kRevoked);
}

TEST(KnownHostsLookup, BadLinesDoNotHideGoodOnes) {
  std::string text = std::string("example.com ssh-ed25519 AAAA-broken\n@what example.com ") + kKey +
                     "\nexample.com " + kKey;
  EXPECT_EQ(lookup_known_host(text, "example.com", key()).status, KnownHostStatus::kFound);
}

}  // namespace
}  // namespace postern
