#include "session/forward_listener.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace postern::session {
namespace {

constexpr int kBacklog = 128;

uint32_t port_of(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(ss).sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(ss).sin6_port);
  return 0;
}

void set_port(sockaddr* sa, uint32_t port) {
  if (sa->sa_family == AF_INET)
    reinterpret_cast<sockaddr_in*>(sa)->sin_port = htons(uint16_t(port));
  if (sa->sa_family == AF_INET6)
    reinterpret_cast<sockaddr_in6*>(sa)->sin6_port = htons(uint16_t(port));
}

}  // namespace

Result<ForwardListener> listen_tcp(const std::string& bind_host, uint32_t port) {
  if (port > 65535) return Unexpected(Error{"bad port"});
  struct addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = bind_host.empty() ? AI_PASSIVE : 0;
  struct addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  int gai =
      ::getaddrinfo(bind_host.empty() ? nullptr : bind_host.c_str(), service.c_str(), &hints, &res);
  if (gai != 0) return Unexpected(Error{std::string("getaddrinfo: ") + gai_strerror(gai)});
  ForwardListener l;
  l.requested_port = port;
  uint32_t bound = port;
  std::string last_error = "no address";
  for (auto* ai = res; ai; ai = ai->ai_next) {
    UniqueFd fd(::socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
      last_error = strerror(errno);
      continue;
    }
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    // Separate sockets per family, as the wildcard may give both.
    if (ai->ai_family == AF_INET6)
      ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    // With port 0 the first bind chooses the port; the other families must use the same.
    set_port(ai->ai_addr, bound);
    if (::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd.get(), kBacklog) != 0) {
      last_error = strerror(errno);
      continue;
    }
    if (bound == 0) {
      sockaddr_storage ss{};
      socklen_t len = sizeof ss;
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len);
      bound = port_of(ss);
    }
    l.fds.push_back(std::move(fd));
  }
  ::freeaddrinfo(res);
  if (l.fds.empty()) return Unexpected(Error{last_error});
  l.bound_port = bound;
  return l;
}

Result<ForwardListener> listen_unix(const std::string& path, mode_t mask, bool unlink_first) {
  struct sockaddr_un sun = {};
  sun.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(sun.sun_path))
    return Unexpected(Error{"socket path too long"});
  std::memcpy(sun.sun_path, path.data(), path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return Unexpected(Error{strerror(errno)});
  if (unlink_first) ::unlink(path.c_str());
  // sshd_config(5) StreamLocalBindMask: the umask the socket file is created with.
  mode_t old = ::umask(mask);
  int r = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun);
  int e = errno;
  ::umask(old);
  if (r != 0) return Unexpected(Error{strerror(e)});
  if (::listen(fd.get(), kBacklog) != 0) {
    e = errno;
    ::unlink(path.c_str());
    return Unexpected(Error{strerror(e)});
  }
  ForwardListener l;
  l.unix_socket = true;
  l.path = path;
  l.fds.push_back(std::move(fd));
  return l;
}

void peer_address(int fd, std::string& addr, uint32_t& port) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  addr = "UNKNOWN";
  port = 0;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return;
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in&>(ss).sin_addr, buf, sizeof buf);
  } else if (ss.ss_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6&>(ss).sin6_addr, buf, sizeof buf);
  } else {
    return;
  }
  addr = buf;
  port = port_of(ss);
}

}  // namespace postern::session
