#include "session/forward_channel.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "session/connection_messages.h"

namespace postern::session {
namespace {

// Packets read from the socket per wakeup before other fds get their turn.
constexpr int kReadsPerWakeup = 16;

}  // namespace

ForwardChannel::ForwardChannel(PacketSink& out, Bytes& scratch, uint32_t local_id,
                               uint32_t remote_id, uint32_t remote_window,
                               uint32_t remote_max_packet, std::string description)
    : Channel(out, scratch, local_id, remote_id, remote_window, remote_max_packet),
      m_description(std::move(description)) {
  // ChannelTimeout's names for these types (sshd_config(5)).
  if (m_description == "direct-streamlocal") {
    set_timeout_type("direct-streamlocal@openssh.com");
  } else if (m_description == "auth-agent@openssh.com") {
    set_timeout_type("agent-connection");
  } else if (m_description == "x11") {
    set_timeout_type("x11-connection");
  } else {
    set_timeout_type(m_description);
  }
}

ForwardChannel::~ForwardChannel() = default;

bool ForwardChannel::finished() const {
  return m_state == State::kDead || Channel::finished();
}

void ForwardChannel::fail_open(uint32_t reason, const std::string& why) {
  ChannelOpenFailureMsg f{remote_id(), reason, why, ""};
  out().send(encode(f));
  m_fd.reset();
  m_state = State::kDead;
}

void ForwardChannel::confirm_open() {
  ChannelOpenConfirmationMsg c{remote_id(), local_id(), kInitialWindow, kLocalMaxPacket};
  out().send(encode(c));
  m_state = State::kOpen;
}

bool ForwardChannel::connect_tcp(const std::string& host, uint32_t port) {
  m_host = host;
  m_port = port;
  m_state = State::kConnecting;
  struct addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  int gai = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (gai != 0) {
    log_info("connect_to %s: unknown host (%s)", host.c_str(), gai_strerror(gai));
    log_error("connect_to %s port %u: failed.", host.c_str(), port);
    fail_open(kOpenConnectFailed, "Name or service not known");
    return false;
  }
  for (auto* ai = res; ai; ai = ai->ai_next) {
    if (ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
    sockaddr_storage ss{};
    std::memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
    m_addrs.emplace_back(ss, socklen_t(ai->ai_addrlen));
  }
  ::freeaddrinfo(res);
  if (!try_next_address()) {
    log_error("connect_to %s port %u: failed.", host.c_str(), port);
    fail_open(kOpenConnectFailed, strerror(m_last_errno ? m_last_errno : ECONNREFUSED));
    return false;
  }
  return true;
}

bool ForwardChannel::try_next_address() {
  while (m_next_addr < m_addrs.size()) {
    const auto& [ss, len] = m_addrs[m_next_addr++];
    UniqueFd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
      m_last_errno = errno;
      continue;
    }
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) == 0 ||
        errno == EINPROGRESS) {
      m_fd = std::move(fd);
      return true;
    }
    m_last_errno = errno;
    log_debug("connect_to %s port %u: %s", m_host.c_str(), m_port, strerror(errno));
  }
  return false;
}

bool ForwardChannel::connect_unix(const std::string& path) {
  m_host = path;
  struct sockaddr_un sun = {};
  sun.sun_family = AF_UNIX;
  if (path.size() >= sizeof(sun.sun_path)) {
    log_error("connect_to %s: path too long", path.c_str());
    fail_open(kOpenConnectFailed, "path too long");
    return false;
  }
  std::memcpy(sun.sun_path, path.data(), path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  // A Unix stream connect completes at once, or fails (EAGAIN: the listener's backlog is full).
  if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) != 0) {
    int e = errno;
    log_error("connect_to %s: failed.", path.c_str());
    fail_open(kOpenConnectFailed, strerror(e));
    return false;
  }
  m_fd = std::move(fd);
  confirm_open();
  return true;
}

void ForwardChannel::connect_done() {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(m_fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err == 0) {
    log_debug("channel %u: connected to %s port %u", local_id(), m_host.c_str(), m_port);
    confirm_open();
    return;
  }
  m_last_errno = err;
  log_debug("channel %u: connection failed: %s", local_id(), strerror(err));
  m_fd.reset();
  if (try_next_address()) return;
  log_error("connect_to %s port %u: failed.", m_host.c_str(), m_port);
  fail_open(kOpenConnectFailed, strerror(err));
}

void ForwardChannel::attach(UniqueFd fd) {
  m_fd = std::move(fd);
  m_state = State::kAwaitingConfirm;
}

void ForwardChannel::open_confirmed(uint32_t remote_id, uint32_t window, uint32_t max_packet) {
  set_remote(remote_id, window, max_packet);
  m_state = State::kOpen;
}

void ForwardChannel::open_failed() {
  m_fd.reset();
  m_state = State::kDead;
}

void ForwardChannel::handle_request(std::string_view type, bool want_reply, ByteView) {
  // No requests are defined for these channel types (RFC 4254 §7.2).
  log_debug("channel %u: %s: request %.*s refused", local_id(), m_description.c_str(),
            int(type.size()), type.data());
  reply(want_reply, false);
}

void ForwardChannel::on_data(ByteView data) {
  if (m_write_done || !m_fd) {
    consumed(data.size());
    return;
  }
  if (m_to_socket.empty()) {
    // The common case: from the decrypted packet straight into the socket.
    ssize_t w = ::send(m_fd.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (w > 0) {
      consumed(size_t(w));
      data = data.subspan(size_t(w));
    } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
      consumed(data.size());
      write_failed();
      return;
    }
  }
  m_to_socket.push(data);
}

void ForwardChannel::flush_output() {
  while (m_fd && !m_to_socket.empty()) {
    ByteView front = m_to_socket.front();
    ssize_t w = ::send(m_fd.get(), front.data(), front.size(), MSG_NOSIGNAL);
    if (w > 0) {
      m_to_socket.pop(size_t(w));
      consumed(size_t(w));
    } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
      return;
    } else {
      write_failed();
      return;
    }
  }
  if (m_to_socket.empty() && eof_received() && !m_write_done && m_fd) {
    // RFC 4254 §5.3: the client's EOF becomes ours towards the socket, after its data.
    ::shutdown(m_fd.get(), SHUT_WR);
    m_write_done = true;
  }
}

void ForwardChannel::write_failed() {
  // The far end stopped taking data: what still comes from the client is dropped, and the
  // channel is done once the other direction is.
  log_debug("channel %u: %s: write failed: %s", local_id(), m_description.c_str(), strerror(errno));
  consumed(m_to_socket.size());
  m_to_socket.clear();
  m_write_done = true;
  if (m_fd) ::shutdown(m_fd.get(), SHUT_WR);
}

void ForwardChannel::on_eof() {
  if (m_state == State::kOpen) flush_output();
  maybe_close();
}

void ForwardChannel::on_close() {
  m_fd.reset();
  m_to_socket.clear();
}

void ForwardChannel::read_socket() {
  for (int i = 0; i < kReadsPerWakeup; ++i) {
    if (send_room() == 0 || output_congested()) return;
    FdRead r = forward_from_fd(m_fd.get(), 0, false);
    if (r == FdRead::kAgain) return;
    if (r == FdRead::kEof) {
      m_read_done = true;
      send_eof();
      return;
    }
  }
}

void ForwardChannel::maybe_close() {
  if (close_sent() || m_state != State::kOpen) return;
  // Both directions ended: ours is EOF-sent, the client's is delivered (or undeliverable).
  if (m_read_done && (m_write_done || (eof_received() && m_to_socket.empty()))) {
    send_close();
    m_fd.reset();
  }
}

void ForwardChannel::add_pollfds(PollSet& set) {
  if (!m_fd) return;
  if (m_state == State::kConnecting) {
    set.add(m_fd.get(), POLLOUT, this, kTagConnect);
    return;
  }
  if (m_state != State::kOpen || close_sent()) return;
  if (!m_read_done && send_room() > 0 && !output_congested())
    set.add(m_fd.get(), POLLIN, this, kTagRead);
  if (!m_to_socket.empty()) set.add(m_fd.get(), POLLOUT, this, kTagWrite);
}

void ForwardChannel::on_poll(int tag, short revents) {
  if (revents == 0 || !m_fd) return;
  switch (tag) {
    case kTagConnect:
      connect_done();
      return;
    case kTagRead:
      read_socket();
      break;
    case kTagWrite:
      if (revents & (POLLERR | POLLHUP) && !(revents & POLLOUT)) {
        write_failed();
      } else {
        flush_output();
      }
      break;
  }
  maybe_close();
}

}  // namespace postern::session
