// sshd -B, the proxy front door (monitor_proxy.cpp, bastion_auth_backend.cpp) over a real ipc
// channel with the real policy backend: PROXY_TARGET only on a proxy connection, once, first and
// well-formed; the user name is then the target account and the route the proxy target's; the
// bastion user is the one policy user whose key (or certificate principal) logged in; a key two
// policy users share, or a TOTP user's, logs no one in.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "bastion/policy.h"
#include "common/ipc_messages.h"
#include "common/ipc_proxy_messages.h"
#include "common/ssh_cert_builder.h"
#include "common/wire.h"
#include "monitor/bastion_auth_backend.h"
#include "monitor/bastion_session.h"
#include "monitor/monitor.h"
#include "monitor/monitor_test_support.h"

namespace postern::monitor {

struct MonitorPhaseProbe {
  static void set(Monitor& m, Phase p) { m.m_phase = p; }
};

namespace {

using namespace ipc;

PrivateKey new_key() {
  auto k = PrivateKey::generate(KeyType::kEd25519);
  EXPECT_TRUE(k);
  return std::move(*k);
}

class MonitorProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host_key = std::make_shared<const PrivateKey>(new_key());
    std::string alice = alice_key.public_key().to_openssh_text();
    std::string shared = shared_key.public_key().to_openssh_text();
    std::string toml =
        "[bastion]\n\n"
        "[[user]]\nname = \"alice\"\nkeys = [\"" +
        alice +
        "\"]\n\n"
        "[[user]]\nname = \"bob\"\nkeys = [\"" +
        shared +
        "\"]\n\n"
        "[[user]]\nname = \"carol\"\nkeys = [\"" +
        shared +
        "\"]\n\n"
        "[[user]]\nname = \"tina\"\nkeys = [\"" +
        tina_key.public_key().to_openssh_text() +
        "\"]\ntotp = \"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\"\n";
    auto p = bastion::parse_policy(toml, "b.toml", "[]", "t.json");
    ASSERT_TRUE(p) << p.error().message;
    session = std::make_unique<BastionSession>(std::move(*p), Endpoint{"192.0.2.1", 5555, ""});
    backend = std::make_unique<BastionAuthBackend>(session->policy());
    config = config::default_server_config();
    monitor = std::make_unique<Monitor>(config, host_key_entries({host_key}),
                                        Endpoint{"192.0.2.1", 5555, ""},
                                        Endpoint{"192.0.2.2", 1080, ""}, *backend);
    monitor->set_bastion(session.get());
  }
  void proxy_door() {
    session->set_proxy_door();
    backend->set_proxy_door();
  }
  // The proxy target, the key exchange's signature and the user name, as sshd-net sends them.
  void up_to_pwnam(const std::string& user = "deploy") {
    child.send_only(*monitor, ProxyTarget{4, "web1.internal", 22});
    ASSERT_TRUE(child.call(*monitor, SignRequest{"ssh-ed25519", session_id}));
    ASSERT_TRUE(child.call(*monitor, PwnamRequest{user, "ssh-connection"}));
  }
  // KEYALLOWED with a signature to come, then KEYVERIFY; nullopt when the key was not allowed.
  std::optional<AuthOutcome> key_login(const PrivateKey& key, const std::string& user = "deploy") {
    const PublicKey& pub = key.public_key();
    auto allowed = child.call(*monitor, KeyAllowedRequest{"ssh-ed25519", pub.blob(), true});
    EXPECT_TRUE(allowed);
    if (!allowed || !allowed->allowed) return std::nullopt;
    Writer w;
    w.string(ByteView(session_id))
        .u8(50)
        .string(user)
        .string("ssh-connection")
        .string("publickey")
        .boolean(true)
        .string("ssh-ed25519")
        .string(ByteView(pub.blob()));
    auto sig = key.sign("ssh-ed25519", w.buffer());
    EXPECT_TRUE(sig);
    auto r = child.call(*monitor, KeyVerifyRequest{"ssh-ed25519", pub.blob(), *sig, w.take()});
    EXPECT_TRUE(r);
    return r ? std::optional<AuthOutcome>(*r) : std::nullopt;
  }
  std::string refusal_of(ProxyTarget t) {
    try {
      child.send_only(*monitor, std::move(t));
    } catch (const ProtocolError& e) {
      return e.what();
    }
    return "";
  }

  PrivateKey alice_key = new_key(), shared_key = new_key(), tina_key = new_key();
  std::shared_ptr<const PrivateKey> host_key;
  std::unique_ptr<BastionSession> session;
  std::unique_ptr<BastionAuthBackend> backend;
  config::ServerConfig config;
  std::unique_ptr<Monitor> monitor;
  testing::FakeChild child;
  Bytes session_id = Bytes(32, 0x5a);
};

TEST_F(MonitorProxyTest, TheKeysOnePolicyUserLogsInToTheProxyTarget) {
  proxy_door();
  up_to_pwnam("deploy");
  ASSERT_TRUE(session->route());
  EXPECT_EQ(session->route()->target, "web1.internal");
  EXPECT_EQ(session->route()->port, 22);
  EXPECT_EQ(session->route()->target_user, "deploy");
  EXPECT_EQ(session->proxy_kind(), "socks5");
  auto outcome = key_login(alice_key);
  ASSERT_TRUE(outcome);
  EXPECT_TRUE(outcome->ok);
  EXPECT_EQ(monitor->phase(), Phase::kAuthenticated);
  EXPECT_EQ(session->proxy_bastion_user(), "alice");
  // The account is the target's stand-in: no account of this machine, no PAM stage.
  EXPECT_FALSE(backend->system_account(monitor->user()));
}

TEST_F(MonitorProxyTest, AKeyTwoPolicyUsersShareIsRefused) {
  proxy_door();
  up_to_pwnam();
  EXPECT_FALSE(key_login(shared_key));
  EXPECT_EQ(session->proxy_bastion_user(), "");
  // alice's own key still works on the same connection.
  auto outcome = key_login(alice_key);
  ASSERT_TRUE(outcome);
  EXPECT_TRUE(outcome->ok);
}

TEST_F(MonitorProxyTest, ATotpUsersKeyIsRefusedOnTheProxyDoor) {
  proxy_door();
  up_to_pwnam();
  EXPECT_FALSE(key_login(tina_key));
}

TEST_F(MonitorProxyTest, ACertificateLogsInThePolicyUserItsPrincipalNames) {
  auto ca = new_key();
  // TrustedUserCAKeys is a file: the CA's public key in it.
  auto dir =
      std::filesystem::temp_directory_path() / ("postern-mproxy-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "ca.pub") << ca.public_key().to_openssh_text() << "\n";
  config.trusted_user_ca_keys = (dir / "ca.pub").string();
  monitor = std::make_unique<Monitor>(config, host_key_entries({host_key}),
                                      Endpoint{"192.0.2.1", 5555, ""},
                                      Endpoint{"192.0.2.2", 1080, ""}, *backend);
  monitor->set_bastion(session.get());
  proxy_door();
  up_to_pwnam();
  auto user_key = new_key();
  CertificateFields fields;
  fields.key_id = "alice's certificate";
  fields.principals = {"alice"};
  fields.valid_before = ~uint64_t(0);
  auto cert = build_certificate(user_key.public_key(), fields, ca);
  ASSERT_TRUE(cert) << cert.error().message;
  auto cert_blob = std::optional<Bytes>(cert->blob());
  const std::string alg = "ssh-ed25519-cert-v01@openssh.com";
  auto allowed = child.call(*monitor, KeyAllowedRequest{alg, *cert_blob, true});
  ASSERT_TRUE(allowed);
  ASSERT_TRUE(allowed->allowed);
  Writer w;
  w.string(ByteView(session_id))
      .u8(50)
      .string("deploy")
      .string("ssh-connection")
      .string("publickey")
      .boolean(true)
      .string(alg)
      .string(ByteView(*cert_blob));
  auto sig = user_key.sign("ssh-ed25519", w.buffer());
  ASSERT_TRUE(sig);
  auto r = child.call(*monitor, KeyVerifyRequest{alg, *cert_blob, *sig, w.take()});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok);
  EXPECT_EQ(session->proxy_bastion_user(), "alice");
  std::filesystem::remove_all(dir);
}

TEST_F(MonitorProxyTest, ARouteInTheUserNameIsRefusedOnTheProxyDoor) {
  proxy_door();
  child.send_only(*monitor, ProxyTarget{1, "web1", 22});
  ASSERT_TRUE(child.call(*monitor, SignRequest{"ssh-ed25519", session_id}));
  auto pw = child.call(*monitor, PwnamRequest{"deploy%web2%alice", "ssh-connection"});
  ASSERT_TRUE(pw);
  EXPECT_FALSE(pw->valid);
  EXPECT_NE(pw->banner.find("without '%'"), std::string::npos);
}

TEST_F(MonitorProxyTest, ProxyTargetOnlyOnTheProxyDoorOnceAndFirst) {
  // Not a proxy connection: a net child that sends one is not to be trusted.
  EXPECT_NE(refusal_of(ProxyTarget{1, "web1", 22}).find("no proxy front door"), std::string::npos);
  proxy_door();
  EXPECT_EQ(refusal_of(ProxyTarget{1, "web1", 22}), "");
  EXPECT_NE(refusal_of(ProxyTarget{1, "web1", 22}).find("again"), std::string::npos);
}

TEST_F(MonitorProxyTest, PwnamWithoutTheProxyTargetIsFatal) {
  proxy_door();
  ASSERT_TRUE(child.call(*monitor, SignRequest{"ssh-ed25519", session_id}));
  EXPECT_THROW((void)child.call(*monitor, PwnamRequest{"deploy", "ssh-connection"}), ProtocolError);
}

TEST_F(MonitorProxyTest, MalformedProxyTargetsAreFatal) {
  const ProxyTarget bad[] = {
      {0, "web1", 22},                 // kind
      {5, "web1", 22},                 // kind
      {1, "", 22},                     // empty host
      {1, "web 1", 22},                // not a host name
      {1, "[::1]", 22},                // brackets are the parser's to strip
      {1, std::string(256, 'a'), 22},  // too long
      {1, "web1", 0},                  // port
      {1, "web1", 65536},              // port
  };
  for (const ProxyTarget& t : bad) {
    SetUp();
    proxy_door();
    EXPECT_NE(refusal_of(t), "") << t.kind << " " << t.host << " " << t.port;
    EXPECT_FALSE(session->has_proxy_target());
  }
}

TEST_F(MonitorProxyTest, ProxyTargetAfterTheKeyExchangeIsOutOfPhase) {
  proxy_door();
  child.send_only(*monitor, ProxyTarget{1, "web1", 22});
  ASSERT_TRUE(child.call(*monitor, SignRequest{"ssh-ed25519", session_id}));
  EXPECT_NE(refusal_of(ProxyTarget{1, "web1", 22}).find("not allowed in phase"), std::string::npos);
}

}  // namespace
}  // namespace postern::monitor
