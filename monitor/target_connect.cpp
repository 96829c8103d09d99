#include "monitor/target_connect.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include <cerrno>
#include <cstring>

namespace postern::monitor {

namespace {

int64_t now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// One address: a non-blocking connect, waited for until `deadline`. Returns 0 or an errno.
int connect_one(const addrinfo* ai, int64_t deadline, UniqueFd& out) {
  UniqueFd fd(
      ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol));
  if (!fd) return errno;
  if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
    if (errno != EINPROGRESS) return errno;
    while (true) {
      int64_t left = deadline - now_ms();
      if (left <= 0) return ETIMEDOUT;
      pollfd p{fd.get(), POLLOUT, 0};
      int rc = ::poll(&p, 1, int(left));
      if (rc < 0 && errno == EINTR) continue;
      if (rc < 0) return errno;
      if (rc == 0) return ETIMEDOUT;
      break;
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
    if (err != 0) return err;
  }
  int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) return errno;
  int on = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  out = std::move(fd);
  return 0;
}

}  // namespace

Result<UniqueFd> connect_target(const std::string& host, int port, int timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0) return Unexpected(std::string("cannot resolve it: ") + ::gai_strerror(rc));
  int last = ECONNREFUSED;
  UniqueFd fd;
  for (const addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    last = connect_one(ai, deadline, fd);
    if (last == 0) break;
    if (last == ETIMEDOUT) break;
  }
  ::freeaddrinfo(res);
  if (last == 0) return fd;
  if (last == ETIMEDOUT)
    return Unexpected("it did not answer within " + std::to_string(timeout_ms / 1000) + " s");
  return Unexpected(std::string(std::strerror(last)));
}

}  // namespace postern::monitor
