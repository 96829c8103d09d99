// sshd -B, an extender's connection (man/postern-bastion.5 EXTENDERS): its monitor publishes one
// Unix socket per connected extender in the policy's extender_sockets directory (0700, root),
// the socket 0600, and passes the listening descriptor to the jailed sshd-bastion, which accepts
// there. Monitors of users' connections connect to it (extender_connect.h).
//
// A second connection of the same extender replaces the first: its socket is renamed over the
// older one (so new target connections use the newer extender at once, never a gap), then the
// older connection's sshd-bastion, recorded in the owner file with its start time (so a reused
// pid is never signalled), gets SIGTERM and closes its client with a message.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>

#include "common/result.h"
#include "common/unique_fd.h"

namespace postern::monitor {

struct PublishedExtender {
  std::string socket_path;
  std::string owner_path;
  dev_t dev = 0;
  ino_t ino = 0;
  // The connection this one replaced: its session id, "" when there was none.
  std::string replaced_session;
};

// Creates `dir` when missing (0700; its parent 0755), refuses one that is not a directory only
// root may enter, binds DIR/NAME.sock and listens, replaces and closes an older connection of
// the same extender, and records `relay_pid` (this connection's sshd-bastion) and `session`.
Result<std::pair<UniqueFd, PublishedExtender>> publish_extender_socket(const std::string& dir,
                                                                       const std::string& name,
                                                                       pid_t relay_pid,
                                                                       const std::string& session);

// At the connection's end: removes the socket and the owner file if they are still this
// connection's (a newer connection's are left alone).
void withdraw_extender_socket(const PublishedExtender& published);

// The start time of `pid` in clock ticks since boot (/proc/PID/stat, field 22); 0 when gone.
unsigned long long process_start_time(pid_t pid);

}  // namespace postern::monitor
