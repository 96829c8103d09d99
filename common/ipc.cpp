#include "common/ipc.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <system_error>

namespace postern::ipc {

namespace detail {

void read_field(Reader& r, StringList& v) {
  uint32_t n = r.u32();
  if (n > kMaxListItems || n > r.remaining() / 4) throw ProtocolError("ipc: list too long");
  v.clear();
  v.reserve(n);
  for (uint32_t i = 0; i < n; ++i) v.emplace_back(r.text());
}

void read_field(Reader& r, BlobList& v) {
  uint32_t n = r.u32();
  if (n > kMaxListItems || n > r.remaining() / 4) throw ProtocolError("ipc: list too long");
  v.clear();
  v.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    ByteView b = r.string();
    v.emplace_back(b.begin(), b.end());
  }
}

void read_field(Reader& r, SecretBytes& v) {
  v = SecretBytes(r.string(kMaxMessageSize));
}

void read_field(Reader& r, Int32& v) {
  v.value = static_cast<int32_t>(r.u32());
}

void write_field(Writer& w, const StringList& v) {
  w.u32(uint32_t(v.size()));
  for (const auto& s : v) w.string(s);
}

void write_field(Writer& w, const BlobList& v) {
  w.u32(uint32_t(v.size()));
  for (const auto& b : v) w.string(ByteView(b));
}

void write_field(Writer& w, const SecretBytes& v) {
  w.string(v.view());
}

void write_field(Writer& w, const Int32& v) {
  w.u32(static_cast<uint32_t>(v.value));
}

}  // namespace detail

uint64_t monotonic_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000 + uint64_t(ts.tv_nsec) / 1000000;
}

std::pair<Channel, Channel> Channel::make_pair() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    throw std::system_error(errno, std::generic_category(), "socketpair");
  return {Channel(UniqueFd(sv[0])), Channel(UniqueFd(sv[1]))};
}

void Channel::send_datagram(ByteView datagram, std::span<const int> fds) {
  if (datagram.empty() || datagram.size() > kMaxMessageSize)
    throw ProtocolError("ipc: message size out of bounds");
  if (fds.size() > kMaxFds) throw ProtocolError("ipc: too many descriptors");

  iovec iov{const_cast<uint8_t*>(datagram.data()), datagram.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
  if (!fds.empty()) {
    std::memset(control, 0, sizeof control);
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  // With a deadline the send never blocks in the kernel: a full socket (the peer stopped
  // reading) is waited out in poll, which gives up at the deadline.
  int flags = MSG_NOSIGNAL | (m_send_deadline_ms != 0 ? MSG_DONTWAIT : 0);
  while (true) {
    ssize_t n = ::sendmsg(m_fd.get(), &msg, flags);
    if (n >= 0) {
      // SOCK_SEQPACKET sends the whole record or nothing.
      if (size_t(n) != datagram.size()) throw ProtocolError("ipc: short send");
      return;
    }
    if (errno == EINTR) continue;
    if ((errno == EAGAIN || errno == EWOULDBLOCK) && m_send_deadline_ms != 0) {
      wait_writable();
      continue;
    }
    if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN)
      throw ConnectionClosed("ipc: peer closed");
    if (errno == EMSGSIZE) throw ProtocolError("ipc: message too big for the socket");
    throw ConnectionClosed(std::string("ipc: sendmsg: ") + std::strerror(errno));
  }
}

void Channel::wait_writable() const {
  while (true) {
    uint64_t now = monotonic_ms();
    if (now >= m_send_deadline_ms)
      throw SendTimedOut("ipc: peer not reading, send deadline passed");
    pollfd p{m_fd.get(), POLLOUT, 0};
    int rc = ::poll(&p, 1, int(std::min<uint64_t>(m_send_deadline_ms - now, 60 * 60 * 1000)));
    if (rc < 0 && errno != EINTR)
      throw ConnectionClosed(std::string("ipc: poll: ") + std::strerror(errno));
    // POLLOUT, or POLLHUP/POLLERR, which the next sendmsg turns into its error.
    if (rc > 0) return;
  }
}

Message Channel::receive() {
  // One byte more than the limit, so an oversized datagram shows up as MSG_TRUNC or too long.
  if (!m_buf) m_buf.reset(new uint8_t[kMaxMessageSize + 1]);
  iovec iov{m_buf.get(), kMaxMessageSize + 1};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds) + 64];
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;

  ssize_t n;
  do {
    n = ::recvmsg(m_fd.get(), &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == ECONNRESET) throw ConnectionClosed("ipc: peer closed");
    throw ConnectionClosed(std::string("ipc: recvmsg: ") + std::strerror(errno));
  }
  // However this ends, the datagram's bytes (n: at most the buffer, as no MSG_TRUNC was asked
  // for) do not outlive the call in the reused buffer.
  struct WipeOnExit {
    uint8_t* bytes;
    size_t n;
    ~WipeOnExit() { OPENSSL_cleanse(bytes, n); }
  } wipe{m_buf.get(), size_t(n)};

  // Take ownership of every descriptor first, so none leaks whatever is wrong with the message.
  Message out;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      out.fds.emplace_back(fd);
    }
  }
  // A zero-length read on a SOCK_SEQPACKET socket is the peer's close; we never send empty ones.
  if (n == 0) throw ConnectionClosed("ipc: peer closed");
  if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC) || size_t(n) > kMaxMessageSize)
    throw ProtocolError("ipc: oversized message");
  if (out.fds.size() > kMaxFds) throw ProtocolError("ipc: too many descriptors");
  out.type = m_buf[0];
  out.data = SecretBytes(ByteView(m_buf.get(), size_t(n)));
  return out;
}

bool Dispatcher::handles(uint8_t type) const {
  for (const auto& e : m_handlers)
    if (e.type == type) return true;
  return false;
}

bool Dispatcher::dispatch(Channel& ch, Message& m) const {
  for (const auto& e : m_handlers)
    if (e.type == m.type) {
      e.run(ch, m);
      return true;
    }
  return false;
}

}  // namespace postern::ipc
