// The monitor's phase table, driven over a real ipc channel by a fake child: requests in order
// succeed, anything out of phase or order, or signed data that does not match what the monitor
// knows, is a ProtocolError (which ends the connection in sshd-session).
#include "monitor/monitor.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "common/ipc_bastion_messages.h"
#include "common/ipc_extender_messages.h"
#include "common/ipc_messages.h"
#include "common/ipc_picker_messages.h"
#include "common/ipc_proxy_messages.h"
#include "common/wire.h"
#include "monitor/monitor_test_support.h"

namespace postern::monitor {

// Puts a monitor in any phase, so the walk below can ask every phase every request.
struct MonitorPhaseProbe {
  static void set(Monitor& m, Phase p) { m.m_phase = p; }
};

namespace {

using namespace ipc;

class FakeBackend : public testing::TwoAccounts {
 public:
  std::optional<AuthorizedKeyOptions> key_authorized(const Account&, const PublicKey& key,
                                                     const config::ServerConfig&,
                                                     const Endpoint&) override {
    if (authorized && key == *authorized) return options;
    if (also_authorized && key == *also_authorized) return AuthorizedKeyOptions{};
    return std::nullopt;
  }
  std::optional<PublicKey> authorized, also_authorized;
  AuthorizedKeyOptions options;  // what `authorized`'s authorized_keys line says
};

class MonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto hk = PrivateKey::generate(KeyType::kEd25519);
    ASSERT_TRUE(hk);
    host_key = std::make_shared<const PrivateKey>(std::move(*hk));
    auto uk = PrivateKey::generate(KeyType::kEd25519);
    ASSERT_TRUE(uk);
    user_key.emplace(std::move(*uk));
    backend.authorized = user_key->public_key();
    config = config::default_server_config();
    config.max_auth_tries = 2;
    monitor = std::make_unique<Monitor>(config, host_key_entries({host_key}),
                                        Endpoint{"192.0.2.1", 5555, ""},
                                        Endpoint{"192.0.2.2", 22, ""}, backend);
  }

  template <typename Req>
  Result<typename Req::Reply> call(Req req) {
    return child.call(*monitor, std::move(req));
  }
  template <typename Req>
  void send_only(Req req) {
    child.send_only(*monitor, std::move(req));
  }

  Bytes session_id = Bytes(32, 0x5a);

  Bytes signed_data(const std::string& user, const std::string& method = "publickey",
                    Bytes sid = {}) {
    Writer w;
    w.string(ByteView(sid.empty() ? session_id : sid))
        .u8(50)
        .string(user)
        .string("ssh-connection")
        .string(method)
        .boolean(true)
        .string("ssh-ed25519")
        .string(ByteView(user_key->public_key().blob()));
    if (method == "publickey-hostbound-v00@openssh.com")
      w.string(ByteView(host_key->public_key().blob()));
    return w.take();
  }

  void through_user(const std::string& user = "alice") {
    auto sig = call(SignRequest{"ssh-ed25519", session_id});
    ASSERT_TRUE(sig);
    auto pw = call(PwnamRequest{user, "ssh-connection"});
    ASSERT_TRUE(pw);
  }

  FakeBackend backend;
  config::ServerConfig config;
  std::shared_ptr<const PrivateKey> host_key;
  std::optional<PrivateKey> user_key;
  std::unique_ptr<Monitor> monitor;
  testing::FakeChild child;
};

TEST_F(MonitorTest, SignsTheExchangeHashAndRecordsTheSessionId) {
  auto r = call(SignRequest{"ssh-ed25519", session_id});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(host_key->public_key().verify(r->signature, session_id));
  EXPECT_EQ(Bytes(monitor->session_id().begin(), monitor->session_id().end()), session_id);
  EXPECT_EQ(monitor->phase(), Phase::kUser);
}

TEST_F(MonitorTest, SignRefusesDataThatIsNoExchangeHash) {
  EXPECT_THROW((void)call(SignRequest{"ssh-ed25519", Bytes(100, 1)}), ProtocolError);
}

TEST_F(MonitorTest, OneModuliRequestBeforeAuth) {
  auto g = call(ModuliRequest{2048, 3072, 8192});
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_FALSE(g->p.empty());
  EXPECT_THROW((void)call(ModuliRequest{2048, 3072, 8192}), ProtocolError);
}

TEST_F(MonitorTest, PwnamBeforeKexIsFatal) {
  EXPECT_THROW((void)call(PwnamRequest{"alice", "ssh-connection"}), ProtocolError);
}

TEST_F(MonitorTest, SecondSignBeforeAuthIsFatal) {
  ASSERT_TRUE(call(SignRequest{"ssh-ed25519", session_id}));
  EXPECT_THROW((void)call(SignRequest{"ssh-ed25519", session_id}), ProtocolError);
}

TEST_F(MonitorTest, KeyVerifyWithoutKeyAllowedIsFatal) {
  through_user();
  Bytes data = signed_data("alice");
  auto sig = user_key->sign("ssh-ed25519", data);
  ASSERT_TRUE(sig);
  EXPECT_THROW((void)call(KeyVerifyRequest{"ssh-ed25519", user_key->public_key().blob(), *sig, data}),
               ProtocolError);
}

TEST_F(MonitorTest, PtyBeforeAuthIsFatal) {
  through_user();
  EXPECT_THROW((void)call(PtyRequest{}), ProtocolError);
}

TEST_F(MonitorTest, AuthDoneBeforeAuthIsFatal) {
  through_user();
  EXPECT_THROW(send_only(AuthDone{SecretBytes(as_bytes("state"))}), ProtocolError);
}

TEST_F(MonitorTest, PublickeyInOrderAuthenticates) {
  through_user();
  const Bytes& blob = user_key->public_key().blob();
  auto query = call(KeyAllowedRequest{"ssh-ed25519", blob, false});
  ASSERT_TRUE(query);
  EXPECT_TRUE(query->allowed);
  auto allowed = call(KeyAllowedRequest{"ssh-ed25519", blob, true});
  ASSERT_TRUE(allowed);
  EXPECT_TRUE(allowed->allowed);
  for (const char* method : {"publickey-hostbound-v00@openssh.com"}) {
    Bytes data = signed_data("alice", method);
    auto sig = user_key->sign("ssh-ed25519", data);
    ASSERT_TRUE(sig);
    auto v = call(KeyVerifyRequest{"ssh-ed25519", blob, *sig, data});
    ASSERT_TRUE(v);
    EXPECT_TRUE(v->ok);
  }
  EXPECT_EQ(monitor->phase(), Phase::kAuthenticated);
  EXPECT_EQ(monitor->user().name, "alice");
  send_only(AuthDone{SecretBytes(as_bytes("state"))});
  EXPECT_EQ(as_string(monitor->take_transport_state().view()), "state");
  monitor->start_postauth();
  // After the handoff, re-key signatures are allowed again, authentication requests are not.
  EXPECT_TRUE(call(SignRequest{"ssh-ed25519", Bytes(32, 7)}));
  EXPECT_THROW((void)call(KeyAllowedRequest{"ssh-ed25519", blob, true}), ProtocolError);
}

// sshd(8) permitopen= / permitlisten=: the key's lists reach the session beside the
// configuration's, which they narrow (both must allow), whatever PermitOpen / PermitListen say.
TEST_F(MonitorTest, KeyPermitOpenAndListenTravelBesideTheConfiguration) {
  for (bool config_any : {false, true}) {
    if (!config_any) {
      config.permit_open = {"127.0.0.1:1", "127.0.0.1:2"};
      config.permit_listen = {"7001", "7002"};
    } else {
      config.permit_open = {"any"};
      config.permit_listen = {"any"};
    }
    backend.options.permitopen = {"127.0.0.1:1"};
    backend.options.permitlisten = {"7001"};
    monitor = std::make_unique<Monitor>(config, host_key_entries({host_key}),
                                        Endpoint{"192.0.2.1", 5555, ""},
                                        Endpoint{"192.0.2.2", 22, ""}, backend);
    through_user();
    const PublicKey& pub = user_key->public_key();
    auto a = call(KeyAllowedRequest{"ssh-ed25519", pub.blob(), true});
    ASSERT_TRUE(a && a->allowed);
    Bytes data = signed_data("alice");
    auto sig = user_key->sign("ssh-ed25519", data);
    ASSERT_TRUE(sig);
    auto v = call(KeyVerifyRequest{"ssh-ed25519", pub.blob(), *sig, data});
    ASSERT_TRUE(v && v->ok);
    EXPECT_EQ(monitor->effective_config().permit_open, config.permit_open);
    EXPECT_EQ(monitor->effective_config().permit_listen, config.permit_listen);
    EXPECT_EQ(monitor->key_permit_open(), backend.options.permitopen);
    EXPECT_EQ(monitor->key_permit_listen(), backend.options.permitlisten);
  }
}

TEST_F(MonitorTest, SignedDataForAnotherSessionOrUserIsFatal) {
  through_user();
  const Bytes& blob = user_key->public_key().blob();
  for (int variant = 0; variant < 2; ++variant) {
    ASSERT_TRUE(call(KeyAllowedRequest{"ssh-ed25519", blob, true}));
    Bytes data =
        variant == 0 ? signed_data("alice", "publickey", Bytes(32, 1)) : signed_data("mallory");
    auto sig = user_key->sign("ssh-ed25519", data);
    ASSERT_TRUE(sig);
    EXPECT_THROW((void)call(KeyVerifyRequest{"ssh-ed25519", blob, *sig, data}), ProtocolError);
    SetUp();
    through_user();
  }
}

TEST_F(MonitorTest, BadSignatureFailsAndMaxAuthTriesCloses) {
  through_user();
  const Bytes& blob = user_key->public_key().blob();
  ASSERT_TRUE(call(KeyAllowedRequest{"ssh-ed25519", blob, true}));
  Bytes data = signed_data("alice");
  auto sig = user_key->sign("ssh-ed25519", data);
  ASSERT_TRUE(sig);
  sig->back() ^= 1;
  auto v = call(KeyVerifyRequest{"ssh-ed25519", blob, *sig, data});
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->ok);
  EXPECT_FALSE(v->exceeded);
  // An unknown key is the second failure of two allowed.
  auto other = PrivateKey::generate(KeyType::kEd25519);
  ASSERT_TRUE(other);
  auto a = call(KeyAllowedRequest{"ssh-ed25519", other->public_key().blob(), false});
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->allowed);
  EXPECT_TRUE(a->exceeded);
  EXPECT_EQ(monitor->phase(), Phase::kClosed);
  EXPECT_THROW((void)call(KeyAllowedRequest{"ssh-ed25519", blob, false}), ProtocolError);
}

TEST_F(MonitorTest, InvalidUserIsNeverAllowed) {
  through_user("nobody-here");
  auto a = call(KeyAllowedRequest{"ssh-ed25519", user_key->public_key().blob(), true});
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->allowed);
}

TEST_F(MonitorTest, RootRefusedWhenPermitRootLoginNo) {
  config.permit_root_login = config::PermitRootLogin::kNo;
  monitor = std::make_unique<Monitor>(config, host_key_entries({host_key}),
                                      Endpoint{"192.0.2.1", 5555, ""},
                                      Endpoint{"192.0.2.2", 22, ""}, backend);
  through_user("root");
  auto a = call(KeyAllowedRequest{"ssh-ed25519", user_key->public_key().blob(), true});
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->allowed);
}

// RFC 4252 §7 signed data for `key` ("ssh-ed25519"), hostbound to `host_blob` when given.
Bytes signed_data_for(ByteView sid, const PublicKey& key, const Bytes* host_blob = nullptr) {
  Writer w;
  w.string(sid).u8(50).string("alice").string("ssh-connection");
  w.string(host_blob ? "publickey-hostbound-v00@openssh.com" : "publickey");
  w.boolean(true).string("ssh-ed25519").string(ByteView(key.blob()));
  if (host_blob) w.string(ByteView(*host_blob));
  return w.take();
}

TEST_F(MonitorTest, HostboundMustNameTheSessionHostKey) {
  // Two host keys; the key exchange used the ECDSA one, so a request bound to the Ed25519 key
  // (ours too, but not the one the client verified) is refused.
  auto ecdsa = PrivateKey::generate(KeyType::kEcdsaP256);
  ASSERT_TRUE(ecdsa);
  auto ecdsa_key = std::make_shared<const PrivateKey>(std::move(*ecdsa));
  monitor = std::make_unique<Monitor>(config, host_key_entries({host_key, ecdsa_key}),
                                      Endpoint{"192.0.2.1", 5555, ""},
                                      Endpoint{"192.0.2.2", 22, ""}, backend);
  ASSERT_TRUE(call(SignRequest{"ecdsa-sha2-nistp256", session_id}));
  ASSERT_TRUE(call(PwnamRequest{"alice", "ssh-connection"}));
  const PublicKey& pub = user_key->public_key();
  ASSERT_TRUE(call(KeyAllowedRequest{"ssh-ed25519", pub.blob(), true}));
  Bytes wrong = signed_data_for(session_id, pub, &host_key->public_key().blob());
  auto sig = user_key->sign("ssh-ed25519", wrong);
  ASSERT_TRUE(sig);
  EXPECT_THROW((void)call(KeyVerifyRequest{"ssh-ed25519", pub.blob(), *sig, wrong}), ProtocolError);

  SetUp();
  monitor = std::make_unique<Monitor>(config, host_key_entries({host_key, ecdsa_key}),
                                      Endpoint{"192.0.2.1", 5555, ""},
                                      Endpoint{"192.0.2.2", 22, ""}, backend);
  ASSERT_TRUE(call(SignRequest{"ecdsa-sha2-nistp256", session_id}));
  ASSERT_TRUE(call(PwnamRequest{"alice", "ssh-connection"}));
  const PublicKey& pub2 = user_key->public_key();
  ASSERT_TRUE(call(KeyAllowedRequest{"ssh-ed25519", pub2.blob(), true}));
  Bytes right = signed_data_for(session_id, pub2, &ecdsa_key->public_key().blob());
  sig = user_key->sign("ssh-ed25519", right);
  ASSERT_TRUE(sig);
  auto v = call(KeyVerifyRequest{"ssh-ed25519", pub2.blob(), *sig, right});
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->ok);
}

TEST_F(MonitorTest, PublickeyTwiceNeedsTwoDifferentKeys) {
  config.authentication_methods = {"publickey,publickey"};
  config.max_auth_tries = 6;
  auto second = PrivateKey::generate(KeyType::kEd25519);
  ASSERT_TRUE(second);
  backend.also_authorized = second->public_key();
  monitor = std::make_unique<Monitor>(config, host_key_entries({host_key}),
                                      Endpoint{"192.0.2.1", 5555, ""},
                                      Endpoint{"192.0.2.2", 22, ""}, backend);
  through_user();
  auto login = [&](const PrivateKey& k) {
    const PublicKey& pub = k.public_key();
    auto a = call(KeyAllowedRequest{"ssh-ed25519", pub.blob(), true});
    EXPECT_TRUE(a && a->allowed);
    Bytes data = signed_data_for(session_id, pub);
    auto sig = k.sign("ssh-ed25519", data);
    EXPECT_TRUE(sig);
    return call(KeyVerifyRequest{"ssh-ed25519", pub.blob(), *sig, data});
  };
  auto first = login(*user_key);
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->ok);
  EXPECT_TRUE(first->partial);
  // The same key again is refused, as a query and with a signature.
  for (bool with_signature : {false, true}) {
    auto again =
        call(KeyAllowedRequest{"ssh-ed25519", user_key->public_key().blob(), with_signature});
    ASSERT_TRUE(again);
    EXPECT_FALSE(again->allowed);
  }
  auto done = login(*second);
  ASSERT_TRUE(done);
  EXPECT_TRUE(done->ok);
  EXPECT_FALSE(done->partial);
  EXPECT_EQ(monitor->phase(), Phase::kAuthenticated);
}

// ssh-mldsa44-ed25519@openssh.com (issue 17): the monitor signs the exchange hash with such a
// host key, and verifies such a user key's signature, only where PubkeyAcceptedAlgorithms names
// the type (Debian 12's default does not).
TEST_F(MonitorTest, MlDsaHostKeySignsAndMlDsaUserKeyVerifiesWhereAccepted) {
  constexpr const char* kPq = "ssh-mldsa44-ed25519@openssh.com";
  auto pq_host = PrivateKey::generate(KeyType::kMlDsa44Ed25519);
  auto pq_user = PrivateKey::generate(KeyType::kMlDsa44Ed25519);
  ASSERT_TRUE(pq_host && pq_user);
  auto pq_host_key = std::make_shared<const PrivateKey>(std::move(*pq_host));
  backend.authorized = pq_user->public_key();
  const PublicKey& pub = pq_user->public_key();
  auto pq_signed_data = [&] {
    Writer w;
    w.string(ByteView(session_id)).u8(50).string("alice").string("ssh-connection");
    w.string("publickey").boolean(true).string(kPq).string(ByteView(pub.blob()));
    return w.take();
  };
  for (bool accepted : {false, true}) {
    if (accepted) config.pubkey_accepted_algorithms += std::string(",") + kPq;
    monitor = std::make_unique<Monitor>(config, host_key_entries({host_key, pq_host_key}),
                                        Endpoint{"192.0.2.1", 5555, ""},
                                        Endpoint{"192.0.2.2", 22, ""}, backend);
    auto sig = call(SignRequest{kPq, session_id});
    ASSERT_TRUE(sig) << sig.error().message;
    std::string alg;
    EXPECT_TRUE(pq_host_key->public_key().verify(sig->signature, session_id, &alg));
    EXPECT_EQ(alg, kPq);
    EXPECT_FALSE(host_key->public_key().verify(sig->signature, session_id));
    ASSERT_TRUE(call(PwnamRequest{"alice", "ssh-connection"}));
    auto allowed = call(KeyAllowedRequest{kPq, pub.blob(), true});
    ASSERT_TRUE(allowed);
    EXPECT_EQ(allowed->allowed, accepted);
    if (!accepted) continue;
    Bytes data = pq_signed_data();
    Bytes bad = *pq_user->sign(kPq, data);
    bad[bad.size() - 1] ^= 1;  // the Ed25519 half
    auto refused = call(KeyVerifyRequest{kPq, pub.blob(), bad, data});
    ASSERT_TRUE(refused);
    EXPECT_FALSE(refused->ok);
    ASSERT_TRUE(call(KeyAllowedRequest{kPq, pub.blob(), true}));
    auto v = call(KeyVerifyRequest{kPq, pub.blob(), *pq_user->sign(kPq, data), data});
    ASSERT_TRUE(v);
    EXPECT_TRUE(v->ok);
    EXPECT_EQ(monitor->phase(), Phase::kAuthenticated);
  }
}

TEST_F(MonitorTest, RequiredRsaSizeRefusesSmallKeys) {
  config.required_rsa_size = 2048;
  auto small = PrivateKey::generate(KeyType::kRsa, 1024);
  ASSERT_TRUE(small);
  backend.authorized = small->public_key();
  monitor = std::make_unique<Monitor>(config, host_key_entries({host_key}),
                                      Endpoint{"192.0.2.1", 5555, ""},
                                      Endpoint{"192.0.2.2", 22, ""}, backend);
  through_user();
  auto a = call(KeyAllowedRequest{"rsa-sha2-256", small->public_key().blob(), false});
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->allowed);
}

// Drives a monitor through the first key exchange (signed with `kex_algorithm`), a publickey
// login of alice and the handoff to the session process.
void log_in(testing::FakeChild& child, Monitor& monitor, const PrivateKey& user_key,
            const std::string& kex_algorithm, const Bytes& session_id) {
  ASSERT_TRUE(child.call(monitor, SignRequest{kex_algorithm, session_id}));
  ASSERT_TRUE(child.call(monitor, PwnamRequest{"alice", "ssh-connection"}));
  const Bytes& blob = user_key.public_key().blob();
  ASSERT_TRUE(child.call(monitor, KeyAllowedRequest{"ssh-ed25519", blob, true}));
  Writer w;
  w.string(ByteView(session_id))
      .u8(50)
      .string("alice")
      .string("ssh-connection")
      .string("publickey")
      .boolean(true)
      .string("ssh-ed25519")
      .string(ByteView(blob));
  auto sig = user_key.sign("ssh-ed25519", w.buffer());
  ASSERT_TRUE(sig);
  auto v = child.call(monitor, KeyVerifyRequest{"ssh-ed25519", blob, *sig, w.take()});
  ASSERT_TRUE(v);
  ASSERT_TRUE(v->ok);
  child.send_only(monitor, AuthDone{SecretBytes(as_bytes("state"))});
  monitor.start_postauth();
}

TEST_F(MonitorTest, RekeySignatureOnlyWithTheSessionHostKey) {
  // Two host keys; the first key exchange used the ECDSA one. A re-key signs with it again;
  // asking for the Ed25519 key after login (a signing oracle for a key the client never saw
  // on this connection) ends the connection.
  auto ecdsa = PrivateKey::generate(KeyType::kEcdsaP256);
  ASSERT_TRUE(ecdsa);
  auto ecdsa_key = std::make_shared<const PrivateKey>(std::move(*ecdsa));
  monitor = std::make_unique<Monitor>(config, host_key_entries({host_key, ecdsa_key}),
                                      Endpoint{"192.0.2.1", 5555, ""},
                                      Endpoint{"192.0.2.2", 22, ""}, backend);
  log_in(child, *monitor, *user_key, "ecdsa-sha2-nistp256", session_id);
  Bytes h(32, 0x11);
  auto r = call(SignRequest{"ecdsa-sha2-nistp256", h});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(ecdsa_key->public_key().verify(r->signature, h));
  EXPECT_THROW((void)call(SignRequest{"ssh-ed25519", h}), ProtocolError);
}

TEST_F(MonitorTest, RekeySignaturesAreBounded) {
  log_in(child, *monitor, *user_key, "ssh-ed25519", session_id);
  // A client with a tiny RekeyLimit re-keys many times in a row: the burst is served...
  for (uint64_t i = 0; i < RekeySignBudget::kBurst; ++i) {
    Bytes h(32, uint8_t(i));
    auto r = call(SignRequest{"ssh-ed25519", h});
    ASSERT_TRUE(r) << i << ": " << r.error().message;
    ASSERT_TRUE(host_key->public_key().verify(r->signature, h));
  }
  // ...and one more at once is a signing service, not re-keying: the connection ends.
  EXPECT_THROW((void)call(SignRequest{"ssh-ed25519", Bytes(32, 0xee)}), ProtocolError);
}

TEST(RekeySignBudget, BurstThenOnePerRefillPeriod) {
  RekeySignBudget b;
  const uint64_t period = RekeySignBudget::kRefillSeconds * 1000;
  uint64_t t = 5000;
  for (uint64_t i = 0; i < RekeySignBudget::kBurst; ++i) ASSERT_TRUE(b.take(t));
  EXPECT_FALSE(b.take(t));
  EXPECT_FALSE(b.take(t + period - 1));
  EXPECT_TRUE(b.take(t + period));  // one earned
  EXPECT_FALSE(b.take(t + period + 1));
  // A long quiet spell refills up to the burst, never beyond.
  t += 1000 * period;
  for (uint64_t i = 0; i < RekeySignBudget::kBurst; ++i) ASSERT_TRUE(b.take(t));
  EXPECT_FALSE(b.take(t));
  // A clock that steps back earns nothing.
  EXPECT_FALSE(b.take(t - period));
}

TEST_F(MonitorTest, MalformedRequestIsFatal) {
  Bytes junk = {SignRequest::kType, 0, 0, 0, 9};
  EXPECT_THROW(child.send_raw_only(*monitor, junk), ProtocolError);
}

// The protocol written out again, independently of monitor.cpp's rows: which phases allow each
// request. Every phase × every request byte goes through the dispatcher; a pair the matrix does
// not list must be refused as out of phase, a listed one must reach its handler (which then
// refuses the malformed body, never as out of phase).
TEST(MonitorTable, EveryPhaseAndRequestAgainstTheProtocol) {
  using enum Phase;
  const std::map<uint8_t, std::set<Phase>> allowed = {
      {LogLine::kType,
       {kKex, kUser, kAwaitingAuth, kVerify, kAuthenticated, kPostauth, kClosed, kBastion}},
      {SignRequest::kType, {kKex, kPostauth, kBastion}},
      {ModuliRequest::kType, {kKex, kPostauth, kBastion}},
      {ProxyTarget::kType, {kKex}},  // sshd -B, the proxy front door's target, first
      {PwnamRequest::kType, {kUser}},
      {KeyAllowedRequest::kType, {kAwaitingAuth, kVerify}},
      {KeyVerifyRequest::kType, {kVerify}},
      {PasswordRequest::kType, {kAwaitingAuth}},
      {KbdintStartRequest::kType, {kAwaitingAuth}},
      {KbdintResponseRequest::kType, {kAwaitingAuth}},
      {HostbasedRequest::kType, {kAwaitingAuth}},
      {AuthDone::kType, {kAuthenticated}},
      {PtyRequest::kType, {kPostauth}},
      {LoginRecordRequest::kType, {kPostauth}},
      {LogoutRecordRequest::kType, {kPostauth}},
      {HostKeysRequest::kType, {kPostauth}},
      {HostKeysProveRequest::kType, {kPostauth}},
      {TunOpenRequest::kType, {kPostauth}},
      // sshd-bastion's, only in bastion mode's post-auth phase
      {TargetOpenRequest::kType, {kBastion}},
      {TargetHostKeyRequest::kType, {kBastion}},
      {TargetCertRequest::kType, {kBastion}},
      {TargetSignRequest::kType, {kBastion}},
      {ChannelDecisionRequest::kType, {kBastion}},
      {BastionEvent::kType, {kBastion}},
      {IssueCertRequest::kType, {kBastion}},
      {RecordingOpenRequest::kType, {kBastion}},
      {PickerListRequest::kType, {kBastion}},
      {PickerChooseRequest::kType, {kBastion}},
      {ExtenderListenRequest::kType, {kBastion}},
  };
  EXPECT_EQ(Monitor::requests().size(), allowed.size());
  testing::TwoAccounts backend;
  config::ServerConfig config = config::default_server_config();
  for (Phase phase :
       {kKex, kUser, kAwaitingAuth, kVerify, kAuthenticated, kPostauth, kClosed, kBastion}) {
    for (unsigned type = 0; type < 256; ++type) {
      Monitor monitor(config, {}, Endpoint{"192.0.2.1", 5555, ""}, Endpoint{"192.0.2.2", 22, ""},
                      backend);
      MonitorPhaseProbe::set(monitor, phase);
      testing::FakeChild child;
      // The type byte, then three bytes no request's fields can be made of.
      const uint8_t datagram[] = {uint8_t(type), 0xff, 0xff, 0xff};
      std::string refusal;
      try {
        child.send_raw_only(monitor, ByteView(datagram, sizeof datagram));
      } catch (const ProtocolError& e) {
        refusal = e.what();
      }
      auto row = allowed.find(uint8_t(type));
      bool expected = row != allowed.end() && row->second.count(phase) != 0;
      bool out_of_phase = refusal.find("not allowed in phase") != std::string::npos;
      EXPECT_EQ(out_of_phase, !expected)
          << "request " << type << " in phase " << phase_name(phase) << ": " << refusal;
      if (expected) {
        EXPECT_FALSE(refusal.empty()) << "a malformed body was accepted";
      }
    }
  }
}

}  // namespace
}  // namespace postern::monitor
