// run_connection(): the session process's poll loop around the transport and the channels.
#include "session/session.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <ctime>
#include <memory>

#include "common/log.h"
#include "common/poll_timeout.h"
#include "common/protocol_error.h"
#include "session/connection.h"
#include "session/transport_sink.h"

namespace postern::session {
namespace {

constexpr size_t kReadBufferSize = 256 * 1024;

uint64_t now_seconds() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec);
}

// Writes what the transport has queued until the socket would block.
void flush_output(net::Transport& t, int sock) {
  while (t.has_output()) {
    ByteView out = t.pending_output();
    ssize_t w = ::write(sock, out.data(), out.size());
    if (w > 0) {
      t.consume_output(size_t(w));
    } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
      return;
    } else {
      throw ConnectionClosed(std::string("write: ") + (w < 0 ? strerror(errno) : "closed"));
    }
  }
}

void drain_messages(net::Transport& t, Connection& conn) {
  while (auto msg = t.next_message()) conn.handle_message(*msg);
}

}  // namespace

int run_connection(net::Transport& transport, int sock, const Account& user,
                   const ConnectionEnds& peer, const SessionOptions& options,
                   PrivilegedOps& privileged) {
  // Writes to a child that went away must fail with EPIPE, not kill us.
  ::signal(SIGPIPE, SIG_IGN);
  // An inherited SIGCHLD = SIG_IGN would reap children behind our back and lose their exit
  // status; we learn of exits through pidfds, so the default is all we need.
  ::signal(SIGCHLD, SIG_DFL);
  ::fcntl(sock, F_SETFL, ::fcntl(sock, F_GETFL) | O_NONBLOCK);

  TransportSink sink(transport, sock);
  Connection conn(sink, user, peer, options, privileged);
  // Uninitialised: an idle session keeps only the pages its reads have touched, where a
  // zero-filled buffer was 256 KiB resident from the start (docs/performance.md).
  std::unique_ptr<uint8_t[]> buffer(new uint8_t[kReadBufferSize]);
  std::vector<pollfd> fds;
  int status = 0;
  // ClientAliveInterval: when the client last sent something, or we last asked it to.
  const uint64_t alive_interval = options.client_alive_interval;
  uint64_t last_heard = now_seconds();
  // UnusedConnectionTimeout: since when the connection has had no channel (listeners of
  // tcpip-forward do not count, as in sshd_config(5)); 0 while channels are open.
  const uint64_t unused_timeout = options.unused_connection_timeout;
  uint64_t unused_since = last_heard;
  try {
    // The handoff may have carried messages already received.
    drain_messages(transport, conn);
    while (true) {
      // ChannelTimeout first, so the CLOSE it may send goes out with this round.
      int channel_timeout_s = conn.check_channel_timeouts(now_seconds());
      flush_output(transport, sock);
      fds.clear();
      fds.push_back(pollfd{sock, 0, 0});
      // A channel may send while registering (internal-sftp moves its replies then), so the
      // socket's events are decided afterwards.
      conn.collect_pollfds(fds);
      // Stop reading the socket while our output to the peer is piling up: the peer is not
      // reading, and what it sends would only make us queue more replies.
      short sock_events = transport.output_backlog() < 4 * kMaxQueuedOutput ? POLLIN : 0;
      if (transport.has_output()) sock_events |= POLLOUT;
      fds[0].events = sock_events;
      uint64_t now = now_seconds();
      int timeout_s = transport.next_timeout_seconds(now);
      if (channel_timeout_s >= 0 && (timeout_s < 0 || channel_timeout_s < timeout_s))
        timeout_s = channel_timeout_s;
      if (unused_timeout > 0) {
        if (conn.open_channels() > 0) {
          unused_since = 0;
        } else if (unused_since == 0) {
          unused_since = now;
        }
        if (unused_since != 0) {
          if (now >= unused_since + unused_timeout) {
            log_info("Connection from user %s %s port %d timed out (unused)", user.name.c_str(),
                     peer.remote.address.c_str(), peer.remote.port);
            status = 255;
            break;
          }
          int left = int(std::min<uint64_t>(unused_since + unused_timeout - now, INT_MAX));
          if (timeout_s < 0 || left < timeout_s) timeout_s = left;
        }
      }
      if (alive_interval > 0) {
        uint64_t due = last_heard + alive_interval;
        int alive_s = due > now ? int(std::min<uint64_t>(due - now, INT_MAX)) : 0;
        if (timeout_s < 0 || alive_s < timeout_s) timeout_s = alive_s;
      }
      int timeout_ms = poll_timeout_ms(timeout_s);
      int n = ::poll(fds.data(), fds.size(), timeout_ms);
      if (n < 0) {
        if (errno == EINTR) continue;
        fatal("poll: %s", strerror(errno));
      }
      transport.tick(now_seconds());
      short rev = fds[0].revents;
      if (alive_interval > 0) {
        uint64_t t = now_seconds();
        if (rev & POLLIN) {
          last_heard = t;
        } else if (t >= last_heard + alive_interval) {
          last_heard = t;
          if (!conn.client_alive_check()) {
            status = 255;
            break;
          }
        }
      }
      if (rev & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t r = ::read(sock, buffer.get(), kReadBufferSize);
        if (r == 0) {
          log_verbose("Connection closed by %s port %d", peer.remote.address.c_str(),
                      peer.remote.port);
          break;
        }
        if (r < 0 && errno != EAGAIN && errno != EINTR) {
          log_info("Read error from remote host %s port %d: %s", peer.remote.address.c_str(),
                   peer.remote.port, strerror(errno));
          status = 255;
          break;
        }
        if (r > 0) {
          transport.received(ByteView(buffer.get(), size_t(r)));
          drain_messages(transport, conn);
        }
      }
      conn.dispatch_pollfds(std::span<const pollfd>(fds).subspan(1));
    }
  } catch (const net::DisconnectReceived& e) {
    log_info("Received disconnect from %s port %d:%u: %s", peer.remote.address.c_str(),
             peer.remote.port, e.reason(), e.description().c_str());
  } catch (const ConnectionClosed& e) {
    log_verbose("%s", e.what());
  } catch (const ProtocolError& e) {
    log_error("%s port %d: %s", peer.remote.address.c_str(), peer.remote.port, e.what());
    try {
      transport.send_disconnect(uint32_t(e.reason()), e.what());
      flush_output(transport, sock);
    } catch (const std::exception&) {
    }
    status = 255;
  } catch (const std::exception& e) {
    // A bug or an exhausted resource (std::bad_alloc under RLIMIT_DATA) ends this connection
    // cleanly, with a DISCONNECT, instead of std::terminate.
    log_error("%s port %d: internal error: %s", peer.remote.address.c_str(), peer.remote.port,
              e.what());
    try {
      transport.send_disconnect(uint32_t(DisconnectReason::kByApplication), "internal error");
      flush_output(transport, sock);
    } catch (const std::exception&) {
    }
    status = 255;
  }
  log_info("Disconnected from user %s %s port %d", user.name.c_str(), peer.remote.address.c_str(),
           peer.remote.port);
  return status;
}

}  // namespace postern::session
