// ChrootDirectory (sshd_config(5)): the session process, still root, expands the tokens, checks
// the path as sshd does and chroots before it drops privileges; afterwards, as the user, it
// enters the home directory inside the new root if there is one.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/result.h"

namespace postern::privsep_child {

// "none" or empty: no chroot.
bool chroot_configured(std::string_view configured);

// The ChrootDirectory tokens: %% %h (home) %u (user name) %U (numeric uid); a leading "~" is
// the home directory. An unknown token is an error.
Result<std::string> expand_chroot_path(std::string_view configured, std::string_view user,
                                       std::string_view home, uid_t uid);

// sshd's checks: an absolute path, and every component from "/" down to the directory itself
// owned by root, not writable by group or others, and a directory. The error is sshd's message,
// e.g. `bad ownership or modes for chroot directory component "/srv/"`.
Result<void> check_chroot_path(const std::string& path);

// Expands, checks, chroots and changes to the new "/"; any failure ends the process with sshd's
// message (fatal), which refuses the connection. Logs "Changed root directory to ..." (VERBOSE).
void enter_chroot(std::string_view configured, std::string_view user, std::string_view home,
                  uid_t uid);

// After the privilege drop: the home directory, or "/" when it cannot be entered. Inside a
// chroot a missing home is normal and not reported, as sshd does.
void enter_home_directory(const std::string& home, bool chrooted);

}  // namespace postern::privsep_child
