#include "common/data_limit.h"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace postern {
namespace {

rlimit g_before{RLIM_INFINITY, RLIM_INFINITY};
bool g_capped = false;

}  // namespace

Result<void> cap_data_limit(uint64_t bytes, bool hard) {
#if defined(POSTERN_SANITIZERS)
  // ASan maps its shadow memory and allocator regions as the process runs; under RLIMIT_DATA
  // those mmaps fail and it aborts. The sanitizer build checks memory errors, not this cap.
  (void)bytes;
  (void)hard;
  return {};
#endif
  rlimit now{};
  if (::getrlimit(RLIMIT_DATA, &now) != 0)
    return Unexpected(std::string("getrlimit(RLIMIT_DATA): ") + std::strerror(errno));
  if (!g_capped) g_before = now;
  rlimit next = now;
  next.rlim_cur = std::min<rlim_t>(now.rlim_cur, rlim_t(bytes));
  if (hard) next.rlim_max = std::min<rlim_t>(now.rlim_max, rlim_t(bytes));
  if (::setrlimit(RLIMIT_DATA, &next) != 0)
    return Unexpected(std::string("setrlimit(RLIMIT_DATA): ") + std::strerror(errno));
  g_capped = true;
  return {};
}

void restore_data_limit_before_exec() {
  if (!g_capped) return;
  rlimit now{};
  if (::getrlimit(RLIMIT_DATA, &now) != 0) return;
  // An unprivileged process may raise its soft limit up to the hard one, no further.
  now.rlim_cur = std::min(g_before.rlim_cur, now.rlim_max);
  ::setrlimit(RLIMIT_DATA, &now);
}

}  // namespace postern
