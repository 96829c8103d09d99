// Blocking socket helpers around the I/O-free Transport (transport.h), for simple loops such as
// the pre-auth child's.
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/protocol_error.h"
#include "net/transport.h"

namespace postern::net {

namespace {
constexpr size_t kReadChunk = 64 * 1024;

void wait_for(int fd, short events) {
  pollfd p{fd, events, 0};
  while (::poll(&p, 1, -1) < 0) {
    if (errno != EINTR) throw ConnectionClosed(std::string("poll: ") + std::strerror(errno));
  }
}
}  // namespace

void flush_blocking(Transport& t, int fd) {
  while (t.has_output()) {
    ByteView out = t.pending_output();
    ssize_t n = ::write(fd, out.data(), out.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        wait_for(fd, POLLOUT);
        continue;
      }
      throw ConnectionClosed(std::string("write: ") + std::strerror(errno));
    }
    t.consume_output(size_t(n));
  }
}

bool read_into(Transport& t, int fd) {
  // Reads straight into the transport's input buffer: no copy on the data path.
  MutableByteView buf = t.receive_buffer(kReadChunk);
  while (true) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n > 0) {
      t.received_in_place(size_t(n));
      return true;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
    throw ConnectionClosed(std::string("read: ") + std::strerror(errno));
  }
}

}  // namespace postern::net
