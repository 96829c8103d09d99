#include "session/forward_policy.h"

#include <gtest/gtest.h>

namespace postern::session {
namespace {

TEST(ForwardPolicy, ScopesFollowAllowTcpForwarding) {
  ForwardPolicy p;
  EXPECT_TRUE(p.local_tcp_allowed());
  EXPECT_TRUE(p.remote_tcp_allowed());
  p.allow_tcp = ForwardScope::kLocal;
  EXPECT_TRUE(p.local_tcp_allowed());
  EXPECT_FALSE(p.remote_tcp_allowed());
  p.allow_tcp = ForwardScope::kRemote;
  EXPECT_FALSE(p.local_tcp_allowed());
  EXPECT_TRUE(p.remote_tcp_allowed());
  p.allow_tcp = ForwardScope::kNo;
  EXPECT_FALSE(p.local_tcp_allowed());
  EXPECT_FALSE(p.remote_tcp_allowed());
}

TEST(ForwardPolicy, DisableForwardingWinsOverEverything) {
  ForwardPolicy p;
  p.disable_all = true;
  EXPECT_FALSE(p.local_tcp_allowed());
  EXPECT_FALSE(p.remote_tcp_allowed());
  EXPECT_FALSE(p.local_streamlocal_allowed());
  EXPECT_FALSE(p.remote_streamlocal_allowed());
  EXPECT_FALSE(p.agent_allowed());
}

TEST(ForwardPolicy, PermitOpenEntries) {
  EXPECT_TRUE(permit_open_entry_matches("host:80", "host", 80));
  EXPECT_TRUE(permit_open_entry_matches("HOST:80", "host", 80));
  EXPECT_FALSE(permit_open_entry_matches("host:80", "host", 81));
  EXPECT_FALSE(permit_open_entry_matches("host:80", "other", 80));
  EXPECT_TRUE(permit_open_entry_matches("*:80", "anything", 80));
  EXPECT_TRUE(permit_open_entry_matches("host:*", "host", 1234));
  EXPECT_TRUE(permit_open_entry_matches("[::1]:22", "::1", 22));
  EXPECT_FALSE(permit_open_entry_matches("host", "host", 22));
  EXPECT_FALSE(permit_open_entry_matches("host:8x", "host", 8));
}

TEST(ForwardPolicy, PermitOpenLists) {
  ForwardPolicy p;
  EXPECT_TRUE(p.open_permitted("x", 1));
  p.permit_open = {"none"};
  EXPECT_FALSE(p.open_permitted("x", 1));
  p.permit_open = {"127.0.0.1:22", "localhost:*"};
  EXPECT_TRUE(p.open_permitted("127.0.0.1", 22));
  EXPECT_TRUE(p.open_permitted("localhost", 9));
  EXPECT_FALSE(p.open_permitted("127.0.0.1", 23));
}

TEST(ForwardPolicy, PermitListenEntries) {
  EXPECT_TRUE(permit_listen_entry_matches("8080", "localhost", 8080));
  EXPECT_TRUE(permit_listen_entry_matches("8080", "", 8080));
  EXPECT_FALSE(permit_listen_entry_matches("8080", "", 8081));
  EXPECT_TRUE(permit_listen_entry_matches("localhost:8080", "localhost", 8080));
  EXPECT_FALSE(permit_listen_entry_matches("localhost:8080", "0.0.0.0", 8080));
  EXPECT_TRUE(permit_listen_entry_matches("*:*", "x", 1));
  ForwardPolicy p;
  p.permit_listen = {"none"};
  EXPECT_FALSE(p.listen_permitted("", 1));
  p.permit_listen = {"2000"};
  EXPECT_TRUE(p.listen_permitted("", 2000));
  EXPECT_FALSE(p.listen_permitted("", 2001));
}

TEST(ForwardPolicy, KeyListsNarrowTheConfiguration) {
  ForwardPolicy p;
  p.key_permit_open = {"127.0.0.1:22"};
  EXPECT_TRUE(p.open_permitted("127.0.0.1", 22));
  EXPECT_FALSE(p.open_permitted("127.0.0.1", 23));
  p.permit_open = {"*:23"};
  EXPECT_FALSE(p.open_permitted("127.0.0.1", 22));
  EXPECT_FALSE(p.open_permitted("127.0.0.1", 23));
  p.key_permit_listen = {"localhost:2000"};
  EXPECT_TRUE(p.listen_permitted("localhost", 2000));
  EXPECT_FALSE(p.listen_permitted("localhost", 2001));
}

TEST(ForwardPolicy, GatewayPortsChoosesTheBindAddress) {
  ForwardPolicy p;
  EXPECT_EQ(p.bind_address(""), "localhost");
  EXPECT_EQ(p.bind_address("0.0.0.0"), "localhost");
  p.gateway_ports = GatewayMode::kYes;
  EXPECT_EQ(p.bind_address("localhost"), "");
  p.gateway_ports = GatewayMode::kClientSpecified;
  EXPECT_EQ(p.bind_address(""), "");
  EXPECT_EQ(p.bind_address("*"), "");
  EXPECT_EQ(p.bind_address("127.0.0.2"), "127.0.0.2");
}

}  // namespace
}  // namespace postern::session
