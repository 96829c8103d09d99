// The connection protocol toward the client in jump mode (no target in the user name): the
// client's "direct-tcpip" channels (ssh -J, ssh -W) become JumpChannels over the TCP connections
// the monitor opens after its policy check; a "session" channel runs the machine-to-machine
// `certificate` command (certificate_exec.h) or gets the notice of jump_session_notice.h.
// Nothing else is served: global requests are refused.
#pragma once

#include <poll.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bastion/certificate_exec.h"
#include "bastion/jump_channel.h"
#include "common/bytes.h"
#include "common/unique_fd.h"
#include "session/packet_sink.h"

namespace postern::bastion {

class JumpConnection {
 public:
  // The monitor's answer to a direct-tcpip open: the connected socket, or why not.
  struct Opened {
    bool allowed = false;
    UniqueFd fd;
    std::string message;     // refused: one line for the user
    uint32_t target_id = 0;  // the monitor's handle, named again in the channel-close event
  };
  using Opener =
      std::function<Opened(const std::string& host, uint32_t port, const std::string& originator)>;
  using ClosedEvent =
      std::function<void(uint32_t target_id, uint32_t client_channel, uint64_t up, uint64_t down)>;

  static constexpr size_t kMaxChannels = 64;  // the monitor opens at most 64 targets

  JumpConnection(session::PacketSink& client, Opener opener, ClosedEvent closed,
                 std::string notice);

  // Where `certificate TARGETUSER@TARGET` goes; without one, that command gets the notice too.
  void set_certificate_issuer(CertificateExec::Issuer issuer) { m_issuer = std::move(issuer); }

  // One message of the client's connection protocol. Throws ProtocolError.
  void from_client(ByteView msg);

  // The poll loop's part: appends one pollfd per channel socket that wants events, then hands
  // the results back (same order) and forgets the channels that finished.
  void add_poll_fds(std::vector<pollfd>& fds, size_t client_backlog) const;
  void handle_poll(const pollfd* fds, size_t count);

  size_t open_channels() const;

 private:
  struct Slot {
    bool in_use = false;
    uint32_t client_id = 0;
    uint32_t target_id = 0;                        // the monitor's, for the channel-close event
    uint32_t client_window = 0;                    // notice channels: what the client lets us write
    uint32_t client_max_packet = 0;                // session channels
    bool notice_closed = false;                    // notice channels: our CLOSE went
    std::unique_ptr<JumpChannel> jump;             // null: a session channel
    std::unique_ptr<CertificateExec> certificate;  // a session channel's certificate command
  };

  Slot& slot(uint32_t local_id);
  void open(ByteView msg);
  void channel_message(ByteView msg);
  void release(uint32_t local_id);
  void session_request(Slot& s, ByteView msg);

  session::PacketSink& m_client;
  Opener m_opener;
  ClosedEvent m_closed;
  std::string m_notice;
  CertificateExec::Issuer m_issuer;
  std::vector<Slot> m_slots;
};

}  // namespace postern::bastion
