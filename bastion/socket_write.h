// Writing a transport's output to a non-blocking socket, shared by sshd-bastion's loops
// (target_connect.cpp, bastion_loop.cpp).
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/protocol_error.h"
#include "net/transport.h"

namespace postern::bastion {

// Writes what the socket takes now; a peer that went away is reported by the read side.
inline void write_some(net::Transport& t, int fd) {
  while (t.has_output()) {
    ByteView out = t.pending_output();
    ssize_t n = ::write(fd, out.data(), out.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0) throw ConnectionClosed(std::string("write: ") + std::strerror(errno));
    t.consume_output(size_t(n));
  }
}

}  // namespace postern::bastion
