#include "monitor/extender_connect.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "bastion/socks5_client.h"

namespace postern::monitor {

namespace {

int64_t now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Waits for `events` on `fd` until `deadline`: false when the time is up.
bool wait_for(int fd, short events, int64_t deadline) {
  while (true) {
    int64_t left = deadline - now_ms();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, int(left));
    if (rc < 0 && errno == EINTR) continue;
    return rc > 0;
  }
}

}  // namespace

Result<UniqueFd> connect_via_extender(const std::string& socket_path, const std::string& extender,
                                      const std::string& host, int port, int timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  std::string who = "extender " + extender;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof sa.sun_path)
    return Unexpected(who + " is not connected (its socket path is too long)");
  std::memcpy(sa.sun_path, socket_path.c_str(), socket_path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return Unexpected(std::string("socket: ") + std::strerror(errno));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    // No socket, or one whose connection is gone: the extender is not there.
    if (errno == ENOENT || errno == ECONNREFUSED) return Unexpected(who + " is not connected");
    if (errno == EAGAIN) return Unexpected(who + " is busy (too many connections waiting)");
    return Unexpected(who + ": " + std::strerror(errno));
  }
  bastion::Socks5Connect socks(host, uint16_t(port > 0 && port <= 65535 ? port : 0));
  std::string timed_out =
      who + " did not answer within " + std::to_string(timeout_ms / 1000) + " s";
  while (socks.state() != bastion::Socks5Connect::State::kDone &&
         socks.state() != bastion::Socks5Connect::State::kFailed) {
    Bytes out = socks.take_output();
    for (size_t at = 0; at < out.size();) {
      if (!wait_for(fd.get(), POLLOUT, deadline)) return Unexpected(timed_out);
      ssize_t n = ::send(fd.get(), out.data() + at, out.size() - at, MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0) return Unexpected(who + " closed the connection");
      at += size_t(n);
    }
    // Never more than the SOCKS message: the target's own bytes follow on this stream.
    uint8_t buf[262];
    size_t want = std::min(socks.wanted(), sizeof buf);
    if (!wait_for(fd.get(), POLLIN, deadline)) return Unexpected(timed_out);
    ssize_t n = ::read(fd.get(), buf, want);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    // Before the method selection: the extender's client refused the channel, or its connection
    // ended. After the request: OpenSSH's client closes without a reply when its connect fails.
    if (n <= 0 && socks.state() == bastion::Socks5Connect::State::kGreeting)
      return Unexpected(who + " refused the connection");
    if (n <= 0)
      return Unexpected(who + " could not connect to " + host + " port " + std::to_string(port) +
                        " (it closed the stream without a SOCKS reply)");
    socks.on_input(ByteView(buf, size_t(n)));
  }
  if (socks.state() == bastion::Socks5Connect::State::kFailed)
    return Unexpected(who + " could not connect to " + host + " port " + std::to_string(port) +
                      ": " + socks.error());
  int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0)
    return Unexpected(std::string("fcntl: ") + std::strerror(errno));
  return fd;
}

}  // namespace postern::monitor
