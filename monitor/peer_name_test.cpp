#include "monitor/peer_name.h"

#include <gtest/gtest.h>

#include <map>

#include "common/log.h"

namespace postern::monitor {
namespace {

class PeerNameTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LogOptions lo;
    lo.level = LogLevel::kDebug3;
    log_init(lo);
    log_set_sink([this](LogLevel, std::string_view l) { m_log += std::string(l) + "\n"; });
  }
  void TearDown() override { log_set_sink(nullptr); }

  NameLookups fake() {
    return NameLookups{[this](const std::string& a) -> std::optional<std::string> {
                         auto it = m_ptr.find(a);
                         if (it == m_ptr.end()) return std::nullopt;
                         return it->second;
                       },
                       [this](const std::string& n,
                              const std::string&) -> std::optional<std::vector<std::string>> {
                         auto it = m_a.find(n);
                         if (it == m_a.end()) return std::nullopt;
                         return it->second;
                       }};
  }

  std::map<std::string, std::string> m_ptr;
  std::map<std::string, std::vector<std::string>> m_a;
  std::string m_log;
};

TEST_F(PeerNameTest, NameThatMapsBackIsUsedLowerCased) {
  m_ptr["192.0.2.7"] = "Client.Example.ORG";
  m_a["client.example.org"] = {"192.0.2.9", "192.0.2.7"};
  EXPECT_EQ(verified_peer_name("192.0.2.7", fake()), "client.example.org");
}

TEST_F(PeerNameTest, Ipv6AddressesCompareInCanonicalForm) {
  m_ptr["2001:db8::1"] = "six.example.org";
  m_a["six.example.org"] = {"2001:db8:0:0::1"};
  EXPECT_EQ(verified_peer_name("2001:db8::1", fake()), "six.example.org");
}

TEST_F(PeerNameTest, NoReverseRecordMeansNoName) {
  EXPECT_EQ(verified_peer_name("192.0.2.7", fake()), "");
  EXPECT_EQ(m_log.find("maps to"), std::string::npos);
}

TEST_F(PeerNameTest, NameThatDoesNotMapBackIsRefused) {
  m_ptr["192.0.2.7"] = "liar.example.org";
  m_a["liar.example.org"] = {"198.51.100.1"};
  EXPECT_EQ(verified_peer_name("192.0.2.7", fake()), "");
  EXPECT_NE(m_log.find("Address 192.0.2.7 maps to liar.example.org, but this does not map back "
                       "to the address."),
            std::string::npos)
      << m_log;
}

TEST_F(PeerNameTest, ForwardLookupFailureIsLogged) {
  m_ptr["192.0.2.7"] = "gone.example.org";
  EXPECT_EQ(verified_peer_name("192.0.2.7", fake()), "");
  EXPECT_NE(m_log.find("reverse mapping checking getaddrinfo for gone.example.org [192.0.2.7] "
                       "failed."),
            std::string::npos)
      << m_log;
}

TEST_F(PeerNameTest, PtrRecordHoldingAnAddressIsIgnored) {
  m_ptr["192.0.2.7"] = "10.0.0.1";
  m_a["10.0.0.1"] = {"192.0.2.7"};
  EXPECT_EQ(verified_peer_name("192.0.2.7", fake()), "");
  EXPECT_NE(m_log.find("Nasty PTR record \"10.0.0.1\" is set up for 192.0.2.7, ignoring"),
            std::string::npos);
}

}  // namespace
}  // namespace postern::monitor
