// The kernel's view of a TCP connection's round trip, for sizing receive windows.
#pragma once

#include <cstdint>

namespace postern::session {

// The smallest round trip the kernel measured on TCP socket `fd`, in microseconds; 0 when `fd`
// is -1, not a TCP socket (a Unix socket or pipe under inetd), or the kernel does not say.
uint32_t tcp_min_rtt_us(int fd);

}  // namespace postern::session
