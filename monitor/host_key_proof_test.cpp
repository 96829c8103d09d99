#include "monitor/host_key_proof.h"

#include <gtest/gtest.h>

#include "common/wire.h"

namespace postern::monitor {
namespace {

std::shared_ptr<const PrivateKey> make(KeyType t) {
  auto k = PrivateKey::generate(t, 2048);
  EXPECT_TRUE(k) << k.error().message;
  return std::make_shared<const PrivateKey>(std::move(*k));
}

class HostKeyProof : public ::testing::Test {
 protected:
  std::shared_ptr<const PrivateKey> ed = make(KeyType::kEd25519);
  std::shared_ptr<const PrivateKey> ed2 = make(KeyType::kEd25519);
  std::shared_ptr<const PrivateKey> rsa = make(KeyType::kRsa);
  std::shared_ptr<const PrivateKey> ec = make(KeyType::kEcdsaP256);
  std::vector<std::shared_ptr<const PrivateKey>> keys{ed, rsa, ec, ed2};
  Bytes sid = Bytes(32, 0x5a);
};

TEST_F(HostKeyProof, AnnouncesEveryKeyOnceInOrder) {
  // The same file named twice is one key; two keys of one type are both announced (rotation).
  auto out = announced_host_keys({ed, rsa, ed, ec, ed2});
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0], ed->public_key().blob());
  EXPECT_EQ(out[1], rsa->public_key().blob());
  EXPECT_EQ(out[2], ec->public_key().blob());
  EXPECT_EQ(out[3], ed2->public_key().blob());
}

TEST_F(HostKeyProof, SignedDataIsThePrococolsFormat) {
  Bytes blob = ed->public_key().blob();
  Bytes data = hostkeys_prove_data(sid, blob);
  Reader r(data);
  EXPECT_EQ(r.text(), "hostkeys-prove-00@openssh.com");
  ByteView s = r.string();
  EXPECT_EQ(Bytes(s.begin(), s.end()), sid);
  ByteView k = r.string();
  EXPECT_EQ(Bytes(k.begin(), k.end()), blob);
  EXPECT_TRUE(r.done());
}

TEST_F(HostKeyProof, RsaFollowsTheKeyExchangeAlgorithm) {
  const PublicKey& pub = rsa->public_key();
  EXPECT_EQ(proof_algorithm(pub, "rsa-sha2-256"), "rsa-sha2-256");
  EXPECT_EQ(proof_algorithm(pub, "rsa-sha2-512"), "rsa-sha2-512");
  EXPECT_EQ(proof_algorithm(pub, "ssh-rsa"), "ssh-rsa");
  EXPECT_EQ(proof_algorithm(pub, "ssh-ed25519"), "rsa-sha2-512");
  EXPECT_EQ(proof_algorithm(pub, ""), "rsa-sha2-512");
  EXPECT_EQ(proof_algorithm(ed->public_key(), "rsa-sha2-256"), "ssh-ed25519");
  EXPECT_EQ(proof_algorithm(ec->public_key(), "ssh-ed25519"), "ecdsa-sha2-nistp256");
}

TEST_F(HostKeyProof, SignaturesVerifyInRequestOrder) {
  std::vector<Bytes> want{rsa->public_key().blob(), ed2->public_key().blob(),
                          ec->public_key().blob()};
  auto sigs = prove_host_keys(keys, want, sid, "rsa-sha2-256");
  ASSERT_TRUE(sigs) << sigs.error().message;
  ASSERT_EQ(sigs->size(), 3u);
  std::string alg;
  EXPECT_TRUE(rsa->public_key().verify((*sigs)[0], hostkeys_prove_data(sid, want[0]), &alg));
  EXPECT_EQ(alg, "rsa-sha2-256");
  EXPECT_TRUE(ed2->public_key().verify((*sigs)[1], hostkeys_prove_data(sid, want[1]), &alg));
  EXPECT_EQ(alg, "ssh-ed25519");
  EXPECT_TRUE(ec->public_key().verify((*sigs)[2], hostkeys_prove_data(sid, want[2]), &alg));
  // Not a signature over anything else: another session, another key.
  EXPECT_FALSE(ed2->public_key().verify((*sigs)[1], hostkeys_prove_data(Bytes(32, 1), want[1])));
  EXPECT_FALSE(ed2->public_key().verify((*sigs)[1], hostkeys_prove_data(sid, want[0])));
}

TEST_F(HostKeyProof, RefusesWhatIsNotOurs) {
  auto other = make(KeyType::kEd25519);
  Bytes mine = ed->public_key().blob();
  EXPECT_FALSE(prove_host_keys(keys, {other->public_key().blob()}, sid, ""));
  EXPECT_FALSE(prove_host_keys(keys, {mine, other->public_key().blob()}, sid, ""));
  EXPECT_FALSE(prove_host_keys(keys, {mine, mine}, sid, ""));
  EXPECT_FALSE(prove_host_keys(keys, {}, sid, ""));
  EXPECT_FALSE(prove_host_keys(keys, {mine}, Bytes{}, ""));
  EXPECT_FALSE(prove_host_keys(keys, {Bytes{1, 2, 3}}, sid, ""));
  std::vector<Bytes> many(keys.size() + 1, mine);
  auto r = prove_host_keys(keys, many, sid, "");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("too many"), std::string::npos);
}

}  // namespace
}  // namespace postern::monitor
