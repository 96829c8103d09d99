// PrivateKey::held_elsewhere (HostKeyAgent, monitor/host_key_agent.h): a key whose private half
// another process holds. Part of the ssh_key_test executable.
#include <gtest/gtest.h>

#include <string>

#include "common/ssh_key.h"

namespace postern {
namespace {

// HostKeyAgent's keys: the holder's answer is used only when it is a valid signature of the
// algorithm asked for by this very key.
TEST(SshKey, KeyHeldElsewhereChecksTheHoldersSignature) {
  auto rsa = PrivateKey::generate(KeyType::kRsa, 2048);
  auto other = PrivateKey::generate(KeyType::kRsa, 2048);
  ASSERT_TRUE(rsa && other);
  Bytes data = to_bytes("exchange hash");
  std::string asked;
  auto held = PrivateKey::held_elsewhere(rsa->public_key(),
                                         [&](const PublicKey& k, std::string_view alg, ByteView d) {
                                           asked = alg;
                                           EXPECT_EQ(k.blob(), rsa->public_key().blob());
                                           return rsa->sign(alg, d);
                                         });
  auto sig = held.sign("rsa-sha2-256", data);
  ASSERT_TRUE(sig) << sig.error().message;
  EXPECT_EQ(asked, "rsa-sha2-256");
  std::string alg;
  EXPECT_TRUE(rsa->public_key().verify(*sig, data, &alg));
  EXPECT_EQ(alg, "rsa-sha2-256");
  EXPECT_EQ(held.to_openssh_text(), "");
  // An algorithm that does not fit the key is refused before the holder is asked.
  asked.clear();
  EXPECT_FALSE(held.sign("ssh-ed25519", data));
  EXPECT_EQ(asked, "");

  // A holder that answers with another algorithm, another key's signature, or an error.
  auto wrong_alg = PrivateKey::held_elsewhere(
      rsa->public_key(),
      [&](const PublicKey&, std::string_view, ByteView d) { return rsa->sign("rsa-sha2-512", d); });
  EXPECT_FALSE(wrong_alg.sign("rsa-sha2-256", data));
  auto wrong_key = PrivateKey::held_elsewhere(
      rsa->public_key(),
      [&](const PublicKey&, std::string_view a, ByteView d) { return other->sign(a, d); });
  EXPECT_FALSE(wrong_key.sign("rsa-sha2-512", data));
  auto refusing = PrivateKey::held_elsewhere(
      rsa->public_key(), [](const PublicKey&, std::string_view, ByteView) -> Result<Bytes> {
        return Unexpected("the agent refused to sign");
      });
  auto refused = refusing.sign("rsa-sha2-512", data);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "the agent refused to sign");
}

}  // namespace
}  // namespace postern
