#include "session/session_channel.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "common/log.h"
#include "session/child_process.h"
#include "session/connection_messages.h"
#include "session/login_env.h"
#include "session/sftp_channel.h"
#include "session/sftp_child.h"
#include "session/signal_names.h"
#include "session/terminal_modes.h"
#include "session/user_rc.h"
#include "session/x11_forward.h"

namespace postern::session {
namespace {

// Environment variables a client may set per session (OpenSSH has a similar limit); the bound
// on each one's size is in EnvRequest.
constexpr size_t kMaxEnvVars = 1000;
// Packets of child output forwarded per poll wakeup before other fds get their turn.
constexpr int kReadsPerWakeup = 16;

constexpr const char* kMotdPath = "/etc/motd";

void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

}  // namespace

void ChildReaper::adopt(pid_t pid, UniqueFd pidfd) {
  m_children.emplace_back(pid, std::move(pidfd));
}

void ChildReaper::add_pollfds(std::vector<pollfd>& fds) const {
  for (const auto& [pid, fd] : m_children) fds.push_back(pollfd{fd.get(), POLLIN, 0});
}

void ChildReaper::reap() {
  for (size_t i = 0; i < m_children.size();) {
    if (::waitpid(m_children[i].first, nullptr, WNOHANG) != 0) {
      m_children.erase(m_children.begin() + long(i));
    } else {
      ++i;
    }
  }
}

SessionChannel::SessionChannel(PacketSink& out, Bytes& scratch, uint32_t local_id,
                               uint32_t remote_id, uint32_t remote_window,
                               uint32_t remote_max_packet, const SessionContext& ctx)
    : Channel(out, scratch, local_id, remote_id, remote_window, remote_max_packet), m_ctx(ctx) {}

SessionChannel::~SessionChannel() {
  release_fds();
  if (m_pidfd && !m_exited && m_ctx.reaper) m_ctx.reaper->adopt(m_pid, std::move(m_pidfd));
}

void SessionChannel::handle_request(std::string_view type, bool want_reply, ByteView args) {
  bool ok = false;
  if (type == PtyRequest::kRequest) {
    ok = request_pty(decode<PtyRequest>(args));
  } else if (type == EnvRequest::kRequest) {
    ok = request_env(decode<EnvRequest>(args));
  } else if (type == ShellRequest::kRequest) {
    decode<ShellRequest>(args);
    ok = start(std::nullopt, "");
  } else if (type == ExecRequest::kRequest) {
    ok = start(std::move(decode<ExecRequest>(args).command.value), "");
  } else if (type == SubsystemRequest::kRequest) {
    ok = request_subsystem(decode<SubsystemRequest>(args));
  } else if (type == WindowChangeRequest::kRequest) {
    ok = request_window_change(decode<WindowChangeRequest>(args));
  } else if (type == SignalRequest::kRequest) {
    ok = request_signal(decode<SignalRequest>(args));
  } else if (type == BreakRequest::kRequest) {
    // RFC 4335 §3: a BREAK on the terminal; meaningless without one.
    decode<BreakRequest>(args);
    ok = m_pty && m_pty->master && ::tcsendbreak(m_pty->master.get(), 0) == 0;
  } else if (type == X11Request::kRequest) {
    ok = request_x11(decode<X11Request>(args));
  } else if (type == AgentRequest::kRequest) {
    decode<AgentRequest>(args);
    ok = m_ctx.request_agent && m_ctx.request_agent();
  } else {
    // Anything unknown (RFC 4254 §5.4).
    log_debug("session channel %u: request %.*s refused", local_id(), int(type.size()),
              type.data());
  }
  reply(want_reply, ok);
}

bool SessionChannel::request_pty(PtyRequest req) {
  if (!m_ctx.options->permit_tty) {
    // PermitTTY no, or the key's no-pty / restrict (sshd logs the same at debug level).
    log_debug("Allocating a pty not permitted for this connection.");
    return false;
  }
  if (m_pty || m_started) return false;
  auto pty = m_ctx.privileged->allocate_pty();
  if (!pty) {
    log_error("session %u: pty allocation failed: %s", local_id(), pty.error().message.c_str());
    return false;
  }
  struct termios tio;
  if (::tcgetattr(pty->slave.get(), &tio) == 0) {
    apply_terminal_modes(req.modes, tio);
    ::tcsetattr(pty->slave.get(), TCSANOW, &tio);
  }
  struct winsize ws = {uint16_t(req.rows), uint16_t(req.cols), uint16_t(req.width),
                       uint16_t(req.height)};
  ::ioctl(pty->master.get(), TIOCSWINSZ, &ws);
  set_nonblocking(pty->master.get());
  m_pty = std::move(*pty);
  m_term = std::move(req.term.value);
  return true;
}

bool SessionChannel::request_window_change(const WindowChangeRequest& req) {
  if (!m_pty || !m_pty->master) return false;
  struct winsize ws = {uint16_t(req.rows), uint16_t(req.cols), uint16_t(req.width),
                       uint16_t(req.height)};
  return ::ioctl(m_pty->master.get(), TIOCSWINSZ, &ws) == 0;
}

bool SessionChannel::request_env(EnvRequest req) {
  std::string& name = req.name.value;
  std::string& value = req.value.value;
  if (m_started || m_client_env.size() >= kMaxEnvVars) return false;
  if (!env_name_acceptable(name, m_ctx.options->accept_env)) {
    log_debug("Ignored env %s", name.c_str());
    return false;
  }
  log_debug("Setting env %zu: %s=%s", m_client_env.size(), name.c_str(), value.c_str());
  m_client_env.emplace_back(std::move(name), std::move(value));
  return true;
}

bool SessionChannel::request_signal(const SignalRequest& req) {
  const std::string& name = req.name.value;
  int signo = signal_from_name(name);
  // ForceCommand internal-sftp refusing a shell has no child (m_pid -1): kill(-1) would signal
  // every process of the user.
  if (signo == 0 || !m_started || m_exited || m_pid <= 0) return false;
  log_debug("session %u: signal %s to pid %d", local_id(), name.c_str(), int(m_pid));
  return ::kill(m_pid, signo) == 0;
}

bool SessionChannel::request_subsystem(const SubsystemRequest& req) {
  const std::string& name = req.name.value;
  for (const auto& [sub, command] : m_ctx.options->subsystems) {
    if (sub == name) {
      log_debug("subsystem request for %s by user %s", name.c_str(), m_ctx.user->name.c_str());
      return start(command, name);
    }
  }
  log_info("subsystem request for %s by user %s failed, subsystem not found", name.c_str(),
           m_ctx.user->name.c_str());
  return false;
}

bool SessionChannel::start(std::optional<std::string> command, const std::string& subsystem) {
  if (m_started) return false;
  const SessionOptions& options = *m_ctx.options;
  const Account& user = *m_ctx.user;
  const ConnectionEnds& peer = *m_ctx.peer;

  std::string session_type;
  std::optional<std::string> original_command;
  if (!options.force_command.empty()) {
    original_command = command;
    command = options.force_command;
    session_type = std::string("forced-command (") +
                   (options.force_command_from_key ? "key-option" : "config") + ") '" +
                   options.force_command + "'";
  } else if (!subsystem.empty()) {
    session_type = "subsystem '" + subsystem + "'";
  } else {
    session_type = command ? "command" : "shell";
  }

  SessionEnvInputs in;
  in.user = &user;
  in.peer = &peer;
  in.client_env = &m_client_env;
  in.server_env = &options.set_env;
  // PermitUserEnvironment: the key's environment= first, then ~/.ssh/environment (sshd(8)
  // LOGIN PROCESS step 6), each name filtered by the policy.
  std::vector<std::pair<std::string, std::string>> user_env;
  for (const auto& e : options.key_environment) {
    size_t eq = e.find('=');
    if (eq != std::string::npos && eq > 0 &&
        user_environment_allowed(std::string_view(e).substr(0, eq),
                                 options.permit_user_environment))
      user_env.emplace_back(e.substr(0, eq), e.substr(eq + 1));
  }
  read_user_environment(user.home + "/.ssh/environment", options.permit_user_environment, user_env);
  in.user_env = &user_env;
  if (m_pty) {
    in.tty_name = m_pty->tty_name;
    in.term = m_term;
  }
  // Only a forced command exports what the client asked for; a shell has no command to show.
  if (!options.force_command.empty() && original_command) in.original_command = original_command;
  std::vector<std::string> env = build_session_env(in).entries();
  if (m_ctx.agent_socket) {
    std::string agent = m_ctx.agent_socket();
    if (!agent.empty()) env.push_back("SSH_AUTH_SOCK=" + agent);
  }

  // sshd(8) SSHRC: ~/.ssh/rc for the user's own commands and shells (not for subsystems nor a
  // ForceCommand of the configuration, and only under PermitUserRC), else the system sshrc;
  // with neither, xauth gets the X11 cookie from us.
  bool user_rc_allowed = options.permit_user_rc && subsystem.empty() &&
                         (options.force_command.empty() || options.force_command_from_key);
  std::string rc = choose_rc_file(user.home, user_rc_allowed);
  std::string rc_stdin;
  if (m_x11_display >= 0) {
    setup_x11(env, rc.empty());
    rc_stdin = rc_input(m_x11_proto, m_x11_cookie);
  }

  // internal-sftp is a Subsystem or ForceCommand value; a client's own "exec internal-sftp"
  // is just a command for the shell, as in sshd.
  if (command && is_internal_sftp(*command) &&
      (!subsystem.empty() || !options.force_command.empty())) {
    // sshd runs the system rc before its in-process SFTP server too; here its output has no
    // terminal or pipe to go to and would corrupt the protocol, so it is discarded.
    if (!rc.empty()) run_rc_discarding_output(rc, rc_stdin, env);
    return start_internal_sftp(*command, !subsystem.empty(), session_type);
  }

  ChildSpec spec;
  spec.path = user.shell.empty() ? "/bin/sh" : user.shell;
  spec.argv = shell_argv(spec.path, command);
  spec.env = std::move(env);
  spec.cwd = user.home;
  // Inside a chroot without the home directory sshd starts the session in "/" without a word.
  if (struct stat home;
      options.chrooted && (::stat(user.home.c_str(), &home) != 0 || !S_ISDIR(home.st_mode)))
    spec.cwd = "/";
  if (!rc.empty()) {
    spec.before_exec = [rc, rc_stdin](char* const* envp) { run_rc_file(rc, rc_stdin, envp); };
  }
  if (m_pty) {
    spec.pty_slave = m_pty->slave.get();
    login_on_pty(!command, spec);
  }

  auto child = spawn_child(spec);
  if (!child) {
    log_error("session %u: cannot start %s: %s", local_id(), session_type.c_str(),
              child.error().message.c_str());
    return false;
  }
  m_started = true;
  m_pid = child->pid;
  m_pidfd = std::move(child->pidfd);
  if (m_pty) {
    // Our copy of the slave must go, or reading the master never reports the child's end.
    m_pty->slave.reset();
  } else {
    m_stdin = std::move(child->stdin_fd);
    m_stdout = std::move(child->stdout_fd);
    m_stderr = std::move(child->stderr_fd);
  }
  std::string tty;
  if (m_pty) {
    tty = m_pty->tty_name;
    if (tty.rfind("/dev/", 0) == 0) tty = tty.substr(5);
  }
  log_verbose("Starting session: %s%s%s for %s from %s port %d id %u", session_type.c_str(),
              tty.empty() ? "" : " on ", tty.c_str(), user.name.c_str(),
              peer.remote.address.c_str(), peer.remote.port, local_id());
  // Anything the client sent before the child existed waits in the queue.
  if (!m_input.empty()) flush_input();
  if (eof_received() && m_input.empty() && !m_pty) m_stdin.reset();
  return true;
}

void SessionChannel::login_on_pty(bool interactive, ChildSpec& spec) {
  const SessionOptions& options = *m_ctx.options;
  const Account& user = *m_ctx.user;
  // utmp, wtmp and lastlog are the monitor's to write; it answers with the previous login.
  std::string last_login;
  if (auto r = m_ctx.privileged->record_login(m_pty->tty_name)) {
    m_logged_in = true;
    last_login = std::move(*r);
  } else {
    log_error("session %u: login records: %s", local_id(), r.error().message.c_str());
  }
  // The last login and the message of the day belong to interactive logins (sshd(8) LOGIN
  // PROCESS step 1; sshd_config(5) PrintLastLog, PrintMotd); ~/.hushlogin silences both, as
  // login(1) does.
  struct stat st;
  if (!interactive || ::stat((user.home + "/.hushlogin").c_str(), &st) == 0) return;
  if (options.print_last_log && !last_login.empty()) {
    // A line on a fresh terminal: the pty takes it at once, before the child runs.
    if (::write(m_pty->slave.get(), last_login.data(), last_login.size()) < 0)
      log_debug("session %u: last login: %s", local_id(), strerror(errno));
  }
  if (options.print_motd) spec.motd_path = kMotdPath;
}

void SessionChannel::run_rc_discarding_output(const std::string& rc, const std::string& input,
                                              const std::vector<std::string>& env) {
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  UniqueFd devnull(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  int fd = devnull ? devnull.get() : -1;
  int status = run_rc_file(rc, input, envp.data(), fd, fd);
  if (status != 0)
    log_debug("session %u: %s exited with status %d", local_id(), rc.c_str(), status);
}

int SessionChannel::input_fd() const {
  if (m_pty) return m_pty->master.get();
  return m_stdin.get();
}

void SessionChannel::on_data(ByteView data) {
  if (m_sftp) {
    m_sftp->received(data);
    sftp_step();
    return;
  }
  if (m_input_dead) {
    consumed(data.size());
    return;
  }
  int fd = input_fd();
  if (fd >= 0 && m_input.empty()) {
    // The common case: straight from the decrypted packet to the child.
    ssize_t w = ::write(fd, data.data(), data.size());
    if (w > 0) {
      consumed(size_t(w));
      data = data.subspan(size_t(w));
    } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
      consumed(data.size());
      input_failed();
      return;
    }
  }
  // The rest waits for the child; the window we advertised bounds how much that can be.
  m_input.push(data);
}

void SessionChannel::flush_input() {
  int fd = input_fd();
  while (fd >= 0 && !m_input.empty()) {
    ByteView front = m_input.front();
    ssize_t w = ::write(fd, front.data(), front.size());
    if (w > 0) {
      m_input.pop(size_t(w));
      consumed(size_t(w));
    } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
      return;
    } else {
      input_failed();
      return;
    }
  }
  if (m_input.empty() && eof_received() && !m_pty) m_stdin.reset();
}

void SessionChannel::input_failed() {
  // The child stopped reading (EPIPE): what the client still sends is dropped, as a closed
  // pipe would.
  m_input_dead = true;
  consumed(m_input.size());
  m_input.clear();
  if (!m_pty) m_stdin.reset();
}

void SessionChannel::on_eof() {
  if (m_sftp) {
    m_sftp->received_eof();
    sftp_step();
    return;
  }
  // RFC 4254 §5.3: no more data from the client; the child sees end of file once it has read
  // everything. A pty cannot be half-closed, so a pty session ignores it.
  if (m_pty) return;
  if (m_input.empty() && m_started) m_stdin.reset();
}

void SessionChannel::on_close() {
  // The client is done with the channel: whatever the child still says has nowhere to go.
  // Closing the pty master hangs up the terminal; a child on pipes sees EOF and EPIPE.
  release_fds();
  if (m_started && !m_exited)
    log_verbose("Close session: user %s from %s port %d id %u", m_ctx.user->name.c_str(),
                m_ctx.peer->remote.address.c_str(), m_ctx.peer->remote.port, local_id());
}

void SessionChannel::release_fds() {
  if (m_logged_in) {
    // Before the master closes: once it does, the kernel may hand the number out again.
    m_logged_in = false;
    try {
      m_ctx.privileged->record_logout(m_pty->tty_name);
    } catch (const std::exception& e) {
      log_debug("session %u: logout record: %s", local_id(), e.what());
    }
  }
  m_stdin.reset();
  m_stdout.reset();
  m_stderr.reset();
  if (m_pty) {
    m_pty->master.reset();
    m_pty->slave.reset();
  }
  m_input.clear();
  m_sftp.reset();
  if (m_sftp_log) {
    // The channel went away under a running internal-sftp: with its pipes closed the child
    // ends at once ("session closed"), and those last lines belong in the log, as they did when
    // the server ran in this process. They are waited for a bounded time.
    drain_sftp_log(m_sftp_log.get(), 2000);
    m_sftp_log.reset();
  }
}

void SessionChannel::add_pollfds(PollSet& set) {
  if (m_pidfd && !m_exited) set.add(m_pidfd.get(), POLLIN, this, kTagChild);
  if (m_sftp_log) set.add(m_sftp_log.get(), POLLIN, this, kTagSftpLog);
  if (close_sent()) return;
  if (m_sftp) {
    sftp_step();
    return;
  }
  bool can_send = send_room() > 0 && !output_congested();
  if (m_pty) {
    if (!m_pty->master) return;
    if (m_started && !m_pty_output_done && can_send)
      set.add(m_pty->master.get(), POLLIN, this, kTagPtyRead);
    if (!m_input.empty()) set.add(m_pty->master.get(), POLLOUT, this, kTagPtyWrite);
    return;
  }
  if (m_stdout && can_send) set.add(m_stdout.get(), POLLIN, this, kTagStdout);
  if (m_stderr && can_send) set.add(m_stderr.get(), POLLIN, this, kTagStderr);
  if (m_stdin && !m_input.empty()) set.add(m_stdin.get(), POLLOUT, this, kTagStdin);
}

void SessionChannel::on_poll(int tag, short revents) {
  if (revents == 0) return;
  switch (tag) {
    case kTagStdin:
    case kTagPtyWrite:
      flush_input();
      break;
    case kTagStdout:
      if (m_stdout) read_output(m_stdout.get(), 0, true, m_stdout);
      break;
    case kTagStderr:
      if (m_stderr) read_output(m_stderr.get(), kExtendedDataStderr, true, m_stderr);
      break;
    case kTagPtyRead:
      if (m_pty && m_pty->master) {
        UniqueFd none;
        read_output(m_pty->master.get(), 0, false, none);
      }
      break;
    case kTagChild:
      child_exited();
      break;
    case kTagSftpLog:
      if (m_sftp_log && !relay_sftp_log(m_sftp_log.get())) m_sftp_log.reset();
      break;
  }
  maybe_finish();
}

void SessionChannel::read_output(int fd, uint32_t ext_code, bool is_pipe, UniqueFd& owner) {
  for (int i = 0; i < kReadsPerWakeup; ++i) {
    if (send_room() == 0 || output_congested()) return;
    FdRead r = forward_from_fd(fd, ext_code, is_pipe);
    if (r == FdRead::kAgain) return;
    if (r == FdRead::kEof) {
      if (owner) {
        owner.reset();
      } else {
        m_pty_output_done = true;
      }
      return;
    }
  }
}

void SessionChannel::child_exited() {
  int status = 0;
  pid_t r = ::waitpid(m_pid, &status, WNOHANG);
  if (r == 0) return;
  m_exited = true;
  m_wait_status = r == m_pid ? status : 0;
  m_pidfd.reset();
  // internal-sftp: every line it logged is queued by now; none may follow the session's end.
  if (m_sftp_log) {
    drain_sftp_log(m_sftp_log.get(), 0);
    m_sftp_log.reset();
  }
  if (m_pty && m_pty->master) {
    // Drain what the shell wrote; the master reports EIO once no slave is left open, and
    // that ends the output (a background job of the shell got SIGHUP with it).
    UniqueFd none;
    read_output(m_pty->master.get(), 0, false, none);
  }
}

void SessionChannel::maybe_finish() {
  if (close_sent() || !m_started || !m_exited) return;
  if (m_stdout || m_stderr) return;
  if (m_pty && m_pty->master && !m_pty_output_done) return;

  // RFC 4254 §6.10: the exit status first, then EOF and CLOSE.
  if (WIFSIGNALED(m_wait_status)) {
    send_request(ExitSignalRequest{signal_name(WTERMSIG(m_wait_status)),
                                   bool(WCOREDUMP(m_wait_status)), "", ""});
  } else {
    send_request(ExitStatusRequest{uint32_t(WEXITSTATUS(m_wait_status))});
  }
  send_eof();
  send_close();
  release_fds();
  log_verbose("Close session: user %s from %s port %d id %u", m_ctx.user->name.c_str(),
              m_ctx.peer->remote.address.c_str(), m_ctx.peer->remote.port, local_id());
}

bool SessionChannel::request_x11(X11Request req) {
  std::string& proto = req.protocol.value;
  std::string& cookie = req.cookie.value;
  if (m_started || m_x11_display >= 0 || !m_ctx.request_x11) return false;
  // The cookie goes on xauth's command line: hex digits only.
  if (cookie.empty() || cookie.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos ||
      proto.empty() || proto.find_first_of(" \n\t\\") != std::string::npos) {
    log_info("x11-req: bad authentication data");
    return false;
  }
  int display = m_ctx.request_x11();
  if (display < 0) return false;
  m_x11_display = display;
  m_x11_proto = std::move(proto);
  m_x11_cookie = std::move(cookie);
  m_x11_screen = req.screen;
  return true;
}

void SessionChannel::setup_x11(std::vector<std::string>& env, bool run_xauth_here) {
  const SessionOptions& options = *m_ctx.options;
  std::string number = std::to_string(m_x11_display) + "." + std::to_string(m_x11_screen);
  char host[256] = "localhost";
  if (!options.x11_use_localhost) ::gethostname(host, sizeof host - 1);
  std::string display = std::string(options.x11_use_localhost ? "localhost" : host) + ":" + number;
  env.push_back("DISPLAY=" + display);
  // An rc file adds the cookie itself from its standard input (sshd(8) SSHRC).
  if (!run_xauth_here) return;
  // Xlib looks a "localhost:N" display's cookie up under "unix:N".
  std::string auth_display = options.x11_use_localhost ? "unix:" + number : display;
  auto r =
      run_xauth(options.xauth_location, auth_display, m_x11_proto, m_x11_cookie, m_ctx.user->home);
  if (!r) log_info("session %u: %s", local_id(), r.error().message.c_str());
}

}  // namespace postern::session
