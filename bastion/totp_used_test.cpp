#include "bastion/totp_used.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace postern::bastion {
namespace {

namespace fs = std::filesystem;

class TotpUsedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/postern-totp-XXXXXX";
    dir = ::mkdtemp(tmpl);
    path = (dir / "totp_used").string();
  }
  void TearDown() override { fs::remove_all(dir); }
  fs::path dir;
  std::string path;
};

TEST_F(TotpUsedTest, PathIsBesideTheSerialFile) {
  EXPECT_EQ(totp_used_path("/var/lib/postern/ca_serial"), "/var/lib/postern/totp_used");
  EXPECT_EQ(totp_used_path("/ca_serial"), "/totp_used");
}

// The claim's answer: 1 accepted, 0 refused, -1 an error.
int claim(const std::string& path, const std::string& user, uint64_t step) {
  auto r = claim_totp_step(path, user, step);
  return r ? int(*r) : -1;
}

TEST_F(TotpUsedTest, AStepIsAcceptedOnceAndNeverAnEarlierOne) {
  EXPECT_EQ(claim(path, "alice", 100), 1);
  EXPECT_EQ(claim(path, "alice", 100), 0);  // the same code again
  EXPECT_EQ(claim(path, "alice", 99), 0);   // an older code after a newer one
  EXPECT_EQ(claim(path, "bob", 100), 1);    // per user
  EXPECT_EQ(claim(path, "alice", 101), 1);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream f(path);
  std::stringstream text;
  text << f.rdbuf();
  EXPECT_EQ(text.str(), "alice 101\nbob 100\n");
}

TEST_F(TotpUsedTest, ConcurrentClaimsOfOneStepHaveOneWinner) {
  // Monitors of different connections are different processes: fork them.
  constexpr int kProcs = 8;
  pid_t pids[kProcs];
  for (int i = 0; i < kProcs; ++i) {
    pids[i] = ::fork();
    if (pids[i] == 0) {
      auto r = claim_totp_step(path, "alice", 500);
      ::_exit(r && *r ? 0 : 1);
    }
  }
  int winners = 0;
  for (pid_t p : pids) {
    int status = 0;
    ::waitpid(p, &status, 0);
    winners += WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  EXPECT_EQ(winners, 1);
}

TEST_F(TotpUsedTest, AnUnusableFileRefuses) {
  std::ofstream(path) << "garbage\n";
  EXPECT_FALSE(claim_totp_step(path, "alice", 1));
  EXPECT_FALSE(claim_totp_step((dir / "missing" / "totp_used").string(), "alice", 1));
  EXPECT_FALSE(claim_totp_step((dir / "x").string(), "two words", 1));
}

}  // namespace
}  // namespace postern::bastion
