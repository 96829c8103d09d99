// One end of an SSH channel (RFC 4254 §5): the ids on both sides, window flow control in both
// directions, EOF/CLOSE bookkeeping, and the data path between a file descriptor and
// CHANNEL_DATA packets. Channel types (session, forwarding, tun) derive from it.
#pragma once

#include <poll.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/wire.h"
#include "session/packet_sink.h"
#include "session/receive_window.h"

namespace postern::session {

// The largest data payload we put in one packet, whatever the peer allows.
inline constexpr uint32_t kMaxSendChunk = 64 * 1024;
// Stop reading from local fds while this much is already queued for the peer.
inline constexpr size_t kMaxQueuedOutput = 1024 * 1024;

// Poll registrations of all channels for one loop iteration: the pollfd entries and, at the
// same index, which channel asked for them with a channel-specific tag.
class Channel;
struct PollTarget {
  Channel* channel;
  int tag;
};
class PollSet {
 public:
  void add(int fd, short events, Channel* channel, int tag) {
    m_fds.push_back(pollfd{fd, events, 0});
    m_targets.push_back(PollTarget{channel, tag});
  }
  std::vector<pollfd>& fds() { return m_fds; }
  std::vector<PollTarget>& targets() { return m_targets; }
  void clear() {
    m_fds.clear();
    m_targets.clear();
  }

 private:
  std::vector<pollfd> m_fds;
  std::vector<PollTarget> m_targets;
};

class Channel {
 public:
  // `scratch` is a connection-wide buffer for building messages, grown on first need (to at most
  // kExtendedDataHeaderSize + kMaxSendChunk) and then reused without allocating.
  Channel(PacketSink& out, Bytes& scratch, uint32_t local_id, uint32_t remote_id,
          uint32_t remote_window, uint32_t remote_max_packet);
  virtual ~Channel() = default;
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  uint32_t local_id() const { return m_local_id; }
  uint32_t remote_id() const { return m_remote_id; }
  uint32_t local_window() const { return m_window.available(); }

  // Messages from the peer addressed to this channel.
  void handle_data(ByteView data);
  void handle_extended_data(uint32_t code, ByteView data);
  void handle_window_adjust(uint32_t bytes);
  void handle_eof();
  void handle_close();
  // CHANNEL_REQUEST (RFC 4254 §5.4); `args` is the request-specific data, decoded by the
  // channel type with the structs of channel_requests.h.
  virtual void handle_request(std::string_view type, bool want_reply, ByteView args) = 0;

  // The poll loop: register fds of interest, then receive what poll reported for them.
  virtual void add_pollfds(PollSet& set) = 0;
  virtual void on_poll(int tag, short revents) = 0;

  // Both sides sent CLOSE: the channel can be forgotten (RFC 4254 §5.3). A channel whose open
  // failed is finished too (forwarding channels decide that themselves).
  virtual bool finished() const { return m_close_sent && m_close_received; }

  // ChannelTimeout (channel_timeout.h): the type the timeout is looked up by ("" before it is
  // known), a counter that moves with every data packet either way, and the close itself.
  const std::string& timeout_type() const { return m_timeout_type; }
  void set_timeout_type(std::string type) { m_timeout_type = std::move(type); }
  // Since when (by the caller's clock) no data has moved; the first call starts the clock.
  uint64_t idle_since(uint64_t now) {
    if (m_idle_since == 0 || m_activity != m_activity_seen) {
      m_activity_seen = m_activity;
      m_idle_since = now;
    }
    return m_idle_since;
  }
  void close_for_timeout() { send_close(); }
  bool close_sent() const { return m_close_sent; }

 protected:
  // Data for the channel's consumer. The implementation calls consumed() for every byte it
  // delivered or discarded, which is what opens the window again.
  virtual void on_data(ByteView data) = 0;
  virtual void on_extended_data(uint32_t code, ByteView data);
  virtual void on_eof() {}
  // The peer closed: release local resources. CLOSE is answered by the base class afterwards.
  virtual void on_close() {}

  void consumed(size_t n);
  // How many data bytes we may send now: the peer's window and maximum packet size.
  size_t send_room() const;
  bool output_congested() const { return m_out.queued_bytes() >= kMaxQueuedOutput; }

  enum class FdRead { kData, kAgain, kEof };
  // Reads from `fd` what fits in send_room() and sends it as CHANNEL_DATA (ext_code 0) or
  // CHANNEL_EXTENDED_DATA. `is_pipe` allows reading straight into the transport's packet
  // buffer: a pipe with one reader returns exactly what FIONREAD reports.
  FdRead forward_from_fd(int fd, uint32_t ext_code, bool is_pipe);
  void send_data(ByteView data, uint32_t ext_code = 0);
  void send_eof();
  void send_close();
  void reply(bool want_reply, bool ok);
  // CHANNEL_REQUEST without reply; `Req` is one of channel_requests.h.
  template <typename Req>
  void send_request(Req req) {
    send_request(Req::kRequest, encode(req));
  }

  PacketSink& out() { return m_out; }
  // A channel we opened learns the peer's side from OPEN_CONFIRMATION (RFC 4254 §5.1).
  void set_remote(uint32_t remote_id, uint32_t remote_window, uint32_t remote_max_packet) {
    m_remote_id = remote_id;
    m_remote_window = remote_window;
    m_remote_max_packet = remote_max_packet;
  }
  bool eof_sent() const { return m_eof_sent; }
  bool eof_received() const { return m_eof_received; }
  bool close_received() const { return m_close_received; }

 private:
  void write_data_header(uint8_t* p, uint32_t ext_code, size_t n) const;
  void send_request(std::string_view type, Bytes args);

  PacketSink& m_out;
  Bytes& m_scratch;
  uint32_t m_local_id;
  uint32_t m_remote_id;
  uint32_t m_remote_window;
  uint32_t m_remote_max_packet;
  ReceiveWindow m_window;
  bool m_eof_sent = false;
  bool m_close_sent = false;
  bool m_eof_received = false;
  bool m_close_received = false;
  uint64_t m_activity = 0;
  uint64_t m_activity_seen = 0;
  uint64_t m_idle_since = 0;
  std::string m_timeout_type;
};

}  // namespace postern::session
