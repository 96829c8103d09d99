// The connection protocol toward the client in jump mode (no target in the user name): the
// client's "direct-tcpip" channels (ssh -J, ssh -W) become JumpChannels over the TCP connections
// the monitor opens after its policy check; a "session" channel runs the machine-to-machine
// `certificate` command (certificate_exec.h), the full-screen target picker when it asked for a
// pty and a shell (pty_picker_channel.h; the choice is handed to the relay), or gets the one
// line of jump_session_notice.h. Nothing else is served: global requests are refused.
#pragma once

#include <poll.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bastion/certificate_exec.h"
#include "bastion/jump_channel.h"
#include "bastion/pty_picker_channel.h"
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
  // The one line a session that cannot pick gets (no line ending).
  using Notice = std::function<std::string()>;
  // The picker's two questions to the monitor (PICKER_LIST, PICKER_CHOOSE).
  struct Picker {
    std::function<PickerList()> list;
    PtyPickerChannel::Choose choose;
  };

  static constexpr size_t kMaxChannels = 64;  // the monitor opens at most 64 targets

  JumpConnection(session::PacketSink& client, Opener opener, ClosedEvent closed, Notice notice);

  // Where `certificate TARGETUSER@TARGET` goes; without one, that command gets the notice too.
  void set_certificate_issuer(CertificateExec::Issuer issuer) { m_issuer = std::move(issuer); }
  // Where a pty session's shell finds its targets; without one, it gets the notice.
  void set_picker(Picker picker) { m_picker = std::move(picker); }

  // The clock the picker's Esc key needs (a lone ESC is Esc after a moment): the poll loop sets
  // it before each round, and waits no longer than timeout_ms().
  void tick(uint64_t now_ms);
  int timeout_ms() const;
  // A choice the monitor allowed: the session channel is no longer this connection's; the
  // caller logs in to the target and hands the channel to the relay.
  std::optional<PickedSession> take_picked() { return std::exchange(m_picked, std::nullopt); }

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
    std::unique_ptr<PtyPickerChannel> picker;      // a session channel's full-screen picker
    // A session channel's requests before its shell, replayed on the target after a pick.
    std::vector<std::pair<std::string, Bytes>> requests;
    size_t request_bytes = 0;
    bool pty = false;
    uint32_t cols = 80, rows = 24;
  };
  // Bounds on what a session channel's requests keep for the replay.
  static constexpr size_t kMaxKeptRequests = 64;
  static constexpr size_t kMaxKeptRequestBytes = 64 * 1024;

  Slot& slot(uint32_t local_id);
  void open(ByteView msg);
  void channel_message(ByteView msg);
  void release(uint32_t local_id);
  void session_request(Slot& s, ByteView msg);
  bool keep_request(Slot& s, const std::string& name, ByteView data);
  bool start_picker(Slot& s);
  void picker_message(Slot& s, uint8_t type, Reader& r, ByteView msg);
  void after_picker(Slot& s);

  session::PacketSink& m_client;
  Opener m_opener;
  ClosedEvent m_closed;
  Notice m_notice;
  CertificateExec::Issuer m_issuer;
  Picker m_picker;
  std::optional<PickedSession> m_picked;
  uint64_t m_now_ms = 0;
  std::vector<Slot> m_slots;
};

}  // namespace postern::bastion
