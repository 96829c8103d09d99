// The monitor's HOSTBASED request (RFC 4252 §9) driven over a real ipc channel by a fake net
// child: the monitor builds the signed data itself, so a signature over anything else (another
// session, user or client host) fails; the backend decides the client host; the phase table and
// MaxAuthTries apply as for the other methods.
#include <gtest/gtest.h>

#include <optional>

#include "common/ipc_messages.h"
#include "monitor/monitor.h"
#include "monitor/monitor_test_support.h"

namespace postern::monitor {
namespace {

using namespace ipc;

Endpoint endpoint(const std::string& address, int port) {
  Endpoint e;
  e.address = address;
  e.port = port;
  return e;
}

class HostbasedBackend : public testing::TwoAccounts {
 public:
  bool hostbased_authorized(const Account& user, const HostbasedKey& key,
                            const std::string& client_host, const std::string& client_user,
                            const config::ServerConfig&, const Endpoint&) override {
    ++calls;
    seen_user = user.name;
    seen_host = client_host;
    seen_client_user = client_user;
    return allow && key.signing_key() == known_key;
  }
  bool allow = true;
  PublicKey known_key = PrivateKey::generate(KeyType::kEd25519)->public_key();
  int calls = 0;
  std::string seen_user, seen_host, seen_client_user;
};

class MonitorHostbasedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host_key = std::make_shared<const PrivateKey>(*PrivateKey::generate(KeyType::kEd25519));
    client_key.emplace(*PrivateKey::generate(KeyType::kEd25519));
    backend.known_key = client_key->public_key();
    config = config::default_server_config();
    config.hostbased_authentication = true;
    config.max_auth_tries = 3;
  }
  void start() {
    monitor =
        std::make_unique<Monitor>(config, host_key_entries({host_key}), endpoint("192.0.2.1", 5555),
                                  endpoint("192.0.2.2", 22), backend);
    child.emplace();
    ASSERT_TRUE(call(SignRequest{"ssh-ed25519", session_id}));
    auto pw = call(PwnamRequest{"alice", "ssh-connection"});
    ASSERT_TRUE(pw);
    methods = pw->methods;
  }
  template <typename Req>
  Result<typename Req::Reply> call(Req req) {
    return child->call(*monitor, std::move(req));
  }
  // What an honest client signs (RFC 4252 §9), with any field replaceable.
  HostbasedRequest request(const std::string& user = "alice", Bytes sid = {},
                           const std::string& signed_host = "client.example.") {
    HostbasedRequest r;
    r.algorithm = "ssh-ed25519";
    r.key = client_key->public_key().blob();
    r.client_host = "client.example.";
    r.client_user = "bob";
    Bytes data = hostbased_signed_data(sid.empty() ? session_id : sid, user, "ssh-connection",
                                       r.algorithm, r.key, signed_host, r.client_user);
    r.signature = *client_key->sign("ssh-ed25519", data);
    return r;
  }

  Bytes session_id = Bytes(32, 0x3c);
  HostbasedBackend backend;
  config::ServerConfig config;
  std::shared_ptr<const PrivateKey> host_key;
  std::optional<PrivateKey> client_key;
  std::unique_ptr<Monitor> monitor;
  std::optional<testing::FakeChild> child;
  StringList methods;
};

TEST_F(MonitorHostbasedTest, OfferedOnlyWhenEnabled) {
  start();
  EXPECT_NE(std::find(methods.begin(), methods.end(), "hostbased"), methods.end());
  config.hostbased_authentication = false;
  start();
  EXPECT_EQ(std::find(methods.begin(), methods.end(), "hostbased"), methods.end());
  auto r = call(request());
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(backend.calls, 0);
}

TEST_F(MonitorHostbasedTest, ValidSignatureAuthenticates) {
  start();
  auto r = call(request());
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok);
  EXPECT_FALSE(r->partial);
  EXPECT_EQ(monitor->phase(), Phase::kAuthenticated);
  EXPECT_EQ(backend.seen_user, "alice");
  EXPECT_EQ(backend.seen_host, "client.example.");
  EXPECT_EQ(backend.seen_client_user, "bob");
}

TEST_F(MonitorHostbasedTest, SignatureOverOtherDataFails) {
  start();
  // Another session, another user, another client host than the request names.
  for (auto req : {request("alice", Bytes(32, 1)), request("root"),
                   request("alice", {}, "elsewhere.example.")}) {
    auto r = call(req);
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->ok);
    if (r->exceeded) break;
  }
  EXPECT_NE(monitor->phase(), Phase::kAuthenticated);
}

TEST_F(MonitorHostbasedTest, BackendRefusalAndMaxAuthTries) {
  backend.allow = false;
  start();
  auto r1 = call(request());
  ASSERT_TRUE(r1);
  EXPECT_FALSE(r1->ok);
  EXPECT_FALSE(r1->exceeded);
  ASSERT_TRUE(call(request()));
  auto r3 = call(request());
  ASSERT_TRUE(r3);
  EXPECT_TRUE(r3->exceeded);
  EXPECT_EQ(monitor->phase(), Phase::kClosed);
  EXPECT_THROW((void)call(request()), ProtocolError);
}

TEST_F(MonitorHostbasedTest, AcceptedAlgorithmsAndKeyTypeChecked) {
  config.hostbased_accepted_algorithms = "rsa-sha2-512";
  start();
  auto r = call(request());
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(backend.calls, 0);
  // An algorithm that does not fit the key is refused too.
  config.hostbased_accepted_algorithms = "*";
  start();
  auto req = request();
  req.algorithm = "ecdsa-sha2-nistp256";
  auto r2 = call(req);
  ASSERT_TRUE(r2);
  EXPECT_FALSE(r2->ok);
}

TEST_F(MonitorHostbasedTest, RootFollowsPermitRootLogin) {
  config.permit_root_login = config::PermitRootLogin::kNo;
  monitor =
      std::make_unique<Monitor>(config, host_key_entries({host_key}), endpoint("192.0.2.1", 5555),
                                endpoint("192.0.2.2", 22), backend);
  child.emplace();
  ASSERT_TRUE(call(SignRequest{"ssh-ed25519", session_id}));
  ASSERT_TRUE(call(PwnamRequest{"root", "ssh-connection"}));
  auto r = call(request("root"));
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok);
}

TEST_F(MonitorHostbasedTest, BeforeTheUserIsKnownIsFatal) {
  monitor =
      std::make_unique<Monitor>(config, host_key_entries({host_key}), endpoint("192.0.2.1", 5555),
                                endpoint("192.0.2.2", 22), backend);
  child.emplace();
  ASSERT_TRUE(call(SignRequest{"ssh-ed25519", session_id}));
  EXPECT_THROW((void)call(request()), ProtocolError);
}

}  // namespace
}  // namespace postern::monitor
