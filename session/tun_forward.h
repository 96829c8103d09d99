// tun@openssh.com channels (OpenSSH PROTOCOL §2.3, ssh -w): packets between a tun/tap device
// the monitor opened (PrivilegedOps::open_tun, after its PermitTunnel and key checks) and the
// channel, one packet per CHANNEL_DATA message.
#pragma once

#include <cstdint>
#include <string>

#include "common/bytes.h"
#include "common/unique_fd.h"
#include "session/channel.h"

namespace postern::session {

// PROTOCOL §2.3 tunnel modes and address families.
inline constexpr uint32_t kTunPointToPoint = 1;
inline constexpr uint32_t kTunEthernet = 2;
inline constexpr uint32_t kTunAfInet = 2;
inline constexpr uint32_t kTunAfInet6 = 24;
// The largest packet (or frame) accepted from either side: a tun device's MTU is at most 65535,
// an ethernet frame adds its header.
inline constexpr size_t kTunMaxPacket = 65535 + 18;
// The largest header: the uint32 address family of point-to-point mode.
inline constexpr size_t kTunMaxHeader = 4;

// The channel carries datagrams: one packet per CHANNEL_DATA message, whose data string is
// PROTOCOL §2.3's "uint32 packet length" and the bytes after it — for point-to-point a uint32
// address family and the IP packet, for ethernet the frame. (ssh(1) sends and expects exactly
// that: a tun channel's data is never split or joined.)

// The header for one packet read from the device: writes it into `hdr` and returns its size (4
// point-to-point, 0 ethernet), or -1 when the packet cannot be carried (point-to-point and
// neither IPv4 nor IPv6, empty, or too big).
int tun_frame_header(uint32_t mode, ByteView packet, uint8_t* hdr);

// The packet in one CHANNEL_DATA message from the client, or false to drop the message (an
// address family other than IPv4/IPv6, a message shorter than its header, empty or too big).
bool tun_unwrap(uint32_t mode, ByteView message, ByteView& packet);

// The channel: reads packets from the device and sends each as one message, writes the client's
// packets to the device one write each. A packet the device cannot take right now is dropped,
// as a network would; the window is given back at once, so the client is never stalled by it.
class TunChannel final : public Channel {
 public:
  TunChannel(PacketSink& out, Bytes& scratch, uint32_t local_id, uint32_t remote_id,
             uint32_t remote_window, uint32_t remote_max_packet, uint32_t mode, UniqueFd device,
             std::string ifname);

  void handle_request(std::string_view type, bool want_reply, ByteView args) override;
  void add_pollfds(PollSet& set) override;
  void on_poll(int tag, short revents) override;

  const std::string& ifname() const { return m_ifname; }

 protected:
  void on_data(ByteView data) override;
  void on_eof() override;
  void on_close() override;

 private:
  void read_device();
  // Sends the packet read last, once the window has room for all of it; true when it is out
  // (or had to be dropped).
  bool send_pending();
  void shut(const char* why);

  uint32_t m_mode;
  UniqueFd m_fd;
  std::string m_ifname;
  size_t m_max_message;    // the client's maximum packet size (bounded by our send chunk)
  Bytes m_frame;           // room for a header and a packet read from the device
  size_t m_frame_off = 0;  // where the message (header, packet) starts in m_frame
  size_t m_frame_len = 0;  // 0: nothing waiting
  size_t m_dropped = 0;
};

}  // namespace postern::session
