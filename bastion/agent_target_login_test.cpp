// The login with the user's agent over two real transports in memory: the target side answers
// queries and checks signatures as a server does (RFC 4252 §7); the agent is a list of keys
// answering the frames the login sends (draft-miller-ssh-agent).
#include "bastion/agent_target_login.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>

#include "common/ssh_key.h"
#include "common/ssh_msg.h"
#include "common/wire.h"
#include "net/transport_local_signer.h"

namespace postern::bastion {
namespace {

Bytes sign_response(ByteView signature) {
  Writer w;
  w.u8(kAgentSignResponse).string(signature);
  return w.take();
}

struct AgentLoginTest : ::testing::Test {
  PrivateKey host = *PrivateKey::generate(KeyType::kEd25519);
  net::LocalHostKeySigner signer{{host}};
  std::unique_ptr<net::Transport> bastion, target;
  std::vector<std::string> server_sig_algs;  // empty: the transport's default list

  // The agent: its keys in order, what it is asked, how it answers.
  std::vector<PrivateKey> agent_keys;
  std::vector<Bytes> to_agent;
  std::vector<uint32_t> sign_flags;
  bool agent_refuses_to_sign = false;
  std::optional<Bytes> identities_override;

  // The target: which keys it takes, what it was asked.
  std::set<Bytes> authorized;
  std::vector<std::string> queries;  // "alg" per query without signature
  bool partial_success = false;
  std::optional<Bytes> pk_ok_blob;  // answers PK_OK naming this key instead

  void start() {
    net::TransportConfig s;
    s.role = net::Role::kServer;
    s.host_key_signer = &signer;
    s.host_key_algorithms = {"ssh-ed25519"};
    s.server_sig_algs = server_sig_algs;
    target = std::make_unique<net::Transport>(s);
    net::TransportConfig c;
    c.role = net::Role::kClient;
    c.verify_host_key = [](ByteView) { return true; };
    bastion = std::make_unique<net::Transport>(c);
  }

  AgentTargetLogin make_login() {
    return AgentTargetLogin(*bastion, "deploy",
                            [this](ByteView f) { to_agent.emplace_back(f.begin(), f.end()); });
  }

  // Moves bytes and agent frames until everything is quiet.
  void pump(AgentTargetLogin& login) {
    for (int i = 0; i < 200; ++i) {
      bool moved = false;
      if (bastion->has_output()) {
        target->received(bastion->pending_output());
        bastion->consume_output(bastion->pending_output().size());
        moved = true;
      }
      while (auto m = target->next_message()) serve(*m);
      if (target->has_output()) {
        bastion->received(target->pending_output());
        target->consume_output(target->pending_output().size());
        moved = true;
      }
      while (auto m = bastion->next_message()) login.handle_target(*m);
      while (!to_agent.empty()) {
        Bytes frame = to_agent.front();
        to_agent.erase(to_agent.begin());
        login.handle_agent(agent_answer(frame));
        moved = true;
      }
      login.progress();
      if (!moved && !bastion->has_output()) return;
    }
  }

  Bytes agent_answer(const Bytes& frame) {
    Reader r(frame);
    EXPECT_EQ(r.u32(), frame.size() - 4);
    uint8_t type = r.u8();
    if (type == kAgentRequestIdentities) {
      if (identities_override) return *identities_override;
      Writer w;
      w.u8(kAgentIdentitiesAnswer).u32(uint32_t(agent_keys.size()));
      for (const auto& k : agent_keys) w.string(ByteView(k.public_key().blob())).string("c");
      return w.take();
    }
    EXPECT_EQ(type, kAgentSignRequest);
    ByteView blob = r.string();
    ByteView data = r.string();
    uint32_t flags = r.u32();
    sign_flags.push_back(flags);
    if (agent_refuses_to_sign) return Bytes{kAgentFailure};
    for (const auto& k : agent_keys) {
      if (!std::equal(blob.begin(), blob.end(), k.public_key().blob().begin(),
                      k.public_key().blob().end()))
        continue;
      std::string alg = k.type() != KeyType::kRsa ? k.public_key().signature_algorithms().front()
                        : (flags & kAgentRsaSha2_512) ? "rsa-sha2-512"
                                                      : "rsa-sha2-256";
      return sign_response(*k.sign(alg, data));
    }
    return Bytes{kAgentFailure};
  }

  void serve(ByteView msg) {
    Reader r(msg);
    uint8_t type = r.u8();
    Writer w;
    if (type == kMsgServiceRequest) {
      w.u8(kMsgServiceAccept).string("ssh-userauth");
      target->send(w.buffer());
      return;
    }
    ASSERT_EQ(type, kMsgUserauthRequest);
    EXPECT_EQ(r.text(), "deploy");
    EXPECT_EQ(r.text(), "ssh-connection");
    EXPECT_EQ(r.text(), "publickey");
    bool signed_request = r.boolean();
    std::string alg(r.text());
    ByteView blob = r.string();
    Bytes key(blob.begin(), blob.end());
    if (!signed_request) {
      queries.push_back(alg);
      if (authorized.count(key))
        w.u8(kMsgUserauthPkOk).string(alg).string(pk_ok_blob ? ByteView(*pk_ok_blob) : blob);
      else
        w.u8(kMsgUserauthFailure).string("publickey").boolean(false);
      target->send(w.buffer());
      return;
    }
    size_t signed_len = msg.size() - r.remaining();
    ByteView sig = r.string();
    Writer data;
    data.string(target->session_id()).raw(msg.first(signed_len));
    std::string sig_alg;
    bool ok = PublicKey::from_blob(blob)->verify(sig, data.buffer(), &sig_alg);
    EXPECT_TRUE(ok);
    if (ok && partial_success)
      w.u8(kMsgUserauthFailure).string("keyboard-interactive").boolean(true);
    else if (ok && authorized.count(key))
      w.u8(kMsgUserauthSuccess);
    else
      w.u8(kMsgUserauthFailure).string("publickey").boolean(false);
    target->send(w.buffer());
  }

  PrivateKey& add_key(KeyType type, bool authorize) {
    agent_keys.push_back(*PrivateKey::generate(type, 2048));
    if (authorize) authorized.insert(agent_keys.back().public_key().blob());
    return agent_keys.back();
  }
};

TEST_F(AgentLoginTest, QueriesEachKeyAndSignsWithTheOneTheTargetTakes) {
  start();
  add_key(KeyType::kEd25519, false);
  PrivateKey& good = add_key(KeyType::kEd25519, true);
  auto login = make_login();
  pump(login);
  ASSERT_EQ(login.state(), AgentTargetLogin::State::kSucceeded) << login.failure();
  EXPECT_EQ(queries, (std::vector<std::string>{"ssh-ed25519", "ssh-ed25519"}));
  EXPECT_EQ(sign_flags, std::vector<uint32_t>{0});  // only the key the target took was signed
  EXPECT_EQ(login.accepted_key(), "ssh-ed25519 " + good.public_key().fingerprint_sha256());
}

TEST_F(AgentLoginTest, RsaSignsWithSha512) {
  start();
  add_key(KeyType::kRsa, true);
  auto login = make_login();
  pump(login);
  ASSERT_EQ(login.state(), AgentTargetLogin::State::kSucceeded) << login.failure();
  EXPECT_EQ(queries, std::vector<std::string>{"rsa-sha2-512"});
  EXPECT_EQ(sign_flags, std::vector<uint32_t>{kAgentRsaSha2_512});
}

TEST_F(AgentLoginTest, EveryKeyRefusedAndTheNumberOfTriesBounded) {
  start();
  for (int i = 0; i < 10; ++i) add_key(KeyType::kEd25519, false);
  auto login = make_login();
  pump(login);
  EXPECT_EQ(login.state(), AgentTargetLogin::State::kFailed);
  EXPECT_EQ(login.failure_kind(), AgentTargetLogin::Failure::kEveryKeyRefused);
  EXPECT_EQ(queries.size(), AgentTargetLogin::kMaxKeysTried);
  EXPECT_EQ(login.failure(), "tried the first 8 keys");
}

TEST_F(AgentLoginTest, AnEmptyAgent) {
  start();
  auto login = make_login();
  pump(login);
  EXPECT_EQ(login.failure_kind(), AgentTargetLogin::Failure::kEveryKeyRefused);
  EXPECT_EQ(login.failure(), "the agent holds no keys");
  EXPECT_TRUE(queries.empty());
}

TEST_F(AgentLoginTest, KeysTheTargetDoesNotListAreSkipped) {
  server_sig_algs = {"ssh-ed25519"};
  start();
  add_key(KeyType::kEcdsaP256, true);
  auto login = make_login();
  pump(login);
  EXPECT_EQ(login.failure(), "the agent holds no key of a type the target accepts");
  EXPECT_TRUE(queries.empty());
}

TEST_F(AgentLoginTest, AgentRefusingToSignMovesOn) {
  start();
  add_key(KeyType::kEd25519, true);
  agent_refuses_to_sign = true;
  auto login = make_login();
  pump(login);
  EXPECT_EQ(login.failure_kind(), AgentTargetLogin::Failure::kEveryKeyRefused);
  EXPECT_EQ(login.failure(), "the agent refused to sign");
}

TEST_F(AgentLoginTest, AgentRefusingToListIsAnAgentFailure) {
  start();
  identities_override = Bytes{kAgentFailure};
  auto login = make_login();
  pump(login);
  EXPECT_EQ(login.failure_kind(), AgentTargetLogin::Failure::kAgent);
  EXPECT_EQ(login.failure(), "the agent refused to list its keys");
}

TEST_F(AgentLoginTest, PartialSuccessEndsTheLogin) {
  start();
  add_key(KeyType::kEd25519, true);
  add_key(KeyType::kEd25519, true);
  partial_success = true;
  auto login = make_login();
  pump(login);
  EXPECT_EQ(login.failure(), "wants more authentication (keyboard-interactive)");
  EXPECT_EQ(queries.size(), 1u);
}

TEST_F(AgentLoginTest, PkOkForAnotherKeyIsAProtocolError) {
  start();
  add_key(KeyType::kEd25519, true);
  pk_ok_blob = PrivateKey::generate(KeyType::kEd25519)->public_key().blob();
  auto login = make_login();
  EXPECT_THROW(pump(login), ProtocolError);
  EXPECT_TRUE(sign_flags.empty());  // nothing was signed for it
}

TEST_F(AgentLoginTest, MessagesOutOfPhaseAreProtocolErrors) {
  start();
  auto login = make_login();
  EXPECT_THROW(login.handle_target(Bytes{kMsgUserauthSuccess}), ProtocolError);
  EXPECT_THROW(login.handle_target(Bytes{}), ProtocolError);
}

TEST(AgentKeyAlgorithm, NamesAndServerSigAlgs) {
  auto blob = [](std::string_view type) {
    Writer w;
    w.string(type);
    return w.take();
  };
  std::optional<std::vector<std::string>> none;
  auto ed = agent_key_algorithm(blob("ssh-ed25519"), none);
  ASSERT_TRUE(ed);
  EXPECT_EQ(ed->algorithm, "ssh-ed25519");
  EXPECT_EQ(ed->flags, 0u);
  auto cert = agent_key_algorithm(blob("ssh-ed25519-cert-v01@openssh.com"), none);
  ASSERT_TRUE(cert);
  EXPECT_EQ(cert->algorithm, "ssh-ed25519-cert-v01@openssh.com");
  EXPECT_EQ(cert->signature_algorithm, "ssh-ed25519");
  auto sk = agent_key_algorithm(blob("sk-ssh-ed25519-cert-v01@openssh.com"), none);
  ASSERT_TRUE(sk);
  EXPECT_EQ(sk->signature_algorithm, "sk-ssh-ed25519@openssh.com");
  auto rsa_cert = agent_key_algorithm(blob("ssh-rsa-cert-v01@openssh.com"), none);
  ASSERT_TRUE(rsa_cert);
  EXPECT_EQ(rsa_cert->algorithm, "rsa-sha2-512-cert-v01@openssh.com");
  EXPECT_EQ(rsa_cert->signature_algorithm, "rsa-sha2-512");
  EXPECT_EQ(rsa_cert->flags, kAgentRsaSha2_512);
  // A target that lists only SHA-256 for RSA gets SHA-256.
  auto rsa256 = agent_key_algorithm(blob("ssh-rsa"), std::vector<std::string>{"rsa-sha2-256"});
  ASSERT_TRUE(rsa256);
  EXPECT_EQ(rsa256->algorithm, "rsa-sha2-256");
  EXPECT_EQ(rsa256->flags, kAgentRsaSha2_256);
  // DSA, unknown names, garbage, and what the target leaves out of server-sig-algs.
  EXPECT_FALSE(agent_key_algorithm(blob("ssh-dss"), none));
  EXPECT_FALSE(agent_key_algorithm(blob("foo@example.com"), none));
  EXPECT_FALSE(agent_key_algorithm(Bytes{0, 0, 0, 9, 'x'}, none));
  EXPECT_FALSE(agent_key_algorithm(blob("ssh-rsa"), std::vector<std::string>{"ssh-ed25519"}));
  EXPECT_FALSE(agent_key_algorithm(blob("ecdsa-sha2-nistp256-cert-v01@openssh.com"),
                                   std::vector<std::string>{"ssh-ed25519"}));
}

}  // namespace
}  // namespace postern::bastion
