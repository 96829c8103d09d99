// RLIMIT_DATA for a connection's unprivileged processes: whatever a future bug lets a peer make
// us buffer, one connection then fails with std::bad_alloc (a clean disconnect at the process's
// catch boundary) instead of taking the machine's memory.
#pragma once

#include <cstdint>

#include "common/result.h"

namespace postern {

// The pre-auth child holds a transport and the userauth state: a few MiB in practice.
inline constexpr uint64_t kNetChildDataLimit = 128ull * 1024 * 1024;
// The session process holds every channel's buffers; the transport bounds what it queues and
// the channels stop reading at a backlog of a few MiB, so 1 GiB is far above any honest load.
inline constexpr uint64_t kSessionDataLimit = 1024ull * 1024 * 1024;

// Lowers this process's RLIMIT_DATA soft limit to `bytes` (never raises it), and the hard
// limit too when `hard`. Remembers the soft limit it replaced for
// restore_data_limit_before_exec().
Result<void> cap_data_limit(uint64_t bytes, bool hard);

// In a forked child, before exec'ing a user's program: the soft limit from before
// cap_data_limit(), so the user's shell and commands are not bound by the session process's
// cap. Async-signal-safe (one system call).
void restore_data_limit_before_exec();

}  // namespace postern
