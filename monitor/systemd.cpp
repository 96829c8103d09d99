#include "monitor/systemd.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "common/log.h"
#include "common/unique_fd.h"

namespace postern::monitor {

// sd_notify(3)'s protocol, by hand: one datagram of "KEY=value" lines to the unix socket named
// by $NOTIFY_SOCKET ('@' for the abstract namespace). No libsystemd.
void sd_notify_text(const std::string& text) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || path[0] == '\0') return;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  size_t len = std::strlen(path);
  if (len >= sizeof sa.sun_path || (path[0] != '/' && path[0] != '@')) return;
  std::memcpy(sa.sun_path, path, len);
  if (path[0] == '@') sa.sun_path[0] = '\0';
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return;
  socklen_t salen = socklen_t(offsetof(sockaddr_un, sun_path) + len);
  if (::sendto(fd.get(), text.data(), text.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&sa),
               salen) < 0)
    log_debug("sd_notify: %s", std::strerror(errno));
}

// systemd socket activation (sd_listen_fds(3)): $LISTEN_FDS descriptors from 3 on, meant for us
// when $LISTEN_PID is our pid. 0 when not socket-activated.
int activated_fd_count() {
  const char* pid = std::getenv("LISTEN_PID");
  const char* fds = std::getenv("LISTEN_FDS");
  if (pid == nullptr || fds == nullptr) return 0;
  if (std::strtol(pid, nullptr, 10) != long(::getpid())) return 0;
  long n = std::strtol(fds, nullptr, 10);
  return n > 0 && n < 1024 ? int(n) : 0;
}

std::vector<ListenSocket> adopt_activated(int n) {
  std::vector<ListenSocket> out;
  for (int fd = 3; fd < 3 + n; ++fd) {
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    Endpoint ep = local_endpoint(fd);
    log_info("Server listening on %s port %d (socket activation).", ep.address.c_str(), ep.port);
    out.push_back(ListenSocket{UniqueFd(fd), ep.address, ep.port});
  }
  return out;
}

}  // namespace postern::monitor
