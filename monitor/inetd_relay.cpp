#include "monitor/inetd_relay.h"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace postern::monitor {
namespace {

bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= size_t(w);
  }
  return true;
}

[[noreturn]] void relay(int in_fd, int out_fd, int sock) {
  char buf[64 * 1024];
  bool in_open = true, sock_open = true;
  while (in_open || sock_open) {
    pollfd p[2] = {{in_open ? in_fd : -1, POLLIN, 0}, {sock_open ? sock : -1, POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      _exit(1);
    }
    if (in_open && p[0].revents) {
      ssize_t n = ::read(in_fd, buf, sizeof buf);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        in_open = false;
        ::shutdown(sock, SHUT_WR);
      } else if (!write_all(sock, buf, size_t(n))) {
        _exit(0);
      }
    }
    if (sock_open && p[1].revents) {
      ssize_t n = ::read(sock, buf, sizeof buf);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        // The server side is done: the client sees EOF on its stdin.
        _exit(0);
      } else if (!write_all(out_fd, buf, size_t(n))) {
        _exit(0);
      }
    }
  }
  _exit(0);
}

}  // namespace

Result<UniqueFd> start_inetd_relay(int in_fd, int out_fd) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return Unexpected(std::string("socketpair: ") + std::strerror(errno));
  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    ::close(sv[0]);
    ::close(sv[1]);
    return Unexpected(std::string("fork: ") + std::strerror(e));
  }
  if (pid == 0) {
    // The relay holds nothing but its three descriptors (and stderr): an inherited write end of
    // its own input pipe would keep it from ever seeing EOF.
    long max_fd = std::min(::sysconf(_SC_OPEN_MAX), 65536L);
    for (int fd = 3; fd < max_fd; ++fd)
      if (fd != in_fd && fd != out_fd && fd != sv[1]) ::close(fd);
    ::signal(SIGPIPE, SIG_IGN);
    relay(in_fd, out_fd, sv[1]);
  }
  ::close(sv[1]);
  return UniqueFd(sv[0]);
}

}  // namespace postern::monitor
