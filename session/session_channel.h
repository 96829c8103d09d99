// The "session" channel (RFC 4254 §6): pty-req, env, shell, exec, subsystem, window-change,
// signal, and the child's exit reported as exit-status or exit-signal, followed by EOF and CLOSE.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/unique_fd.h"
#include "session/byte_queue.h"
#include "session/channel.h"
#include "session/channel_requests.h"
#include "session/session.h"

namespace postern::session {

class SftpChannel;
struct ChildSpec;

// Reaps children whose channel went away before they exited.
class ChildReaper {
 public:
  void adopt(pid_t pid, UniqueFd pidfd);
  void add_pollfds(std::vector<pollfd>& fds) const;
  // Reaps every adopted child that has exited.
  void reap();
  size_t size() const { return m_children.size(); }

 private:
  std::vector<std::pair<pid_t, UniqueFd>> m_children;
};

// What every session channel of a connection shares.
struct SessionContext {
  const Account* user = nullptr;
  const ConnectionEnds* peer = nullptr;
  const SessionOptions* options = nullptr;
  PrivilegedOps* privileged = nullptr;
  ChildReaper* reaper = nullptr;
  // Agent forwarding (agent_forward.h): starts listening, then the socket for SSH_AUTH_SOCK
  // ("" while agent forwarding is off).
  std::function<bool()> request_agent;
  std::function<std::string()> agent_socket;
  // X11 forwarding (x11_forward.h): listens and returns the display number, -1 when refused.
  std::function<int()> request_x11;
};

class SessionChannel final : public Channel {
 public:
  SessionChannel(PacketSink& out, Bytes& scratch, uint32_t local_id, uint32_t remote_id,
                 uint32_t remote_window, uint32_t remote_max_packet, const SessionContext& ctx);
  ~SessionChannel() override;

  void handle_request(std::string_view type, bool want_reply, ByteView args) override;
  void add_pollfds(PollSet& set) override;
  void on_poll(int tag, short revents) override;

 protected:
  void on_data(ByteView data) override;
  void on_eof() override;
  void on_close() override;

 private:
  enum Tag { kTagStdin, kTagStdout, kTagStderr, kTagPtyRead, kTagPtyWrite, kTagChild, kTagSftpLog };

  bool request_pty(PtyRequest req);
  bool request_window_change(const WindowChangeRequest& req);
  bool request_env(EnvRequest req);
  bool request_signal(const SignalRequest& req);
  bool request_subsystem(const SubsystemRequest& req);
  bool request_x11(X11Request req);
  // DISPLAY for the child and, unless an rc file does it, the cookie in the user's
  // ~/.Xauthority (RFC 4254 §6.3.1).
  void setup_x11(std::vector<std::string>& env, bool run_xauth_here);
  // A session on a pty: login records through the monitor, "Last login:" and the motd.
  void login_on_pty(bool interactive, ChildSpec& spec);
  // The rc file before internal-sftp, which has no child to run it in (user_rc.h).
  void run_rc_discarding_output(const std::string& rc, const std::string& input,
                                const std::vector<std::string>& env);
  // internal-sftp (session_channel_sftp.cpp): starts its child, or for ForceCommand
  // internal-sftp and a shell or exec request the refusal, which sftp_step() sends.
  bool start_internal_sftp(const std::string& command, bool subsystem_request,
                           const std::string& session_type);
  void sftp_step();
  // Starts the child: `command` unset for a shell.
  bool start(std::optional<std::string> command, const std::string& subsystem);

  int input_fd() const;
  void flush_input();
  void input_failed();
  void read_output(int fd, uint32_t ext_code, bool is_pipe, UniqueFd& owner);
  void child_exited();
  // Sends exit-status, EOF and CLOSE once the child has exited and its output is drained.
  void maybe_finish();
  void release_fds();

  SessionContext m_ctx;
  std::vector<std::pair<std::string, std::string>> m_client_env;
  std::optional<PtyAllocation> m_pty;
  bool m_logged_in = false;  // the monitor recorded a login on m_pty (utmp, wtmp, lastlog)
  std::string m_term;
  bool m_started = false;
  pid_t m_pid = -1;
  UniqueFd m_pidfd;
  bool m_exited = false;
  int m_wait_status = 0;
  UniqueFd m_stdin, m_stdout, m_stderr;
  bool m_pty_output_done = false;
  bool m_input_dead = false;
  ByteQueue m_input;
  int m_x11_display = -1;  // x11-req accepted: the display, its cookie and screen
  std::string m_x11_proto, m_x11_cookie;
  uint32_t m_x11_screen = 0;
  std::unique_ptr<SftpChannel> m_sftp;  // ForceCommand internal-sftp's refusal of a shell
  UniqueFd m_sftp_log;                  // internal-sftp's log lines (sftp_child.h)
};

}  // namespace postern::session
