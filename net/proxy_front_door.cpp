#include "net/proxy_front_door.h"

#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace postern::net {

namespace {

using bastion::ProxyRequestParser;

int64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

int remaining(int64_t deadline) {
  int64_t left = deadline - now_ms();
  return left > 0 ? int(left) : 0;
}

// Writes all of `data` before the deadline; false when the peer is gone or too slow to read.
bool write_all(int sock, ByteView data, int64_t deadline) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(sock, data.data() + off, data.size() - off);
    if (n > 0) {
      off += size_t(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{sock, POLLOUT, 0};
      if (::poll(&p, 1, remaining(deadline)) <= 0) return false;
      continue;
    }
    return false;
  }
  return true;
}

// After an error reply: closing with the client's unread bytes still queued would reset the
// connection and could discard the reply before the client reads it. So our side is shut, and
// what the client still sends is read and dropped (bounded: 64 KiB, one second) until it closes.
void linger(int sock) {
  ::shutdown(sock, SHUT_WR);
  int64_t deadline = now_ms() + 1000;
  size_t drained = 0;
  uint8_t buf[4096];
  while (drained < 64 * 1024) {
    pollfd p{sock, POLLIN, 0};
    if (::poll(&p, 1, remaining(deadline)) <= 0) return;
    ssize_t n = ::read(sock, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return;
    drained += size_t(n);
  }
}

}  // namespace

ProxyFrontDoorRequest serve_proxy_request(int sock, int timeout_ms) {
  ProxyFrontDoorRequest out;
  int64_t deadline = now_ms() + timeout_ms;
  ProxyRequestParser parser;
  // One read never takes more than a whole request may be, so what is kept behind it is bounded.
  uint8_t buf[bastion::kMaxProxyRequest];
  while (true) {
    ProxyRequestParser::Step step;
    pollfd p{sock, POLLIN, 0};
    int rc = ::poll(&p, 1, remaining(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) {
      step = parser.expire();
      out.error = step.error;
    } else {
      ssize_t n = ::read(sock, buf, sizeof buf);
      if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
      if (n <= 0) {
        out.error = n == 0 ? "connection closed before the proxy request was whole"
                           : std::string("read: ") + std::strerror(errno);
        return out;
      }
      step = parser.feed(ByteView(buf, size_t(n)));
    }
    bool sent = step.send.empty() || write_all(sock, step.send, deadline);
    if (step.status == ProxyRequestParser::Status::kError) {
      out.error = step.error;
      if (sent) linger(sock);
      return out;
    }
    if (!sent) {
      out.error = "the client does not read the proxy reply";
      return out;
    }
    if (step.status == ProxyRequestParser::Status::kDone) break;
  }
  out.ok = true;
  out.kind = parser.kind();
  out.host = parser.host();
  out.port = parser.port();
  out.leftover = parser.leftover();
  return out;
}

}  // namespace postern::net
