#include "session/tcp_rtt.h"

// linux/tcp.h, not netinet/tcp.h: glibc's struct tcp_info stops before tcpi_min_rtt.
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

namespace postern::session {

uint32_t tcp_min_rtt_us(int fd) {
  if (fd < 0) return 0;
  struct tcp_info info {};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return 0;
  // An older kernel fills less of the struct; the field counts only if it was written.
  if (len < offsetof(struct tcp_info, tcpi_min_rtt) + sizeof info.tcpi_min_rtt) return 0;
  // The kernel reports ~0U before it has a sample.
  return info.tcpi_min_rtt == UINT32_MAX ? 0 : info.tcpi_min_rtt;
}

}  // namespace postern::session
