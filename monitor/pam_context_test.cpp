// PamContext against real libpam, with pam_wrapper (libpam-wrapper) pointing pam_start at service
// files of this test's own: pam_matrix (a password file) and pam_postern_test.so (several
// questions in one conversation call, an expired account, a session environment). The binary
// re-executes itself once with LD_PRELOAD=libpam_wrapper.so so nothing in /etc/pam.d is touched.
#include "monitor/pam_context.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "common/protocol_error.h"

namespace postern::monitor {
namespace {

constexpr const char* kMatrix = "/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_matrix.so";
constexpr const char* kWrapper = "/usr/lib/x86_64-linux-gnu/libpam_wrapper.so";
constexpr const char* kFailDelay = "/usr/lib/x86_64-linux-gnu/security/pam_faildelay.so";

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// Before main: without pam_wrapper loaded, write the service files and run again under it.
[[maybe_unused]] const bool kReexeced = [] {
  if (std::getenv("PAM_WRAPPER") != nullptr || ::access(kWrapper, R_OK) != 0 ||
      ::access(kMatrix, R_OK) != 0)
    return false;
  char tmpl[] = "/tmp/postern-pamw-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return false;
  std::string dir = tmpl;
  // pam_matrix takes a user's first line: one password file per service.
  auto matrix = [&](const char* service) {
    std::ofstream(dir + "/passdb-" + service) << "alice:secret:" << service << "\n";
    return std::string(kMatrix) + " passdb=" + dir + "/passdb-" + service + "\n";
  };
  std::string module = POSTERN_PAM_TEST_MODULE;
  std::ofstream(dir + "/postern-kbd")
      << "auth required " << module
      << " info=Two_questions_follow echo=Code:_ prompt=PIN:_ answer=123 answer=4567\n"
      << "auth required " << matrix("postern-kbd") << "account required " << matrix("postern-kbd");
  std::ofstream(dir + "/postern-expired")
      << "auth required " << matrix("postern-expired") << "account required " << module
      << " expired changed=" << dir << "/changed\npassword required " << module
      << " changed=" << dir << "/changed\n";
  std::ofstream(dir + "/postern-session")
      << "auth required " << matrix("postern-session") << "account required "
      << matrix("postern-session") << "session required " << module
      << " setenv=POSTERN_FROM_PAM=yes\n";
  // A failure delay of 10 s (libpam makes it 5-15 s), far longer than the test may take.
  std::ofstream(dir + "/postern-delay") << "auth optional " << kFailDelay << " delay=10000000\n"
                                        << "auth required " << matrix("postern-delay");
  ::setenv("LD_PRELOAD", kWrapper, 1);
  ::setenv("PAM_WRAPPER", "1", 1);
  ::setenv("PAM_WRAPPER_SERVICE_DIR", dir.c_str(), 1);
  ::setenv("POSTERN_PAMW_DIR", dir.c_str(), 1);
  std::string cmdline = read_file("/proc/self/cmdline");
  std::vector<char*> argv;
  for (size_t i = 0; i < cmdline.size(); i += std::strlen(&cmdline[i]) + 1)
    argv.push_back(&cmdline[i]);
  argv.push_back(nullptr);
  ::execv("/proc/self/exe", argv.data());
  return false;
}();

// The re-executed run removes the service files when it ends.
struct RemoveServiceDir {
  ~RemoveServiceDir() {
    if (const char* d = std::getenv("POSTERN_PAMW_DIR")) std::filesystem::remove_all(d);
  }
} remove_service_dir;

class PamContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::getenv("POSTERN_PAMW_DIR") == nullptr) GTEST_SKIP() << "libpam-wrapper not installed";
    dir = std::getenv("POSTERN_PAMW_DIR");
    ::unlink((dir + "/changed").c_str());
  }
  static Endpoint endpoint(const char* address, int port) {
    Endpoint e;
    e.address = address;
    e.port = port;
    return e;
  }
  std::unique_ptr<PamContext> make(const char* service) {
    return std::make_unique<PamContext>(service, endpoint("192.0.2.1", 5555),
                                        endpoint("192.0.2.2", 22));
  }
  static std::vector<SecretBytes> answers(std::vector<std::string> a) {
    std::vector<SecretBytes> out;
    for (const auto& s : a) out.emplace_back(as_bytes(s));
    return out;
  }
  std::string dir;
};

TEST_F(PamContextTest, SeveralPromptsOfOneCallAreOneStep) {
  auto pam = make("postern-kbd");
  PamStep s = pam->kbdint_start("alice", false);
  ASSERT_FALSE(s.done);
  EXPECT_EQ(s.instruction, "Two questions follow\n");
  ASSERT_EQ(s.prompts.size(), 2u);
  EXPECT_EQ(s.prompts[0].text, "Code: ");
  EXPECT_TRUE(s.prompts[0].echo);
  EXPECT_EQ(s.prompts[1].text, "PIN: ");
  EXPECT_FALSE(s.prompts[1].echo);
  s = pam->kbdint_answer(answers({"123", "4567"}));
  ASSERT_FALSE(s.done);
  ASSERT_EQ(s.prompts.size(), 1u);  // pam_matrix asks for the password
  EXPECT_FALSE(s.prompts[0].echo);
  s = pam->kbdint_answer(answers({"secret"}));
  EXPECT_TRUE(s.done);
  EXPECT_TRUE(s.ok);
  EXPECT_FALSE(pam->kbdint_running());
  EXPECT_EQ(pam->account("alice"), PamAccount::kOk);
}

TEST_F(PamContextTest, WrongAnswerFails) {
  auto pam = make("postern-kbd");
  pam->kbdint_start("alice", false);
  PamStep s = pam->kbdint_answer(answers({"123", "0000"}));
  // The first module failed; "required" still runs the rest of the stack.
  while (!s.done) {
    std::vector<std::string> a(s.prompts.size(), "secret");
    s = pam->kbdint_answer(answers(a));
  }
  EXPECT_FALSE(s.ok);
}

TEST_F(PamContextTest, AnswerCountMustMatch) {
  auto pam = make("postern-kbd");
  pam->kbdint_start("alice", false);
  EXPECT_THROW(pam->kbdint_answer(answers({"123"})), ProtocolError);
  pam->kbdint_abandon();
  EXPECT_FALSE(pam->kbdint_running());
}

TEST_F(PamContextTest, AbandonedConversationCanStartAgain) {
  auto pam = make("postern-kbd");
  EXPECT_FALSE(pam->kbdint_start("alice", false).done);
  EXPECT_TRUE(pam->kbdint_running());
  pam->kbdint_abandon();
  EXPECT_FALSE(pam->kbdint_running());
  PamStep s = pam->kbdint_start("alice", false);
  EXPECT_FALSE(s.done);
  EXPECT_EQ(s.prompts.size(), 2u);
}

TEST_F(PamContextTest, ExpiredPasswordIsChangedInTheConversation) {
  auto pam = make("postern-expired");
  PamStep s = pam->kbdint_start("alice", false);
  ASSERT_FALSE(s.done);
  s = pam->kbdint_answer(answers({"secret"}));
  ASSERT_FALSE(s.done);
  ASSERT_EQ(s.prompts.size(), 2u);  // new password and again, in one step
  EXPECT_EQ(s.prompts[0].text, "New password: ");
  s = pam->kbdint_answer(answers({"n3w", "n3w"}));
  EXPECT_TRUE(s.done);
  EXPECT_TRUE(s.ok);
  EXPECT_EQ(read_file(dir + "/changed"), "n3w");
  EXPECT_EQ(pam->account("alice"), PamAccount::kOk);
}

TEST_F(PamContextTest, PasswordMethodAndExpiredAccount) {
  auto pam = make("postern-expired");
  EXPECT_FALSE(pam->authenticate_password("alice", as_bytes("wrong"), false));
  EXPECT_TRUE(pam->authenticate_password("alice", as_bytes("secret"), false));
  EXPECT_EQ(pam->account("alice"), PamAccount::kPasswordExpired);
}

// The delay the modules ask for on failure is reported to the monitor, which pads the refusal to
// it from the start of the check (monitor/auth_password.h); libpam does not sleep it itself.
TEST_F(PamContextTest, FailureDelayIsLeftToTheMonitor) {
  using namespace std::chrono_literals;
  auto pam = make("postern-delay");
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(pam->authenticate_password("alice", as_bytes("wrong"), false));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);  // libpam would sleep at least 5 s
  EXPECT_GE(pam->fail_delay(), 5s);
  EXPECT_LE(pam->fail_delay(), 15s);
  EXPECT_TRUE(pam->authenticate_password("alice", as_bytes("secret"), false));
  EXPECT_EQ(pam->fail_delay(), 0s);
}

TEST_F(PamContextTest, SessionEnvironment) {
  auto pam = make("postern-session");
  EXPECT_TRUE(pam->authenticate_password("alice", as_bytes("secret"), false));
  EXPECT_EQ(pam->account("alice"), PamAccount::kOk);
  ASSERT_TRUE(pam->open_session());
  auto env = pam->environment();
  EXPECT_NE(std::find(env.begin(), env.end(), "POSTERN_FROM_PAM=yes"), env.end());
  EXPECT_NE(std::find(env.begin(), env.end(), "SSH_CONNECTION=192.0.2.1 5555 192.0.2.2 22"),
            env.end());
  pam->end();
}

}  // namespace
}  // namespace postern::monitor
