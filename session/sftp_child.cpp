#include "session/sftp_child.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>

#include "common/be_bytes.h"
#include "common/log.h"
#include "session/child_process.h"
#include "session/sftp_channel.h"
#include "sftp-server/options.h"

namespace postern::session {
namespace {

// The child's descriptors: the channel's data in and out, and the log socket (which also takes
// whatever a library writes to stderr; the relay drops what is no log record).
constexpr int kChildIn = 0;
constexpr int kChildOut = 1;
constexpr int kChildLog = 2;

// A bigger pipe means fewer wakeups per megabyte (as for other children, child_process.cpp).
constexpr int kPipeSize = 1024 * 1024;
// Replies the child holds before it stops running requests until the pipe takes them.
constexpr size_t kMaxPendingOutput = 256 * 1024;
constexpr size_t kReadChunk = 64 * 1024;

// A log record: byte level, uint32 facility (big-endian), then the line. The monitor truncates
// lines at 1024 bytes; the relay reads at most this much of a record.
constexpr size_t kLogHeader = 5;
constexpr size_t kMaxLogRecord = kLogHeader + 2048;
// Records relayed per wakeup before other descriptors get their turn.
constexpr int kLogRecordsPerWakeup = 64;

void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

void send_log_record(LogLevel level, std::string_view line) {
  uint8_t rec[kMaxLogRecord];
  size_t n = std::min(line.size(), kMaxLogRecord - kLogHeader);
  uint32_t facility = uint32_t(log_facility_override());
  rec[0] = uint8_t(level);
  store_be32(rec + 1, facility);
  std::memcpy(rec + kLogHeader, line.data(), n);
  // Blocking: a line waits for the session process rather than being lost. MSG_NOSIGNAL: the
  // session process may be gone, and then so is the line.
  while (::send(kChildLog, rec, kLogHeader + n, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

// The child's loop: the server on the pipes until it is done. The window discipline of the
// channel carries over: no more is read from the pipe while the server holds back input, so
// the pipe (and behind it the channel window) pushes back on the client.
int serve(SftpChannel& sftp, size_t& given, size_t& returned, std::string& pending) {
  std::unique_ptr<uint8_t[]> buf(new uint8_t[kReadChunk]);
  bool eof = false;
  size_t written = 0;  // of pending
  for (;;) {
    if (sftp.exit_status() && written == pending.size()) return *sftp.exit_status();
    pollfd fds[2];
    nfds_t n = 0;
    int in_slot = -1, out_slot = -1;
    if (!eof && given == returned && !sftp.exit_status()) {
      in_slot = int(n);
      fds[n++] = {kChildIn, POLLIN, 0};
    }
    if (written < pending.size()) {
      out_slot = int(n);
      fds[n++] = {kChildOut, POLLOUT, 0};
    }
    if (n == 0) {
      // Nothing to read or write, yet not finished: the server holds input it will not run.
      // That cannot happen by design (sftp_channel.cpp gives the window back once the server
      // wants input again); do not spin if it ever does.
      log_error("internal-sftp: server stalled");
      return 255;
    }
    if (::poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      log_error("internal-sftp: poll: %s", strerror(errno));
      return 255;
    }
    if (out_slot >= 0 && fds[out_slot].revents) {
      ssize_t w = ::write(kChildOut, pending.data() + written, pending.size() - written);
      if (w < 0 && errno != EAGAIN && errno != EINTR) return 255;  // the channel is gone
      if (w > 0) written += size_t(w);
      if (written == pending.size()) {
        pending.clear();
        written = 0;
      }
      sftp.pump();
    }
    if (in_slot >= 0 && fds[in_slot].revents) {
      ssize_t r = ::read(kChildIn, buf.get(), kReadChunk);
      if (r > 0) {
        given += size_t(r);
        sftp.received(ByteView(buf.get(), size_t(r)));
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        eof = true;
        sftp.received_eof();
      }
    }
  }
}

// Runs in the forked child; never returns.
[[noreturn]] void run_child(std::string_view command, const Account& user,
                            const ConnectionEnds& peer, const std::function<void()>& forget_secrets,
                            int in_fd, int out_fd, int log_fd) {
  int status = 255;
  try {
    // First the log sink: the inherited one writes to the monitor channel, which goes next.
    log_set_sink(nullptr);
    // Lift the three above 2 before placing them, so one dup2 cannot clobber another.
    in_fd = ::fcntl(in_fd, F_DUPFD, 3);
    out_fd = ::fcntl(out_fd, F_DUPFD, 3);
    log_fd = ::fcntl(log_fd, F_DUPFD, 3);
    if (in_fd < 0 || out_fd < 0 || log_fd < 0 || ::dup2(in_fd, kChildIn) < 0 ||
        ::dup2(out_fd, kChildOut) < 0 || ::dup2(log_fd, kChildLog) < 0)
      _exit(255);
    // Everything else: the monitor channel, the client socket, other channels' descriptors.
    if (::close_range(3, ~0U, 0) != 0) _exit(255);
    log_set_sink(send_log_record);
    forget_secrets();
    for (int sig = 1; sig < NSIG; ++sig)
      if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
    // A client that goes away ends us through EPIPE, as it does sftp-server.
    ::signal(SIGPIPE, SIG_IGN);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::prctl(PR_SET_NAME, "internal-sftp", 0, 0, 0);
    set_nonblocking(kChildIn);
    set_nonblocking(kChildOut);

    size_t given = 0, returned = 0;
    std::string pending;
    SftpChannel::Io io{
        [&] { return pending.size() < kMaxPendingOutput ? kMaxPendingOutput - pending.size() : 0; },
        [&](ByteView d) { pending.append(reinterpret_cast<const char*>(d.data()), d.size()); },
        [&](size_t n) { returned += n; }};
    auto sftp = SftpChannel::start(command, user, peer, std::move(io));
    if (!sftp) {
      log_error("internal-sftp: %s", sftp.error().message.c_str());
    } else {
      status = serve(**sftp, given, returned, pending);
      sftp->reset();  // logs "session closed" if the server had not finished
    }
  } catch (const std::exception& e) {
    log_error("internal-sftp: %s", e.what());
  } catch (...) {
  }
  // Never back into the session process's code, whose state this copy shares.
  _exit(status);
}

}  // namespace

Result<SftpChild> start_sftp_child(std::string_view command, const Account& user,
                                   const ConnectionEnds& peer,
                                   const std::function<void()>& forget_secrets) {
  // The flags are checked here, so that a bad one refuses the request as before.
  std::vector<std::string> words = split_command_words(command);
  if (words.empty() || words[0] != "internal-sftp")
    return Unexpected("not an internal-sftp command line");
  words.erase(words.begin());
  if (auto in = sftp::internal_sftp_options(words, user.name, user.home, peer.remote.address); !in)
    return Unexpected(in.error());

  int in[2], out[2], logs[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return Unexpected(std::string("pipe: ") + strerror(errno));
  UniqueFd in_r(in[0]), in_w(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) return Unexpected(std::string("pipe: ") + strerror(errno));
  UniqueFd out_r(out[0]), out_w(out[1]);
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, logs) != 0)
    return Unexpected(std::string("socketpair: ") + strerror(errno));
  UniqueFd log_r(logs[0]), log_w(logs[1]);
  ::fcntl(in[0], F_SETPIPE_SZ, kPipeSize);
  ::fcntl(out[0], F_SETPIPE_SZ, kPipeSize);

  pid_t pid = ::fork();
  if (pid < 0) return Unexpected(std::string("fork: ") + strerror(errno));
  if (pid == 0)
    run_child(command, user, peer, forget_secrets, in_r.get(), out_w.get(), log_w.get());

  SftpChild child;
  child.pid = pid;
  auto pidfd = pidfd_or_kill(pid);
  if (!pidfd) return Unexpected(pidfd.error());
  child.pidfd = std::move(*pidfd);
  child.stdin_fd = std::move(in_w);
  child.stdout_fd = std::move(out_r);
  child.log_fd = std::move(log_r);
  for (UniqueFd* fd : {&child.stdin_fd, &child.stdout_fd, &child.log_fd})
    set_nonblocking(fd->get());
  return child;
}

bool relay_sftp_log(int log_fd) {
  uint8_t rec[kMaxLogRecord];
  for (int i = 0; i < kLogRecordsPerWakeup; ++i) {
    ssize_t n = ::recv(log_fd, rec, sizeof rec, MSG_DONTWAIT);
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    if (n == 0) return false;
    // The child is untrusted: a record is checked like any message from it.
    uint8_t level = rec[0];
    if (size_t(n) < kLogHeader || level < uint8_t(LogLevel::kFatal) ||
        level > uint8_t(LogLevel::kDebug3)) {
      log_debug("internal-sftp: dropped a malformed log record");
      continue;
    }
    int facility = int(load_be32(rec + 1));
    std::string line(reinterpret_cast<const char*>(rec + kLogHeader), size_t(n) - kLogHeader);
    for (char& c : line)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    // The child filtered by its own level (-l); its facility (-f) goes with the line.
    int previous = log_set_facility_override(facility);
    log_line(LogLevel(level), line);
    log_set_facility_override(previous);
  }
  return true;
}

void drain_sftp_log(int log_fd, int wait_ms) {
  struct timespec start, now;
  ::clock_gettime(CLOCK_MONOTONIC, &start);
  while (relay_sftp_log(log_fd)) {
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    long waited = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
    pollfd p{log_fd, POLLIN, 0};
    if (::poll(&p, 1, int(std::max(0L, wait_ms - waited))) <= 0) return;
  }
}

}  // namespace postern::session
