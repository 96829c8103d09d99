// internal-sftp in a child of the session process (docs/architecture.md; sshd_config(5) Subsystem,
// ForceCommand internal-sftp).
//
// Why a child: the session process holds the monitor channel, through which the monitor signs
// re-key exchange hashes with the host key, and the transport's keys. The SFTP server parses
// everything a user sends, and is often the only thing a chrooted sftp-only account can reach;
// were it to have a memory bug, code run through it must find neither. So the session process
// forks, and before it runs any SFTP code the child closes every descriptor but its own three
// (the monitor channel, the client socket and other channels' descriptors go), has the transport
// wipe its keys (PacketSink::forget_secrets), and takes default signal dispositions. The session
// process then relays the channel like any child's stdin and stdout.
//
// Why fork and not exec: internal-sftp works in a ChrootDirectory that holds no binaries at all,
// so there is nothing to exec there, and OpenSSH's sshd forks for it the same way. The child
// inherits the session process's non-dumpable flag (session/user_main.cpp), so although it runs
// as the same user it can neither ptrace its parent nor take its descriptors (pidfd_getfd needs
// the same access).
//
// Logging: the child cannot reach the monitor, so its lines go to the session process over a
// datagram socket, one line per datagram with its level and -f facility; the session process
// writes them to the monitor unchanged (relay_sftp_log), so they read as before.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string_view>

#include "common/result.h"
#include "common/unique_fd.h"
#include "session/session.h"

namespace postern::session {

struct SftpChild {
  pid_t pid = -1;
  UniqueFd pidfd;      // readable when the child exits
  UniqueFd stdin_fd;   // channel data to the server, non-blocking
  UniqueFd stdout_fd;  // its replies, non-blocking
  UniqueFd log_fd;     // its log lines (relay_sftp_log), non-blocking
};

// Checks `command` ("internal-sftp [flags]"; an error names the bad flag) and starts the child.
// `forget_secrets` runs in the child, after fork and before any SFTP code.
Result<SftpChild> start_sftp_child(std::string_view command, const Account& user,
                                   const ConnectionEnds& peer,
                                   const std::function<void()>& forget_secrets);

// Writes the log lines waiting on `log_fd` to this process's log. Returns false once the child
// has closed its end (or the socket failed): the caller closes it then.
bool relay_sftp_log(int log_fd);
// Relays until the child has closed its end, waiting at most `wait_ms` for more.
void drain_sftp_log(int log_fd, int wait_ms);

}  // namespace postern::session
