#include "session/channel.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include "common/be_bytes.h"
#include "common/log.h"
#include "session/connection_messages.h"

namespace postern::session {
namespace {

uint64_t monotonic_us() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000 + uint64_t(ts.tv_nsec) / 1000;
}

}  // namespace

Channel::Channel(PacketSink& out, Bytes& scratch, uint32_t local_id, uint32_t remote_id,
                 uint32_t remote_window, uint32_t remote_max_packet)
    : m_out(out),
      m_scratch(scratch),
      m_local_id(local_id),
      m_remote_id(remote_id),
      m_remote_window(remote_window),
      m_remote_max_packet(remote_max_packet) {}

void Channel::handle_data(ByteView data) {
  m_window.received(uint32_t(data.size()));
  ++m_activity;
  if (m_eof_received || m_close_sent) {
    // Nobody will read it any more; give the window back and drop it.
    consumed(data.size());
    return;
  }
  on_data(data);
}

void Channel::handle_extended_data(uint32_t code, ByteView data) {
  m_window.received(uint32_t(data.size()));
  ++m_activity;
  if (m_eof_received || m_close_sent) {
    consumed(data.size());
    return;
  }
  on_extended_data(code, data);
}

void Channel::on_extended_data(uint32_t, ByteView data) {
  // RFC 4254 §5.2: extended data towards a server has no defined use; drop it.
  consumed(data.size());
}

void Channel::handle_window_adjust(uint32_t bytes) {
  // RFC 4254 §5.2: the window may not exceed 2^32 - 1; clamp rather than wrap.
  uint64_t w = uint64_t(m_remote_window) + bytes;
  m_remote_window = uint32_t(std::min<uint64_t>(w, UINT32_MAX));
}

void Channel::handle_eof() {
  if (m_eof_received) return;
  m_eof_received = true;
  on_eof();
}

void Channel::handle_close() {
  if (m_close_received) return;
  m_close_received = true;
  on_close();
  send_close();
}

void Channel::consumed(size_t n) {
  m_window.consumed(n);
  if (m_close_sent || m_close_received || !m_window.adjust_due()) return;
  uint32_t before = m_window.target();
  uint32_t add = m_window.take_adjust(monotonic_us(), m_out.min_rtt_us());
  if (m_window.target() != before)
    log_debug2("channel %u: window grows to %u", m_local_id, m_window.target());
  m_out.send(encode(ChannelWindowAdjustMsg{m_remote_id, add}));
}

size_t Channel::send_room() const {
  if (m_eof_sent || m_close_sent) return 0;
  return std::min<size_t>({m_remote_window, m_remote_max_packet, kMaxSendChunk});
}

void Channel::write_data_header(uint8_t* p, uint32_t ext_code, size_t n) const {
  if (ext_code == 0) {
    p[0] = kMsgChannelData;
    store_be32(p + 1, m_remote_id);
    store_be32(p + 5, uint32_t(n));
  } else {
    p[0] = kMsgChannelExtendedData;
    store_be32(p + 1, m_remote_id);
    store_be32(p + 5, ext_code);
    store_be32(p + 9, uint32_t(n));
  }
}

Channel::FdRead Channel::forward_from_fd(int fd, uint32_t ext_code, bool is_pipe) {
  size_t room = send_room();
  if (room == 0) return FdRead::kAgain;
  size_t header = ext_code == 0 ? kDataHeaderSize : kExtendedDataHeaderSize;
  if (is_pipe && m_out.can_send_direct()) {
    int available = 0;
    if (::ioctl(fd, FIONREAD, &available) == 0 && available > 0) {
      size_t n = std::min(room, size_t(available));
      MutableByteView packet = m_out.begin_packet(header + n);
      write_data_header(packet.data(), ext_code, n);
      ssize_t r = ::read(fd, packet.data() + header, n);
      // We are the pipe's only reader, so the bytes FIONREAD counted are there.
      if (r != ssize_t(n)) throw std::runtime_error("short read from a child pipe");
      m_out.commit_packet();
      m_remote_window -= uint32_t(n);
      ++m_activity;
      return FdRead::kData;
    }
    // Nothing counted: end of file or an error, which the read below tells apart.
  }
  if (m_scratch.size() < header + room) m_scratch.resize(header + room);
  ssize_t r = ::read(fd, m_scratch.data() + header, room);
  if (r > 0) {
    write_data_header(m_scratch.data(), ext_code, size_t(r));
    m_out.send(ByteView(m_scratch.data(), header + size_t(r)));
    m_remote_window -= uint32_t(r);
    ++m_activity;
    return FdRead::kData;
  }
  if (r == 0) return FdRead::kEof;
  if (errno == EAGAIN || errno == EINTR) return FdRead::kAgain;
  // EIO is how a pty master reports that the slave side is gone.
  if (errno != EIO) log_debug("channel %u: read error: %s", m_local_id, strerror(errno));
  return FdRead::kEof;
}

void Channel::send_data(ByteView data, uint32_t ext_code) {
  size_t header = ext_code == 0 ? kDataHeaderSize : kExtendedDataHeaderSize;
  while (!data.empty()) {
    size_t n = std::min(send_room(), data.size());
    if (n == 0) break;
    if (m_scratch.size() < header + n) m_scratch.resize(header + n);
    write_data_header(m_scratch.data(), ext_code, n);
    std::memcpy(m_scratch.data() + header, data.data(), n);
    m_out.send(ByteView(m_scratch.data(), header + n));
    m_remote_window -= uint32_t(n);
    ++m_activity;
    data = data.subspan(n);
  }
}

void Channel::send_eof() {
  if (m_eof_sent || m_close_sent) return;
  m_eof_sent = true;
  m_out.send(encode(ChannelEofMsg{m_remote_id}));
}

void Channel::send_close() {
  if (m_close_sent) return;
  m_close_sent = true;
  m_out.send(encode(ChannelCloseMsg{m_remote_id}));
}

void Channel::reply(bool want_reply, bool ok) {
  if (!want_reply || m_close_sent) return;
  // RFC 4254 §5.4
  m_out.send(ok ? encode(ChannelSuccessMsg{m_remote_id}) : encode(ChannelFailureMsg{m_remote_id}));
}

void Channel::send_request(std::string_view type, Bytes args) {
  if (m_close_sent) return;
  m_out.send(encode(ChannelRequestMsg{m_remote_id, type, false, Rest{std::move(args)}}));
}

}  // namespace postern::session
