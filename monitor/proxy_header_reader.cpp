#include "monitor/proxy_header_reader.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "privsep_child/privilege_drop.h"

namespace postern::monitor {
namespace {

using proxy_protocol::Error;

int64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Waits until `fd` is readable or the deadline passes; false on timeout.
bool wait_readable(int fd, int64_t deadline) {
  while (true) {
    int64_t left = deadline - now_ms();
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    int rc = ::poll(&p, 1, int(left));
    if (rc > 0) return true;
    if (rc < 0 && errno != EINTR) return true;  // the read reports the error
  }
}

}  // namespace

ProxyHeaderResult read_proxy_header(int fd, int timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  proxy_protocol::Parser parser;
  uint8_t buf[proxy_protocol::kV2Fixed + proxy_protocol::kMaxV2Payload];
  while (!parser.done()) {
    if (!wait_readable(fd, deadline)) return {Error::kTimeout, {}};
    size_t want = std::min(parser.wanted(), sizeof buf);
    // recv without MSG_PEEK: the parser never asks for a byte past the header.
    ssize_t n = ::recv(fd, buf, want, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return {Error::kClosed, {}};
    parser.feed({buf, size_t(n)});
  }
  return {parser.error(), parser.header()};
}

std::array<uint8_t, kProxyResultSize> encode_result(const ProxyHeaderResult& r) {
  std::array<uint8_t, kProxyResultSize> out{};
  out[0] = uint8_t(r.error);
  out[1] = uint8_t(r.header.version);
  out[2] = r.header.has_client ? 1 : 0;
  out[3] = r.header.family == AF_INET ? 4 : r.header.family == AF_INET6 ? 6 : 0;
  std::memcpy(out.data() + 4, r.header.address.data(), 16);
  out[20] = uint8_t(r.header.port >> 8);
  out[21] = uint8_t(r.header.port);
  return out;
}

std::optional<ProxyHeaderResult> decode_result(std::span<const uint8_t> rec) {
  if (rec.size() != kProxyResultSize) return std::nullopt;
  ProxyHeaderResult r;
  if (rec[0] >= uint8_t(Error::kCount)) return std::nullopt;
  r.error = Error(rec[0]);
  if (r.error != Error::kNone) return r;  // the rest means nothing then
  if (rec[1] != 1 && rec[1] != 2) return std::nullopt;
  if (rec[2] > 1) return std::nullopt;
  r.header.version = rec[1];
  r.header.has_client = rec[2] == 1;
  if (r.header.has_client) {
    if (rec[3] != 4 && rec[3] != 6) return std::nullopt;
    r.header.family = rec[3] == 4 ? AF_INET : AF_INET6;
    std::memcpy(r.header.address.data(), rec.data() + 4, 16);
    r.header.port = uint16_t(rec[20] << 8 | rec[21]);
  }
  return r;
}

ProxyHeaderResult read_proxy_header_jailed(int fd, int timeout_ms) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return {Error::kReaderFailed, {}};
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    return {Error::kReaderFailed, {}};
  }
  if (pid == 0) {
    // The child keeps the client socket (3), its end of the pipe (4) and stderr: nothing of the
    // monitor's (the listener's startup pipe, the policy memfd) stays within its reach.
    int sock = ::fcntl(fd, F_DUPFD, 10), out = ::fcntl(pipefd[1], F_DUPFD, 10);
    if (sock < 0 || out < 0 || ::dup2(sock, 3) != 3 || ::dup2(out, 4) != 4) _exit(1);
    ::close_range(5, ~0U, 0);
    privsep_child::enter_net_jail();
    auto rec = encode_result(read_proxy_header(3, timeout_ms));
    _exit(::write(4, rec.data(), rec.size()) == ssize_t(rec.size()) ? 0 : 1);
  }
  ::close(pipefd[1]);
  uint8_t rec[kProxyResultSize + 1];
  ssize_t n = -1;
  // The child keeps its own deadline; a little more here for the jail's set-up.
  if (wait_readable(pipefd[0], now_ms() + timeout_ms + 2000)) {
    do {
      n = ::read(pipefd[0], rec, sizeof rec);
    } while (n < 0 && errno == EINTR);
  }
  ::close(pipefd[0]);
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  if (n < 0) return {Error::kTimeout, {}};
  auto r = decode_result({rec, size_t(n)});
  return r ? *r : ProxyHeaderResult{Error::kReaderFailed, {}};
}

}  // namespace postern::monitor
