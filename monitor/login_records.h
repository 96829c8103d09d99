// utmp, wtmp and lastlog records of the logins on a pty (sshd(8) LOGIN PROCESS steps 1 and 2),
// written by the monitor: the files belong to root and group utmp, out of the user's reach.
// The records match what Debian's sshd writes:
//   login:  utmp and wtmp USER_PROCESS with the line ("pts/3"), id (its last 4 characters),
//           user, host, address, the monitor's pid and the time; lastlog for the user's uid.
//   logout: utmp DEAD_PROCESS over the same entry (user and host cleared), wtmp DEAD_PROCESS
//           with the line and pid only.
// Only the ptys this monitor allocated may be logged in, each once, and only logged-in ptys
// logged out; what is still logged in when the connection ends is logged out then.
#pragma once

#include <sys/types.h>

#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace postern::monitor {

struct LoginRecordPaths {
  std::string utmp = "/var/run/utmp";
  std::string wtmp = "/var/log/wtmp";
  std::string lastlog = "/var/log/lastlog";
};

struct LastLogin {
  time_t time = 0;
  std::string line;  // "pts/3"
  std::string host;
};

// The user's lastlog entry, nullopt when the file or the entry is missing or never used.
std::optional<LastLogin> read_lastlog(const std::string& path, uid_t uid);
// Records a login in lastlog; a missing file is left missing (sshd does not create it).
Result<void> write_lastlog(const std::string& path, uid_t uid, const LastLogin& entry);

// "Last login: Sat Nov 21 21:04:42 2026 from 127.0.0.1\r\n" (PrintLastLog), local time; without
// " from ..." when no host was recorded.
std::string last_login_message(const LastLogin& last);

class LoginRecords {
 public:
  LoginRecords() = default;
  explicit LoginRecords(LoginRecordPaths paths) : m_paths(std::move(paths)) {}
  ~LoginRecords();
  LoginRecords(const LoginRecords&) = delete;
  LoginRecords& operator=(const LoginRecords&) = delete;

  // A pty this connection's monitor opened ("/dev/pts/3").
  void pty_allocated(const std::string& tty_name);
  // Records the login on `tty_name` and returns the user's previous lastlog entry (read before
  // it is overwritten). Fails for a pty that was not allocated here or is already logged in.
  Result<std::optional<LastLogin>> login(const std::string& tty_name, const std::string& user,
                                         uid_t uid, const std::string& host, pid_t pid);
  // Records the logout; fails unless `tty_name` is logged in.
  Result<void> logout(const std::string& tty_name);
  // Logs out every pty still logged in.
  void logout_all();

 private:
  struct Pty {
    std::string tty_name;
    enum class State { kAllocated, kLoggedIn, kLoggedOut } state = State::kAllocated;
    pid_t pid = 0;
    std::string host;
  };
  LoginRecordPaths m_paths;
  std::vector<Pty> m_ptys;
};

}  // namespace postern::monitor
