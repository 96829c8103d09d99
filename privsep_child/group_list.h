// The user's supplementary groups, looked up by the monitor and handed to sshd-user in its
// UserSetup, so the session process sets them with setgroups(2) instead of initgroups(3): the
// monitor already has the NSS modules loaded, where initgroups made each sshd-user load and
// relocate them (~0.6 ms and ~50 KiB per session, docs/performance.md).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"

namespace postern::privsep_child {

// The groups initgroups(3) would set: getgrouplist(3) of the user and its primary group.
std::vector<gid_t> account_groups(const std::string& user, gid_t primary);

// On the wire: u32 each, big-endian (the ipc layout of UserSetup).
Bytes encode_groups(const std::vector<gid_t>& groups);
// Strictly: a whole number of u32s, at least the primary group, at most NGROUPS_MAX (65536).
Result<std::vector<gid_t>> decode_groups(ByteView wire);

}  // namespace postern::privsep_child
