// internal-sftp (sshd_config(5) Subsystem and ForceCommand): the SFTP server of sftp-server/ run
// on a session channel's data with no exec, so it works in a ChrootDirectory that holds no
// binaries at all. It runs in a forked child of the session process that holds neither the
// monitor channel nor the transport's keys (sftp_child.h), which relays the channel over pipes.
//
// Its host lends it three things (Io): how much it may send now, a way to send, and a way to give
// window back. Requests run as the data arrives; replies leave as there is room; while the server
// holds back (reply backlog, or a whole request waiting), no more input is taken instead of
// buffering more (server.h).
//
// The flags are sftp-server(8)'s. As OpenSSH's internal-sftp does, the server logs at its own
// level: ERROR unless -l says otherwise. The log still reaches the monitor (through the session
// process, sftp_child.h), so logging works inside a chroot; each line carries -f's facility,
// which the monitor uses for it instead of SyslogFacility. -u is the umask of the SFTP server's
// file creations only.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/log.h"
#include "common/result.h"
#include "session/session.h"

namespace postern::sftp {
class Server;
}

namespace postern::session {

// True for "internal-sftp" alone or followed by flags.
bool is_internal_sftp(std::string_view command);

// The words of a command line, split at blanks, with '...' and "..." quoting and backslash
// escapes as sshd splits a Subsystem command.
std::vector<std::string> split_command_words(std::string_view command);

class SftpChannel {
 public:
  struct Io {
    std::function<size_t()> send_room;     // bytes that may be sent now
    std::function<void(ByteView)> send;    // CHANNEL_DATA, at most send_room() bytes
    std::function<void(size_t)> consumed;  // window given back for delivered bytes
  };

  // Parses `command` ("internal-sftp [flags]") and starts the server (which logs "session
  // opened"). An error names what was wrong with the flags.
  static Result<std::unique_ptr<SftpChannel>> start(std::string_view command, const Account& user,
                                                    const ConnectionEnds& peer, Io io);
  // ForceCommand internal-sftp answering a shell or exec request: no server, just sshd's
  // "This service allows sftp connections only." on the channel and exit status 1.
  static std::unique_ptr<SftpChannel> refuse_non_sftp(Io io);
  ~SftpChannel();
  SftpChannel(const SftpChannel&) = delete;
  SftpChannel& operator=(const SftpChannel&) = delete;

  // Channel data from the client: runs the requests it completes and sends their replies.
  void received(ByteView data);
  // The client sent EOF: the requests already received still run, then the server ends.
  void received_eof();
  // Sends what the window allows, runs requests that were held back, gives window back when
  // the server wants input again. Call whenever the channel may have room.
  void pump();

  // Set once the server is finished: 0 after the client's EOF with everything sent, 255 after
  // a framing violation (OpenSSH's sftp-server exits 255 then), 1 after a refusal.
  std::optional<int> exit_status() const { return m_exit_status; }

 private:
  SftpChannel(Io io, LogLevel level, std::optional<mode_t> umask);
  void run_server();
  void fail(const char* why);

  // While the server runs: its log level and umask, then the session's again.
  class Scope;

  Io m_io;
  LogLevel m_log_level;
  int m_log_facility = 0;  // -f, 0: sshd's SyslogFacility
  std::optional<mode_t> m_umask;
  std::unique_ptr<sftp::Server> m_server;
  size_t m_held_window = 0;  // delivered to the server, window not yet given back
  bool m_eof = false;
  std::string m_refusal;  // refuse_non_sftp(): what is still to be sent
  std::optional<int> m_exit_status;
};

}  // namespace postern::session
