#include "sftp-server/fd_loop.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace postern::sftp {

namespace {

// Non-blocking, so a client that stops reading our replies while it is still sending
// requests cannot wedge both of us in write(2).
void set_nonblocking(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

}  // namespace

int run_fd_loop(Server& server, int in_fd, int out_fd) {
  set_nonblocking(in_fd);
  if (out_fd != in_fd) set_nonblocking(out_fd);
  bool eof = false;
  try {
    for (;;) {
      bool want_read = !eof && server.wants_input();
      bool want_write = !server.output().empty();
      if (!want_read && !want_write) {
        if (eof) {
          // Requests held back by the output backlog still run before we go.
          if (!server.has_unprocessed_input()) return 0;
          server.process();
          if (server.output().empty()) return 0;
          continue;
        }
        server.process();
        continue;
      }
      struct pollfd fds[2];
      nfds_t n = 0;
      int read_slot = -1, write_slot = -1;
      if (want_read) {
        read_slot = int(n);
        fds[n++] = {in_fd, POLLIN, 0};
      }
      if (want_write) {
        write_slot = int(n);
        fds[n++] = {out_fd, POLLOUT, 0};
      }
      if (poll(fds, n, -1) < 0) {
        if (errno == EINTR) continue;
        log_error("poll: %s", strerror(errno));
        return 1;
      }
      if (read_slot >= 0 && (fds[read_slot].revents & (POLLIN | POLLHUP | POLLERR))) {
        MutableByteView space = server.input_space();
        ssize_t got = read(in_fd, space.data(), space.size());
        if (got > 0) {
          server.commit_input(size_t(got));
          server.process();
        } else if (got == 0) {
          log_debug("read eof");
          eof = true;
        } else if (errno != EAGAIN && errno != EINTR) {
          log_error("read: %s", strerror(errno));
          return 1;
        }
      }
      if (write_slot >= 0 && (fds[write_slot].revents & (POLLOUT | POLLHUP | POLLERR))) {
        ByteView out = server.output();
        ssize_t put = write(out_fd, out.data(), out.size());
        if (put > 0) {
          server.consume_output(size_t(put));
          if (server.has_unprocessed_input() && server.wants_input()) server.process();
        } else if (put < 0 && errno != EAGAIN && errno != EINTR) {
          log_error("write: %s", strerror(errno));
          return 1;
        }
      }
    }
  } catch (const ProtocolError& e) {
    log_error("%s", e.what());
    return 1;
  }
}

}  // namespace postern::sftp
