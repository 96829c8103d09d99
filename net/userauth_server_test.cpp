// The userauth protocol (RFC 4252) over an in-memory client/server transport pair, with a fake
// monitor deciding.
#include "net/userauth_server.h"

#include <gtest/gtest.h>

#include "common/ssh_key.h"
#include "common/wire.h"
#include "net/messages.h"
#include "net/transport_local_signer.h"

namespace postern::net {
namespace {

class FakeDecider : public AuthDecider {
 public:
  User user(const std::string& name, const std::string& service) override {
    users.push_back(name + "/" + service);
    return User{name == "alice", 2, methods, banner};
  }
  Decision key_allowed(const std::string&, ByteView key, bool with_signature) override {
    ++allowed_calls;
    bool ok = good_key && Bytes(key.begin(), key.end()) == *good_key;
    if (!ok) ++failures;
    (void)with_signature;
    return Decision{ok, failures >= 2, false, {}};
  }
  Decision key_verify(const std::string& alg, ByteView key, ByteView signature,
                      ByteView signed_data) override {
    signed_seen.assign(signed_data.begin(), signed_data.end());
    auto pk = PublicKey::from_blob(key);
    std::string sig_alg;
    bool ok = pk && pk->verify(signature, signed_data, &sig_alg) && sig_alg == alg;
    if (!ok) ++failures;
    return Decision{ok, failures >= 2, false, {}};
  }
  // keyboard-interactive (RFC 4256): the monitor's steps, scripted; the answers it was given.
  KbdintStep kbdint_start(const std::string&) override { return next_step(); }
  KbdintStep kbdint_respond(const std::vector<ByteView>& responses) override {
    std::vector<std::string> a;
    for (ByteView r : responses) a.emplace_back(r.begin(), r.end());
    kbdint_answers.push_back(a);
    return next_step();
  }
  KbdintStep next_step() {
    KbdintStep s = kbdint_steps.front();
    kbdint_steps.erase(kbdint_steps.begin());
    return s;
  }
  std::vector<KbdintStep> kbdint_steps;
  std::vector<std::vector<std::string>> kbdint_answers;
  std::vector<std::string> methods{"publickey"};
  std::vector<std::string> users;
  std::string banner;
  std::optional<Bytes> good_key;
  int allowed_calls = 0;
  unsigned failures = 0;
  Bytes signed_seen;
};

class UserauthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto hk = PrivateKey::generate(KeyType::kEd25519);
    ASSERT_TRUE(hk);
    std::vector<PrivateKey> keys;
    keys.push_back(std::move(*hk));
    signer = std::make_unique<LocalHostKeySigner>(std::move(keys));
    TransportConfig s;
    s.role = Role::kServer;
    s.host_key_signer = signer.get();
    s.kex_algorithms = {"curve25519-sha256"};
    s.host_key_algorithms = {"ssh-ed25519"};
    TransportConfig c;
    c.role = Role::kClient;
    c.kex_algorithms = {"curve25519-sha256"};
    c.host_key_algorithms = {"ssh-ed25519"};
    c.verify_host_key = [](ByteView) { return true; };
    server = std::make_unique<Transport>(s);
    client = std::make_unique<Transport>(c);
    auth = std::make_unique<UserauthServer>(*server, decider, Endpoint{"192.0.2.9", 4242});
    auto uk = PrivateKey::generate(KeyType::kEd25519);
    ASSERT_TRUE(uk);
    user_key.emplace(std::move(*uk));
    pump();
    ASSERT_TRUE(client->first_kex_done());
  }

  // Moves bytes both ways; server messages go to the userauth server, client ones are collected.
  void pump() {
    for (int i = 0; i < 100; ++i) {
      bool progress = false;
      while (client->has_output()) {
        ByteView out = client->pending_output();
        server->received(out);
        client->consume_output(out.size());
        progress = true;
        while (auto m = server->next_message()) auth->handle(*m);
      }
      while (server->has_output()) {
        ByteView out = server->pending_output();
        client->received(out);
        server->consume_output(out.size());
        progress = true;
        while (auto m = client->next_message()) at_client.emplace_back(m->begin(), m->end());
      }
      if (!progress) return;
    }
  }

  void service() {
    client->send(encode(ServiceRequestMsg{"ssh-userauth"}));
    pump();
    ASSERT_FALSE(at_client.empty());
    EXPECT_EQ(at_client.back()[0], kMsgServiceAccept);
  }

  Bytes request(const std::string& user, const std::string& method, ByteView tail = {}) {
    Writer w;
    w.u8(kMsgUserauthRequest).string(user).string("ssh-connection").string(method).raw(tail);
    return w.take();
  }

  Bytes publickey_request(const std::string& user, bool sign, const PrivateKey& key) {
    const Bytes& blob = key.public_key().blob();
    Writer tail;
    tail.boolean(sign).string("ssh-ed25519").string(ByteView(blob));
    if (sign) {
      Writer data;
      data.string(client->session_id())
          .u8(kMsgUserauthRequest)
          .string(user)
          .string("ssh-connection")
          .string("publickey")
          .boolean(true)
          .string("ssh-ed25519")
          .string(ByteView(blob));
      auto sig = key.sign("ssh-ed25519", data.buffer());
      EXPECT_TRUE(sig);
      tail.string(ByteView(*sig));
    }
    return request(user, "publickey", tail.buffer());
  }

  FakeDecider decider;
  std::unique_ptr<LocalHostKeySigner> signer;
  std::unique_ptr<Transport> server, client;
  std::unique_ptr<UserauthServer> auth;
  std::optional<PrivateKey> user_key;
  std::vector<Bytes> at_client;
};

TEST_F(UserauthTest, UserauthBeforeServiceRequestIsAViolation) {
  client->send(request("alice", "none"));
  EXPECT_THROW(pump(), ProtocolError);
}

TEST_F(UserauthTest, UnknownServiceIsRefused) {
  client->send(encode(ServiceRequestMsg{"ssh-connection"}));
  EXPECT_THROW(pump(), ProtocolError);
}

TEST_F(UserauthTest, ServiceRequestAgainDuringUserauthIsAnswered) {
  // Paramiko sends one before each method it tries.
  service();
  client->send(request("alice", "none"));
  pump();
  EXPECT_EQ(at_client.back()[0], kMsgUserauthFailure);
  service();
  client->send(request("alice", "none"));
  pump();
  EXPECT_EQ(at_client.back()[0], kMsgUserauthFailure);
  client->send(encode(ServiceRequestMsg{"ssh-connection"}));  // still only ssh-userauth
  EXPECT_THROW(pump(), ProtocolError);
}

TEST_F(UserauthTest, NoneListsTheMethods) {
  service();
  client->send(request("alice", "none"));
  pump();
  Reader r(at_client.back());
  EXPECT_EQ(r.u8(), kMsgUserauthFailure);
  EXPECT_EQ(r.name_list(), (std::vector<std::string>{"publickey"}));
  EXPECT_FALSE(r.boolean());
  EXPECT_EQ(decider.users, (std::vector<std::string>{"alice/ssh-connection"}));
}

TEST_F(UserauthTest, BannerComesBeforeTheFirstAnswer) {
  decider.banner = "Authorized use only\n";
  service();
  client->send(request("alice", "none"));
  pump();
  ASSERT_GE(at_client.size(), 3u);
  Reader r(at_client[at_client.size() - 2]);
  EXPECT_EQ(r.u8(), kMsgUserauthBanner);
  EXPECT_EQ(r.text(), "Authorized use only\n");
  EXPECT_EQ(at_client.back()[0], kMsgUserauthFailure);
}

TEST_F(UserauthTest, QueryThenSignatureSucceeds) {
  decider.good_key = user_key->public_key().blob();
  service();
  client->send(publickey_request("alice", false, *user_key));
  pump();
  EXPECT_EQ(at_client.back()[0], kMsgUserauthPkOk);
  client->send(publickey_request("alice", true, *user_key));
  pump();
  EXPECT_EQ(at_client.back()[0], kMsgUserauthSuccess);
  EXPECT_TRUE(auth->authenticated());
  // The signed data starts with the session identifier (RFC 4252 §7).
  Reader r(decider.signed_seen);
  ByteView sid = r.string();
  EXPECT_TRUE(
      std::equal(sid.begin(), sid.end(), client->session_id().begin(), client->session_id().end()));
}

TEST_F(UserauthTest, ChangeOfUserIsAViolation) {
  service();
  client->send(request("alice", "none"));
  pump();
  client->send(request("bob", "none"));
  EXPECT_THROW(pump(), ProtocolError);
}

TEST_F(UserauthTest, UserStyleIsStrippedForLogsButSignedAsSent) {
  decider.good_key = user_key->public_key().blob();
  service();
  client->send(publickey_request("alice:bsdauth", true, *user_key));
  pump();
  EXPECT_EQ(decider.users, (std::vector<std::string>{"alice:bsdauth/ssh-connection"}));
  EXPECT_EQ(auth->user(), "alice");
  EXPECT_TRUE(auth->authenticated());
}

TEST_F(UserauthTest, MaxAuthTriesDisconnects) {
  service();
  auto other = PrivateKey::generate(KeyType::kEd25519);
  ASSERT_TRUE(other);
  client->send(publickey_request("alice", false, *other));
  pump();
  EXPECT_EQ(at_client.back()[0], kMsgUserauthFailure);
  client->send(request("alice", "password", Bytes{0, 0, 0, 0, 0}));
  EXPECT_THROW(pump(), AuthAborted);
  // The DISCONNECT reaches the client.
  ByteView out = server->pending_output();
  EXPECT_THROW(
      {
        client->received(out);
        while (client->next_message()) {
        }
      },
      DisconnectReceived);
}

// ---- keyboard-interactive (RFC 4256) ------------------------------------------------------------

AuthDecider::KbdintStep kbdint_ask(std::string instruction, std::vector<std::string> prompts,
                                   std::vector<bool> echo) {
  AuthDecider::KbdintStep s;
  s.instruction = std::move(instruction);
  s.prompts = std::move(prompts);
  s.echo = std::move(echo);
  return s;
}

AuthDecider::KbdintStep kbdint_done(bool ok) {
  AuthDecider::KbdintStep s;
  s.done = true;
  s.decision.ok = ok;
  return s;
}

Bytes kbdint_request() {
  Writer tail;
  tail.string("").string("");  // language tag, submethods (§3.1)
  return tail.take();
}

Bytes info_response(const std::vector<std::string>& answers) {
  Writer w;
  w.u8(kMsgUserauthInfoResponse).u32(uint32_t(answers.size()));
  for (const auto& a : answers) w.string(a);
  return w.take();
}

TEST_F(UserauthTest, KeyboardInteractiveRelaysSeveralPromptsPerRequest) {
  decider.methods = {"publickey", "keyboard-interactive"};
  decider.kbdint_steps = {kbdint_ask("Two questions\n", {"Code: ", "PIN: "}, {true, false}),
                          kbdint_done(true)};
  service();
  client->send(request("alice", "keyboard-interactive", kbdint_request()));
  pump();
  // §3.2: string name, string instruction, string language, int num-prompts, (prompt, echo)...
  Reader r(at_client.back());
  EXPECT_EQ(r.u8(), kMsgUserauthInfoRequest);
  EXPECT_EQ(r.text(), "");
  EXPECT_EQ(r.text(), "Two questions\n");
  EXPECT_EQ(r.text(), "");
  EXPECT_EQ(r.u32(), 2u);
  EXPECT_EQ(r.text(), "Code: ");
  EXPECT_TRUE(r.boolean());
  EXPECT_EQ(r.text(), "PIN: ");
  EXPECT_FALSE(r.boolean());
  EXPECT_TRUE(r.done());
  client->send(info_response({"123", "4567"}));
  pump();
  EXPECT_EQ(decider.kbdint_answers, (std::vector<std::vector<std::string>>{{"123", "4567"}}));
  EXPECT_EQ(at_client.back()[0], kMsgUserauthSuccess);
  EXPECT_TRUE(auth->authenticated());
}

TEST_F(UserauthTest, KeyboardInteractiveFailureListsTheMethods) {
  decider.methods = {"publickey", "keyboard-interactive"};
  decider.kbdint_steps = {kbdint_ask("", {"PIN: "}, {false}), kbdint_done(false)};
  service();
  client->send(request("alice", "keyboard-interactive", kbdint_request()));
  pump();
  client->send(info_response({"0000"}));
  pump();
  EXPECT_EQ(at_client.back()[0], kMsgUserauthFailure);
  EXPECT_FALSE(auth->authenticated());
}

// The monitor may narrow the methods with a failure (the bastion picker's empty round before the
// key, monitor/monitor_picker.cpp): that failure and the next list only what it said.
TEST_F(UserauthTest, KeyboardInteractiveFailureMayNarrowTheMethods) {
  decider.methods = {"publickey", "keyboard-interactive"};
  AuthDecider::KbdintStep narrowed = kbdint_done(false);
  narrowed.decision.methods = {"publickey"};
  decider.kbdint_steps = {kbdint_ask("", {}, {}), narrowed};
  service();
  client->send(request("alice", "keyboard-interactive", kbdint_request()));
  pump();
  Reader ask(at_client.back());
  EXPECT_EQ(ask.u8(), kMsgUserauthInfoRequest);
  client->send(info_response({}));
  pump();
  Reader r(at_client.back());
  EXPECT_EQ(r.u8(), kMsgUserauthFailure);
  EXPECT_EQ(r.name_list(), (std::vector<std::string>{"publickey"}));
  EXPECT_FALSE(r.boolean());
  client->send(request("alice", "none", {}));
  pump();
  Reader again(at_client.back());
  EXPECT_EQ(again.u8(), kMsgUserauthFailure);
  EXPECT_EQ(again.name_list(), (std::vector<std::string>{"publickey"}));
}

TEST_F(UserauthTest, KeyboardInteractiveWrongNumberOfResponsesIsAViolation) {
  decider.methods = {"publickey", "keyboard-interactive"};
  decider.kbdint_steps = {kbdint_ask("", {"Code: ", "PIN: "}, {true, false})};
  service();
  client->send(request("alice", "keyboard-interactive", kbdint_request()));
  pump();
  client->send(info_response({"123"}));
  EXPECT_THROW(pump(), ProtocolError);
}

TEST_F(UserauthTest, InfoResponseWithoutRequestIsAViolation) {
  decider.methods = {"publickey", "keyboard-interactive"};
  service();
  client->send(info_response({"123"}));
  EXPECT_THROW(pump(), ProtocolError);
}

TEST_F(UserauthTest, KeyboardInteractiveNotOfferedFails) {
  service();
  client->send(request("alice", "keyboard-interactive", kbdint_request()));
  pump();
  EXPECT_EQ(at_client.back()[0], kMsgUserauthFailure);
  EXPECT_TRUE(decider.kbdint_answers.empty());
}

}  // namespace
}  // namespace postern::net
