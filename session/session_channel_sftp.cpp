// internal-sftp (sshd_config(5) Subsystem, ForceCommand) for a session channel: the server in
// a child of its own (sftp_child.h), or ForceCommand internal-sftp's refusal of a shell.
#include <sys/wait.h>

#include "common/log.h"
#include "session/session_channel.h"
#include "session/sftp_channel.h"
#include "session/sftp_child.h"

namespace postern::session {

bool SessionChannel::start_internal_sftp(const std::string& command, bool subsystem_request,
                                         const std::string& session_type) {
  const Account& user = *m_ctx.user;
  const ConnectionEnds& peer = *m_ctx.peer;
  if (!subsystem_request) {
    // ForceCommand internal-sftp and a shell or exec request: sshd's refusal, sent from here
    // (no SFTP code runs for it).
    log_error("Connection from %s port %d: refusing non-sftp session", peer.remote.address.c_str(),
              peer.remote.port);
    SftpChannel::Io io{[this] { return output_congested() ? size_t(0) : send_room(); },
                       [this](ByteView d) { send_data(d); }, [this](size_t n) { consumed(n); }};
    m_sftp = SftpChannel::refuse_non_sftp(std::move(io));
    m_started = true;
    m_pty.reset();
    return true;
  }
  // The server runs in a child that has closed the monitor channel and wiped the transport's
  // keys (sftp_child.h); its stdin and stdout are relayed as any child's.
  auto child = start_sftp_child(command, user, peer, [this] { out().forget_secrets(); });
  if (!child) {
    log_error("session %u: %s: %s", local_id(), command.c_str(), child.error().message.c_str());
    return false;
  }
  m_started = true;
  m_pty.reset();  // the server speaks SFTP on the channel, never to a terminal
  m_pid = child->pid;
  m_pidfd = std::move(child->pidfd);
  m_stdin = std::move(child->stdin_fd);
  m_stdout = std::move(child->stdout_fd);
  m_sftp_log = std::move(child->log_fd);
  log_verbose("Starting session: %s for %s from %s port %d id %u", session_type.c_str(),
              user.name.c_str(), peer.remote.address.c_str(), peer.remote.port, local_id());
  // What the client sent before the request was held for the server.
  if (!m_input.empty()) flush_input();
  if (eof_received() && m_input.empty()) m_stdin.reset();
  return true;
}

void SessionChannel::sftp_step() {
  // Also called from add_pollfds(): the peer's window may have opened since, and the loop sends
  // what we queue here before it polls (session.cpp).
  m_sftp->pump();
  if (auto status = m_sftp->exit_status()) {
    m_exited = true;
    m_wait_status = W_EXITCODE(*status, 0);
    maybe_finish();
  }
}

}  // namespace postern::session
