// The bastion's login to a target over two real transports in memory: the target side here
// checks the publickey request the way a server does (RFC 4252 §7) and answers.
#include "bastion/target_login.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "common/ssh_key.h"
#include "common/ssh_msg.h"
#include "common/wire.h"
#include "net/transport_local_signer.h"

namespace postern::bastion {
namespace {

struct TargetPair : ::testing::Test {
  PrivateKey host = *PrivateKey::generate(KeyType::kEd25519);
  net::LocalHostKeySigner signer{{host}};
  std::unique_ptr<net::Transport> bastion, target;
  std::vector<Bytes> at_target;
  bool accept = true;
  Bytes seen_host_key;

  void SetUp() override {
    net::TransportConfig s;
    s.role = net::Role::kServer;
    s.host_key_signer = &signer;
    s.host_key_algorithms = {"ssh-ed25519"};
    target = std::make_unique<net::Transport>(s);
    net::TransportConfig c;
    c.role = net::Role::kClient;
    c.verify_host_key = [this](ByteView blob) {
      seen_host_key.assign(blob.begin(), blob.end());
      return true;
    };
    bastion = std::make_unique<net::Transport>(c);
  }

  // Moves bytes until both sides are quiet; the target answers as a server would.
  void pump(TargetLogin& login, const PublicKey& expected_key, const std::string& expected_alg) {
    for (int i = 0; i < 100; ++i) {
      bool moved = false;
      if (bastion->has_output()) {
        target->received(bastion->pending_output());
        bastion->consume_output(bastion->pending_output().size());
        moved = true;
      }
      while (auto m = target->next_message()) serve(*m, expected_key, expected_alg);
      if (target->has_output()) {
        bastion->received(target->pending_output());
        target->consume_output(target->pending_output().size());
        moved = true;
      }
      while (auto m = bastion->next_message()) login.handle(*m);
      login.progress();
      if (!moved && !bastion->has_output()) return;
    }
  }

  void serve(ByteView msg, const PublicKey& expected_key, const std::string& expected_alg) {
    Reader r(msg);
    uint8_t type = r.u8();
    if (type == kMsgServiceRequest) {
      EXPECT_EQ(r.text(), "ssh-userauth");
      Writer w;
      w.u8(kMsgServiceAccept).string("ssh-userauth");
      target->send(w.buffer());
      return;
    }
    ASSERT_EQ(type, kMsgUserauthRequest);
    EXPECT_EQ(r.text(), "deploy");
    EXPECT_EQ(r.text(), "ssh-connection");
    EXPECT_EQ(r.text(), "publickey");
    EXPECT_TRUE(r.boolean());
    EXPECT_EQ(r.text(), expected_alg);
    ByteView blob = r.string();
    size_t signed_len = msg.size() - r.remaining();
    ByteView sig = r.string();
    // RFC 4252 §7: session identifier, then the request up to the signature.
    Writer data;
    data.string(target->session_id()).raw(msg.first(signed_len));
    bool ok = expected_key.verify(sig, data.buffer());
    EXPECT_TRUE(ok);
    EXPECT_EQ(Bytes(blob.begin(), blob.end()), expected_key.blob());
    Writer w;
    if (ok && accept)
      w.u8(kMsgUserauthSuccess);
    else
      w.u8(kMsgUserauthFailure).string("publickey,password").boolean(false);
    target->send(w.buffer());
  }

  TargetCredential key_credential(const PrivateKey& key) {
    TargetCredential c;
    c.method = "key";
    c.algorithm = "ssh-ed25519";
    c.key_blob = key.public_key().blob();
    c.sign = [&key](std::string_view alg, ByteView data) { return key.sign(alg, data); };
    return c;
  }
};

TEST_F(TargetPair, LogsInWithASignedPublickeyRequest) {
  PrivateKey user = *PrivateKey::generate(KeyType::kEd25519);
  TargetLogin login(*bastion, "deploy", key_credential(user));
  EXPECT_EQ(login.state(), TargetLogin::State::kKeyExchange);
  pump(login, user.public_key(), "ssh-ed25519");
  EXPECT_EQ(login.state(), TargetLogin::State::kSucceeded);
  EXPECT_EQ(seen_host_key, host.public_key().blob());
}

TEST_F(TargetPair, ARefusalIsAFailureWithTheReason) {
  accept = false;
  PrivateKey user = *PrivateKey::generate(KeyType::kEd25519);
  TargetLogin login(*bastion, "deploy", key_credential(user));
  pump(login, user.public_key(), "ssh-ed25519");
  EXPECT_EQ(login.state(), TargetLogin::State::kFailed);
  EXPECT_EQ(login.failure(), "refused");
}

TEST_F(TargetPair, ASignerThatFailsEndsTheLogin) {
  PrivateKey user = *PrivateKey::generate(KeyType::kEd25519);
  TargetCredential c = key_credential(user);
  c.sign = [](std::string_view, ByteView) -> Result<Bytes> {
    return Unexpected("monitor says no");
  };
  TargetLogin login(*bastion, "deploy", std::move(c));
  pump(login, user.public_key(), "ssh-ed25519");
  EXPECT_EQ(login.state(), TargetLogin::State::kFailed);
  EXPECT_EQ(login.failure(), "could not sign: monitor says no");
}

TEST(TargetLogin, UnexpectedMessagesAreProtocolErrors) {
  net::TransportConfig c;
  c.role = net::Role::kClient;
  net::Transport t(c);
  TargetLogin login(t, "deploy", {});
  // Nothing may arrive before the service request went out.
  EXPECT_THROW(login.handle(Bytes{kMsgUserauthSuccess}), ProtocolError);
  EXPECT_THROW(login.handle(Bytes{}), ProtocolError);
}

}  // namespace
}  // namespace postern::bastion
