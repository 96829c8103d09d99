#include "session/tun_forward.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/be_bytes.h"
#include "common/log.h"
#include "common/protocol_error.h"
#include "session/connection.h"
#include "session/connection_messages.h"

namespace postern::session {
namespace {

// Packets read from the device per wakeup before other fds get their turn.
constexpr int kReadsPerWakeup = 16;

}  // namespace

int tun_frame_header(uint32_t mode, ByteView packet, uint8_t* hdr) {
  if (packet.empty() || packet.size() > kTunMaxPacket) return -1;
  if (mode == kTunEthernet) return 0;
  // The device carries no packet information (IFF_NO_PI): the IP version says the family.
  switch (packet[0] >> 4) {
    case 4:
      store_be32(hdr, kTunAfInet);
      return 4;
    case 6:
      store_be32(hdr, kTunAfInet6);
      return 4;
    default:
      return -1;
  }
}

bool tun_unwrap(uint32_t mode, ByteView message, ByteView& packet) {
  if (mode == kTunPointToPoint) {
    if (message.size() < 4) return false;
    uint32_t af = load_be32(message.data());
    if (af != kTunAfInet && af != kTunAfInet6) return false;
    message = message.subspan(4);
  }
  if (message.empty() || message.size() > kTunMaxPacket) return false;
  packet = message;
  return true;
}

TunChannel::TunChannel(PacketSink& out, Bytes& scratch, uint32_t local_id, uint32_t remote_id,
                       uint32_t remote_window, uint32_t remote_max_packet, uint32_t mode,
                       UniqueFd device, std::string ifname)
    : Channel(out, scratch, local_id, remote_id, remote_window, remote_max_packet),
      m_mode(mode),
      m_fd(std::move(device)),
      m_ifname(std::move(ifname)),
      m_max_message(std::min<size_t>(remote_max_packet, kMaxSendChunk)) {
  // One read or write per packet, never blocking the connection.
  ::fcntl(m_fd.get(), F_SETFL, ::fcntl(m_fd.get(), F_GETFL) | O_NONBLOCK);
  m_frame.resize(kTunMaxHeader + kTunMaxPacket);
  set_timeout_type("tun-connection");  // ChannelTimeout's name for these channels
}

void TunChannel::handle_request(std::string_view type, bool want_reply, ByteView) {
  // PROTOCOL §2.3 defines no channel requests for tunnels.
  log_debug("channel %u: tun: request %.*s refused", local_id(), int(type.size()), type.data());
  reply(want_reply, false);
}

void TunChannel::on_data(ByteView data) {
  ByteView packet;
  if (m_fd && tun_unwrap(m_mode, data, packet)) {
    // A packet the device cannot take is lost as on a wire: a full queue (EAGAIN), the
    // interface still down (EIO), a size it refuses. A device that went away shows on read.
    if (::write(m_fd.get(), packet.data(), packet.size()) < 0) {
      ++m_dropped;
      log_debug3("channel %u: tun %s: write: %s", local_id(), m_ifname.c_str(),
                 std::strerror(errno));
    }
  } else if (m_fd) {
    ++m_dropped;
    log_debug3("channel %u: tun %s: dropped a message of %zu bytes", local_id(), m_ifname.c_str(),
               data.size());
  }
  consumed(data.size());
}

void TunChannel::shut(const char* why) {
  if (!m_fd) return;
  log_debug("channel %u: tun %s: %s", local_id(), m_ifname.c_str(), why);
  m_fd.reset();
  m_frame_len = 0;
  send_eof();
  send_close();
}

void TunChannel::on_eof() {
  // The client sends no more packets; a tunnel is no use half open.
  shut("client sent EOF");
}

void TunChannel::on_close() {
  m_fd.reset();
  m_frame_len = 0;
}

bool TunChannel::send_pending() {
  if (m_frame_len == 0) return true;
  if (m_frame_len > m_max_message) {
    // Bigger than the client takes in one message: a datagram cannot be split, so it is lost.
    ++m_dropped;
    m_frame_len = 0;
    return true;
  }
  if (send_room() < m_frame_len) return false;
  send_data(ByteView(m_frame.data() + m_frame_off, m_frame_len));
  m_frame_len = 0;
  return true;
}

void TunChannel::read_device() {
  for (int i = 0; i < kReadsPerWakeup && m_fd; ++i) {
    if (!send_pending() || output_congested()) return;
    ssize_t r = ::read(m_fd.get(), m_frame.data() + kTunMaxHeader, kTunMaxPacket);
    if (r < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      shut(std::strerror(errno));
      return;
    }
    if (r == 0) {
      shut("device closed");
      return;
    }
    ByteView packet(m_frame.data() + kTunMaxHeader, size_t(r));
    uint8_t hdr[kTunMaxHeader];
    int h = tun_frame_header(m_mode, packet, hdr);
    if (h < 0) {
      ++m_dropped;  // not IP: nothing the channel can carry
      continue;
    }
    // The header goes right before the packet, so the message is one contiguous piece.
    m_frame_off = kTunMaxHeader - size_t(h);
    std::memcpy(m_frame.data() + m_frame_off, hdr, size_t(h));
    m_frame_len = size_t(h) + size_t(r);
  }
  send_pending();
}

void TunChannel::add_pollfds(PollSet& set) {
  if (!m_fd || close_sent()) return;
  // A packet waiting for the window holds back the next read.
  if (!send_pending()) return;
  if (send_room() > 0 && !output_congested()) set.add(m_fd.get(), POLLIN, this, 0);
}

void TunChannel::on_poll(int, short revents) {
  if (revents == 0 || !m_fd) return;
  read_device();
}

// PROTOCOL §2.3: uint32 tunnel mode, uint32 remote unit number (0x7fffffff: any).
void Connection::open_tun_channel(ChannelOpenMsg& m) {
  Reader r(m.data.bytes);
  uint32_t mode = r.u32();
  uint32_t unit = r.u32();
  r.expect_done("tun@openssh.com");
  log_debug("server_request_tun: mode %u unit %u", mode, unit);
  auto refuse = [&](uint32_t reason, const char* why) {
    ChannelOpenFailureMsg f{m.sender_channel, reason, why, ""};
    m_out.send(encode(f));
  };
  auto tun = m_privileged.open_tun(mode, unit);
  if (!tun) {
    log_debug("tun@openssh.com refused: %s", tun.error().message.c_str());
    refuse(kOpenAdministrativelyProhibited, "open failed");
    return;
  }
  long id = free_channel_id();
  if (id < 0) {
    refuse(kOpenResourceShortage, "too many channels");
    return;
  }
  log_verbose("Tunnel forwarding using interface %s", tun->name.c_str());
  m_channels[size_t(id)] = std::make_unique<TunChannel>(
      m_out, m_scratch, uint32_t(id), m.sender_channel, m.initial_window, m.max_packet, mode,
      std::move(tun->fd), std::move(tun->name));
  ChannelOpenConfirmationMsg c{m.sender_channel, uint32_t(id), kInitialWindow, kLocalMaxPacket};
  m_out.send(encode(c));
}

}  // namespace postern::session
