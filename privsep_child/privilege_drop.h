// How each child of the monitor gives up what it does not need before it reads a byte from the
// client (docs/architecture.md): the net child enters the privsep jail, the session process becomes
// the user. Both end the process (fatal) when a step fails: a child that kept its privileges must
// not go on.
#pragma once

#include <sys/types.h>

#include <vector>

#include "common/account.h"
#include "common/config/server_config.h"

namespace postern::privsep_child {

// sshd-net: warms OpenSSL up while files can still be opened, chroots to the empty privsep
// directory as the privsep user without capabilities (net/sandbox.h), caps RLIMIT_DATA and loads
// the seccomp allow-list, which traps instead of killing at LogLevel DEBUG3.
// `max_file_size`: RLIMIT_FSIZE (0 for sshd-net; sshd-bastion's recordings' cap).
// `accept_streams`: accept4 too (sshd-bastion on an extender's connection, on the listening
// socket the monitor passed).
void enter_net_jail(uint64_t max_file_size = 0, bool accept_streams = false);

// sshd-user: becomes the user, as a login does: `groups` (the monitor's lookup, group_list.h),
// ChrootDirectory, gid, uid, no capabilities, no way back, not dumpable.
void become_user(const Account& u, const std::vector<gid_t>& groups,
                 const config::ServerConfig& cfg);

}  // namespace postern::privsep_child
