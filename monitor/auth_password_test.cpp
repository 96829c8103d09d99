// The password method's decisions that user enumeration by timing depends on: a user who does
// not exist (or root without PermitRootLogin yes) goes through the same PAM stack as everybody
// else, with a password no module accepts; without PAM the stand-in hash costs what the system's
// own hashes cost; a refusal is padded to a fixed floor, never to a multiple of the time spent.
#include "monitor/auth_password.h"

#include <crypt.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace postern::monitor {
namespace {

using namespace std::chrono_literals;

// Records what check_password asks of PAM.
class RecordingPam : public PamDriver {
 public:
  struct Call {
    std::string user;
    std::string password;
  };
  std::vector<Call> calls;
  std::string accepts;                 // the one password this PAM accepts
  std::chrono::microseconds delay{0};  // what its modules ask to be delayed on failure

  bool authenticate_password(const std::string& user, ByteView password, bool) override {
    calls.push_back({user, std::string(password.begin(), password.end())});
    return calls.back().password == accepts;
  }
  PamStep kbdint_start(const std::string&, bool) override { return {true, false, {}, {}}; }
  PamStep kbdint_answer(std::vector<SecretBytes>) override { return {true, false, {}, {}}; }
  void kbdint_abandon() override {}
  bool kbdint_running() const override { return false; }
  std::chrono::microseconds fail_delay() const override { return delay; }
  PamAccount account(const std::string&) override { return PamAccount::kOk; }
  std::string take_messages() override { return {}; }
  bool open_session() override { return true; }
  std::vector<std::string> environment() override { return {}; }
};

class CheckPasswordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config = config::default_server_config();
    config.use_pam = true;
    config.password_authentication = true;
    pam.accepts = "s3cret";
    peer.address = "192.0.2.1";
    peer.port = 5555;
  }
  bool check(const std::string& user, bool valid, bool root, const std::string& password) {
    PasswordAttempt a{user, valid, root, as_bytes(password), &pam};
    return check_password(a, config, peer);
  }
  config::ServerConfig config;
  RecordingPam pam;
  Endpoint peer;
};

TEST_F(CheckPasswordTest, ValidUserGoesThroughPamWithTheClientsPassword) {
  EXPECT_TRUE(check("alice", true, false, "s3cret"));
  ASSERT_EQ(pam.calls.size(), 1u);
  EXPECT_EQ(pam.calls[0].user, "alice");
  EXPECT_EQ(pam.calls[0].password, "s3cret");
}

// What OpenSSH's sshd does: PAM runs for the name the client gave, so its modules (pam_unix's
// failure delay, pam_faillock) see an invalid user exactly as a valid one with a wrong password.
TEST_F(CheckPasswordTest, InvalidUserGoesThroughPamWithAnImpossiblePassword) {
  EXPECT_FALSE(check("mallory", false, false, "s3cret"));
  ASSERT_EQ(pam.calls.size(), 1u);
  EXPECT_EQ(pam.calls[0].user, "mallory");
  EXPECT_EQ(pam.calls[0].password, std::string(kImpossiblePassword));
  EXPECT_NE(pam.calls[0].password, "s3cret");
}

// Root without PermitRootLogin yes: PAM never sees the real password, so a right one is not
// answered faster (no failure delay) than a wrong one.
TEST_F(CheckPasswordTest, RefusedRootGoesThroughPamWithAnImpossiblePassword) {
  EXPECT_FALSE(check("root", true, true, "s3cret"));
  ASSERT_EQ(pam.calls.size(), 1u);
  EXPECT_EQ(pam.calls[0].password, std::string(kImpossiblePassword));
  config.permit_root_login = config::PermitRootLogin::kYes;
  EXPECT_TRUE(check("root", true, true, "s3cret"));
  EXPECT_EQ(pam.calls[1].password, "s3cret");
}

TEST_F(CheckPasswordTest, ImpossiblePasswordCannotBeTyped) {
  // A newline ends the password at any terminal prompt, so no account can have it.
  EXPECT_NE(kImpossiblePassword.find('\n'), std::string_view::npos);
}

// The settings part of a crypt(3) hash: "$id$params$" (yescrypt "$y$j9T$", SHA-512 with rounds
// "$6$rounds=N$"), everything before the salt.
std::string method_and_cost(const std::string& setting) {
  size_t salt = setting.rfind('$');
  return salt == std::string::npos ? setting : setting.substr(0, salt + 1);
}

TEST(DummyHash, UsesTheSystemsDefaultMethodAndCost) {
  // libxcrypt's default is what passwd(1) and chpasswd(8) write through pam_unix when it names
  // no rounds (yescrypt cost 5, "$y$j9T$", on Debian 12).
  char* def = ::crypt_gensalt_ra(nullptr, 0, nullptr, 0);
  ASSERT_NE(def, nullptr);
  std::string expected = method_and_cost(def);
  std::free(def);
  const std::string& dummy = dummy_password_hash();
  EXPECT_EQ(dummy.substr(0, expected.size()), expected) << dummy;
  EXPECT_EQ(method_and_cost(dummy), expected) << dummy;
  // And crypt(3) takes it: the stand-in check hashes for real.
  crypt_data cd{};
  const char* out = ::crypt_r("password", dummy.c_str(), &cd);
  ASSERT_NE(out, nullptr);
  EXPECT_NE(out[0], '*') << out;
  EXPECT_EQ(std::string(out).substr(0, expected.size()), expected);
}

TEST(DummyHash, NeverMatches) {
  EXPECT_FALSE(crypt_matches(dummy_password_hash(), as_bytes(""), true));
  EXPECT_FALSE(crypt_matches(dummy_password_hash(), as_bytes("password"), true));
}

TEST(FailurePadding, FillsUpToTheFloorAndNoMore) {
  EXPECT_EQ(failure_padding(0ms), kFailureFloor);
  EXPECT_EQ(failure_padding(kFailureFloor - 10ms), 10ms);
  EXPECT_EQ(failure_padding(kFailureFloor), 0ms);
  // Past the floor nothing is added: no doubling, which would scale with (and reveal) the work.
  EXPECT_EQ(failure_padding(kFailureFloor + 1ms), 0ms);
  EXPECT_EQ(failure_padding(3 * kFailureFloor), 0ms);
}

// PAM's modules asked for a longer delay (pam_unix: 2 s): that is the floor instead.
TEST(FailurePadding, PamsDelayIsALongerFloor) {
  EXPECT_EQ(failure_padding(100ms, 2s), 1900ms);
  EXPECT_EQ(failure_padding(0ms, 10ms), kFailureFloor);
  EXPECT_EQ(failure_padding(2500ms, 2s), 0ms);
}

// The delay PAM asked for reaches the padding: a refusal through PAM is padded to it.
TEST_F(CheckPasswordTest, RefusalIsPaddedToPamsDelay) {
  pam.delay = 700ms;
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(check("mallory", false, false, "s3cret"));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 700ms);
}

}  // namespace
}  // namespace postern::monitor
