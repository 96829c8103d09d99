#include "common/data_limit.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

namespace postern {
namespace {

constexpr uint64_t kMiB = 1024 * 1024;

// Runs `body` in a forked child (limits are per process) and returns its exit code.
template <typename F>
int in_child(F body) {
  pid_t pid = ::fork();
  if (pid == 0) _exit(body());
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

// The sanitizer build leaves the cap off (common/data_limit.cpp): nothing to check there.
#if defined(POSTERN_SANITIZERS)
#define SKIP_UNDER_SANITIZERS() GTEST_SKIP() << "no data cap in the sanitizer build"
#else
#define SKIP_UNDER_SANITIZERS() (void)0
#endif

TEST(DataLimit, AllocationPastTheCapIsBadAllocNotTheMachine) {
  SKIP_UNDER_SANITIZERS();
  EXPECT_EQ(in_child([] {
              if (!cap_data_limit(64 * kMiB, true)) return 1;
              try {
                std::vector<char> big(256 * kMiB);
                std::memset(big.data(), 1, big.size());
                return 2;  // the cap did not hold
              } catch (const std::bad_alloc&) {
                return 0;
              }
            }),
            0);
}

TEST(DataLimit, HardCapCannotBeRaisedAgain) {
  SKIP_UNDER_SANITIZERS();
  EXPECT_EQ(in_child([] {
              if (!cap_data_limit(64 * kMiB, true)) return 1;
              // As the net child is: not root (root could raise it with CAP_SYS_RESOURCE).
              if (::getuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) return 3;
              rlimit up{RLIM_INFINITY, RLIM_INFINITY};
              return ::setrlimit(RLIMIT_DATA, &up) == 0 ? 2 : 0;
            }),
            0);
}

TEST(DataLimit, SoftCapIsLiftedForExecdPrograms) {
  SKIP_UNDER_SANITIZERS();
  EXPECT_EQ(in_child([] {
              rlimit before{};
              ::getrlimit(RLIMIT_DATA, &before);
              if (!cap_data_limit(64 * kMiB, false)) return 1;
              rlimit capped{};
              ::getrlimit(RLIMIT_DATA, &capped);
              if (capped.rlim_cur != 64 * kMiB || capped.rlim_max != before.rlim_max) return 2;
              restore_data_limit_before_exec();
              rlimit after{};
              ::getrlimit(RLIMIT_DATA, &after);
              return after.rlim_cur == before.rlim_cur ? 0 : 3;
            }),
            0);
}

TEST(DataLimit, NeverRaisesALowerLimit) {
  SKIP_UNDER_SANITIZERS();
  EXPECT_EQ(in_child([] {
              rlimit low{32 * kMiB, RLIM_INFINITY};
              if (::setrlimit(RLIMIT_DATA, &low) != 0) return 1;
              if (!cap_data_limit(64 * kMiB, false)) return 2;
              rlimit now{};
              ::getrlimit(RLIMIT_DATA, &now);
              return now.rlim_cur == 32 * kMiB ? 0 : 3;
            }),
            0);
}

}  // namespace
}  // namespace postern
