// The connection protocol toward an extender (man/postern-bastion.5 EXTENDERS): a stock
// `ssh -N -R 0 dc2@bastion` asks for one dynamic reverse forward ("tcpip-forward", RFC 4254
// §7.1) and keeps the connection. The monitor decides and gives the listening Unix socket; every
// stream accepted there (a user's monitor opening a target via this extender) becomes a
// "forwarded-tcpip" channel toward the client (§7.2), relayed as raw bytes with flow control
// (JumpChannel): the SOCKS5 inside is between the user's monitor and the client. Nothing else
// is served: no session, no channel the client opens, no other global request.
#pragma once

#include <poll.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bastion/jump_channel.h"
#include "common/bytes.h"
#include "common/unique_fd.h"
#include "session/packet_sink.h"

namespace postern::bastion {

class ExtenderConnection {
 public:
  // The monitor's answer to the forward: the listening socket, or why not.
  struct Listening {
    bool allowed = false;
    UniqueFd fd;
    std::string message;
  };
  using Listener = std::function<Listening(const std::string& address, uint32_t port)>;

  static constexpr size_t kMaxChannels = 64;
  // Streams accepted in one poll round: the rest wait in the backlog.
  static constexpr int kAcceptsPerRound = 8;

  // `allocated_port` answers a forward asked for port 0 (§7.1); the client matches the
  // forwarded-tcpip channels by it. Nothing listens on it: it names the forward, no TCP port.
  ExtenderConnection(session::PacketSink& client, Listener listener, uint32_t allocated_port);

  // One message of the client's connection protocol. Throws ProtocolError.
  void from_client(ByteView msg);

  // The poll loop's part: the listening socket (once forwarded) and each channel's socket.
  void add_poll_fds(std::vector<pollfd>& fds, size_t client_backlog) const;
  void handle_poll(const pollfd* fds, size_t count);

  bool forwarding() const { return m_listen_fd.valid(); }
  size_t open_channels() const;

 private:
  struct Slot {
    bool in_use = false;
    UniqueFd pending;                   // accepted, waiting for the client's confirmation
    std::unique_ptr<JumpChannel> open;  // confirmed
  };

  void global_request(ByteView msg);
  void accept_streams();
  void open_confirmed(ByteView msg);
  void open_failed(ByteView msg);
  void channel_message(ByteView msg);
  Slot& slot(uint32_t local_id);

  session::PacketSink& m_client;
  Listener m_listener;
  uint32_t m_allocated_port;
  UniqueFd m_listen_fd;
  std::string m_forward_address;  // as the client sent it: forwarded-tcpip names it back
  uint32_t m_forward_port = 0;    // the port the channels name
  uint32_t m_requested_port = 0;  // as asked (0 for -R 0), for cancel-tcpip-forward
  bool m_refused = false;         // the monitor refused once: it is not asked again
  std::vector<Slot> m_slots;
};

}  // namespace postern::bastion
