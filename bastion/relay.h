// The direct-mode relay (BASTION.md "Processes"): the connection protocol (RFC 4254) between the
// client, who logged in to the bastion, and the target the bastion logged in to for them. Free of
// I/O: messages in through from_client()/from_target(), messages out through two PacketSinks, so
// tests drive it with fabricated messages.
//
// Every channel keeps one local number, the bastion's own, on both sides: a message the client
// addresses to it goes to the target under the target's number and the other way round. Windows
// and maximum packet sizes pass through end to end, so the bastion holds no more than the
// receiver allowed; it checks them, so a side that overruns a window is a protocol error and not
// a buffer. Requests that open a way into the target (shell, exec, sftp, scp, agent, x11,
// direct-tcpip, remote-forward) are decided by the monitor first (RelayMonitor).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bastion/file_event.h"
#include "bastion/scp_observer.h"
#include "bastion/sftp_observer.h"
#include "common/bytes.h"
#include "session/connection_messages.h"
#include "session/packet_sink.h"

namespace postern::bastion {

// The target broke the protocol. The caller disconnects the client with "connection to target
// ... lost: <what>", instead of the client being blamed for it.
class TargetProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A recorded session channel's recording (asciicast v2; asciicast_recording.h writes it). The
// relay feeds it what passes; it decides what it keeps (input only with record_input) and never
// blocks. Destroying it ends the recording (the file is complete before the close event).
class ChannelRecording {
 public:
  virtual ~ChannelRecording() = default;
  virtual void output(ByteView data) = 0;  // target to client: stdout and stderr
  virtual void input(ByteView data) = 0;   // client to target
  virtual void resize(uint32_t cols, uint32_t rows) = 0;
};

// What the client's pty-req said (RFC 4254 §6.2), for the recording's header.
struct TerminalSize {
  uint32_t cols = 80, rows = 24;
  std::string term;
};

// What the relay asks and reports outside itself: the monitor in sshd-bastion, a fake in tests.
class RelayMonitor {
 public:
  struct Decision {
    bool allowed = false;
    std::string message;  // refused: one line for the user
    // sftp, scp: the policy records file transfers (`sftp` in `record`): the relay reports
    // what it sees as file events.
    bool observe_files = false;
  };
  virtual ~RelayMonitor() = default;
  // kind: shell, exec, scp, sftp, agent, x11, direct-tcpip, remote-forward.
  virtual Decision decide(uint32_t client_channel, std::string_view kind,
                          std::string_view detail) = 0;
  struct RecordingStart {
    bool refused = false;  // the policy wants a recording and it cannot be made
    std::string message;   // refused: one line for the user
    std::unique_ptr<ChannelRecording> recording;  // null: the channel is not recorded
  };
  // After a shell or exec was allowed, before it reaches the target. kind: shell, exec.
  virtual RecordingStart start_recording(uint32_t client_channel, std::string_view kind,
                                         const TerminalSize& terminal, std::string_view command) {
    (void)client_channel, (void)kind, (void)terminal, (void)command;
    return {};
  }
  // What an observed sftp or scp channel did to a file (sftp_observer.h, scp_observer.h).
  virtual void file_event(uint32_t client_channel, const FileEvent& e) {
    (void)client_channel, (void)e;
  }
  // exit_status: "" when none, "0", "1", "signal TERM".
  virtual void channel_closed(uint32_t client_channel, uint64_t bytes_up, uint64_t bytes_down,
                              const std::string& exit_status) = 0;
};

// An observed sftp or scp channel: the observer and where its events go.
struct ChannelFileEvents : FileEventSink {
  ChannelFileEvents(RelayMonitor& m, uint32_t channel) : monitor(m), client_channel(channel) {}
  void file_event(const FileEvent& e) override { monitor.file_event(client_channel, e); }
  RelayMonitor& monitor;
  uint32_t client_channel;
  std::unique_ptr<SftpObserver> sftp;  // one of the two
  std::unique_ptr<ScpObserver> scp;
};

class Relay {
 public:
  // The most channels open at once; a client asking for more gets OPEN_FAILURE.
  static constexpr size_t kMaxChannels = 256;
  // Requests awaiting a reply, per channel and direction and for global requests; a peer that
  // sends more without reading replies is a protocol error, not a growing queue.
  static constexpr size_t kMaxPendingReplies = 1024;

  Relay(session::PacketSink& client, session::PacketSink& target, RelayMonitor& monitor);

  // A session channel the client opened before the relay existed (the pty picker's, in jump
  // mode; adopted_channel.h): it keeps `local_id`, the number the client knows, and is opened on
  // the target now. `open` carries the client's channel number, the window it still grants and
  // its packet size. The target's confirmation goes to the client sink like any other.
  void adopt_client_channel(uint32_t local_id, session::ChannelOpenMsg open);

  // One message from the client's connection protocol. Throws ProtocolError (the client's).
  void from_client(ByteView msg);
  // One message from the target's. Throws TargetProtocolError.
  void from_target(ByteView msg);
  // The target is gone: CHANNEL_CLOSE to the client for each channel still open there, and
  // the channel-close events. The caller then disconnects the client.
  void target_lost();

  size_t open_channels() const;

 private:
  // kLocalRefusedCommand: a refused shell/exec/subsystem that wanted a reply: it is answered
  // with success and the channel then ends like a command that failed (exit-status 1), because
  // clients exit at once on a failure reply, before they print the refusal's stderr line.
  enum class Reply : uint8_t { kForwarded, kLocalSuccess, kLocalFailure, kLocalRefusedCommand };
  enum class Side : uint8_t { kClient, kTarget };
  struct Channel {
    bool in_use = false;
    bool confirmed = false;
    bool opened_by_client = true;
    bool session = false;
    uint32_t client_id = 0;  // the client's number for it
    uint32_t target_id = 0;  // the target's
    // Bytes each side may still send (the other side's window, as it granted it).
    uint64_t window_to_target = 0;
    uint64_t window_to_client = 0;
    bool close_from_client = false, close_from_target = false;
    bool close_to_client = false, close_to_target = false;
    uint64_t bytes_up = 0, bytes_down = 0;
    std::string exit_status;
    TerminalSize terminal;
    std::unique_ptr<ChannelRecording> recording;
    std::unique_ptr<ChannelFileEvents> files;  // an observed sftp or scp channel
    // Replies owed to each side for its requests, in the order it made them.
    std::deque<Reply> replies_to_client, replies_to_target;
  };

  void client_message(ByteView msg);
  void target_message(ByteView msg);

  // Channel lifetime.
  Channel& channel(uint32_t local_id, Side from);
  uint32_t allocate();
  void client_open(ByteView msg);
  void target_open(ByteView msg);
  void open_confirmation(ByteView msg, Side from);
  void open_failure(ByteView msg, Side from);
  void close(ByteView msg, Side from);
  void send_close(uint32_t local_id, Side to);
  void release_if_done(uint32_t local_id);
  void report_channel_closed(Channel& ch);

  // Data and windows.
  void data(ByteView msg, Side from, bool extended);
  void window_adjust(ByteView msg, Side from);
  void eof(ByteView msg, Side from);

  // Channel requests (relay_channel_request.cpp).
  void channel_request(ByteView msg, Side from);
  void channel_reply(ByteView msg, Side from);
  bool policy_allows_request(uint32_t local_id, const std::string& request, ByteView data,
                             bool want_reply);
  void observe_files(Channel& ch, const std::string& kind, const std::string& command);
  void refuse_command(uint32_t local_id, const std::string& message, bool want_reply);
  void note_target_request(Channel& ch, const std::string& request, ByteView data);
  void note_client_request(Channel& ch, const std::string& request, ByteView data);
  void answer_locally(std::deque<Reply>& queue, Reply r, uint32_t local_id, Side to);
  void flush_local_replies(std::deque<Reply>& queue, uint32_t local_id, Side to);
  void end_refused_command(uint32_t local_id);

  // Global requests.
  void global_request(ByteView msg, Side from);
  void global_reply(ByteView msg, Side from);
  void flush_global_replies(std::deque<Reply>& queue, Side to);

  // Sends `msg` to `to` with its recipient channel (bytes 1..4) replaced: one copy, straight
  // into the transport's output when it can take it.
  void forward(Side to, ByteView msg, uint32_t recipient);
  session::PacketSink& sink(Side s) { return s == Side::kClient ? m_client : m_target; }
  uint32_t peer_id(const Channel& ch, Side to) const {
    return to == Side::kClient ? ch.client_id : ch.target_id;
  }

  session::PacketSink& m_client;
  session::PacketSink& m_target;
  RelayMonitor& m_monitor;
  std::vector<Channel> m_channels;
  std::deque<Reply> m_global_to_client, m_global_to_target;
  // What the policy allowed, so the target may open the matching channels toward the client
  // (forwarded-tcpip, auth-agent@openssh.com, x11) and nothing else.
  bool m_remote_forward_allowed = false;
  bool m_agent_allowed = false;
  bool m_x11_allowed = false;
  Bytes m_scratch;  // forward()'s copy when the transport cannot take a packet directly
};

}  // namespace postern::bastion
