#include "bastion/certificate_command.h"

#include <gtest/gtest.h>

#include "common/ssh_key.h"

namespace postern::bastion {
namespace {

TEST(CertificateCommand, WhichCommandsAreIt) {
  EXPECT_TRUE(is_certificate_command("certificate deploy@web1"));
  EXPECT_TRUE(is_certificate_command("certificate"));
  EXPECT_TRUE(is_certificate_command("  certificate\tx"));
  EXPECT_FALSE(is_certificate_command("certificates deploy@web1"));
  EXPECT_FALSE(is_certificate_command("ls certificate"));
  EXPECT_FALSE(is_certificate_command(""));
}

TEST(CertificateCommand, ParsesUserTargetAndPort) {
  struct Case {
    const char* command;
    const char* user;
    const char* target;
    uint32_t port;
  } cases[] = {
      {"certificate deploy@web1", "deploy", "web1", 0},
      {"certificate deploy@web1:2222", "deploy", "web1", 2222},
      {"certificate  root@10.1.0.5 ", "root", "10.1.0.5", 0},
      {"certificate deploy@[2001:db8::5]:22", "deploy", "2001:db8::5", 22},
      {"certificate deploy@[::1]", "deploy", "::1", 0},
  };
  for (const Case& c : cases) {
    auto r = parse_certificate_command(c.command);
    ASSERT_TRUE(r) << c.command << ": " << r.error().message;
    EXPECT_EQ(r->target_user, c.user) << c.command;
    EXPECT_EQ(r->target, c.target) << c.command;
    EXPECT_EQ(r->port, c.port) << c.command;
  }
}

TEST(CertificateCommand, MalformedCommandsSayHow) {
  for (const char* bad :
       {"certificate", "certificate web1", "certificate @web1", "certificate deploy@",
        "certificate a b@c", "certificate deploy@web1:", "certificate deploy@web1:0",
        "certificate deploy@web1:70000", "certificate deploy@web1:22x", "certificate deploy@[::1",
        "certificate deploy@[::1]x", "certificate a@b@c", "certificate deploy@w\x01"}) {
    auto r = parse_certificate_command(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("certificate"), std::string::npos) << bad;
  }
}

TEST(KeyInput, OneKeyLineWithItsComment) {
  auto key = PrivateKey::generate(KeyType::kEd25519);
  ASSERT_TRUE(key);
  std::string line = key->public_key().to_openssh_text();
  auto r = parse_key_input("\n" + line + " ci@runner 7\r\n\n");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->blob, key->public_key().blob());
  EXPECT_EQ(r->comment, "ci@runner 7");
  auto bare = parse_key_input(line);
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->comment, "");
}

TEST(KeyInput, AnythingElseIsRefused) {
  auto key = PrivateKey::generate(KeyType::kEd25519);
  ASSERT_TRUE(key);
  std::string line = key->public_key().to_openssh_text();
  std::string b64 = line.substr(line.find(' ') + 1);
  for (std::string bad : {std::string(), std::string("\n \n"), std::string("hello world\n"),
                          std::string("ssh-ed25519 !!!!\n"), line + "\n" + line + "\n",
                          "ssh-rsa " + b64 + "\n",  // the blob says ssh-ed25519
                          std::string("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n"),
                          std::string(kMaxKeyInput + 1, 'A')}) {
    auto r = parse_key_input(bad);
    EXPECT_FALSE(r) << bad.substr(0, 80);
  }
}

}  // namespace
}  // namespace postern::bastion
