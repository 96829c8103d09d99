// The relay's channel requests (RFC 4254 §5.4, §6): the policy check before a request that
// starts something on the target, the replies kept in order, and the exit status noted for the
// audit.
#include <cstring>

#include "bastion/relay.h"
#include "common/be_bytes.h"
#include "common/ssh_msg.h"
#include "common/wire.h"
#include "session/connection_messages.h"

namespace postern::bastion {

namespace {

// What the monitor is asked for a client's request on a session channel, or kind "" when the
// request needs no decision (pty-req, env, window-change, signal, keepalive ...).
struct RequestKind {
  std::string kind;
  std::string detail;
};

RequestKind classify(const std::string& request, ByteView data) {
  Reader r(data);
  if (request == "shell") return {"shell", ""};
  if (request == "exec") {
    // RFC 4254 §6.5; scp runs as "scp -t/-f PATH" on the far end.
    std::string command(r.text());
    bool scp = command.rfind("scp ", 0) == 0;
    return {scp ? "scp" : "exec", command};
  }
  if (request == "subsystem") {
    std::string name(r.text(1024));
    // Any other subsystem runs a program on the target just as exec does.
    if (name == "sftp") return {"sftp", name};
    return {"exec", "subsystem " + name};
  }
  if (request == "auth-agent-req@openssh.com") return {"agent", ""};  // PROTOCOL.agent
  if (request == "x11-req") return {"x11", ""};                       // RFC 4254 §6.3.1
  return {};
}

bool is_command(const std::string& request) {
  return request == "shell" || request == "exec" || request == "subsystem";
}

}  // namespace

void Relay::channel_request(ByteView msg, Side from) {
  auto req = decode<session::ChannelRequestMsg>(msg);
  uint32_t id = req.recipient_channel;
  Channel& ch = channel(id, from);
  if (!ch.confirmed) throw ProtocolError("request on a channel not yet open");
  Side to = from == Side::kClient ? Side::kTarget : Side::kClient;
  // Replies owed to the requester.
  std::deque<Reply>& queue = from == Side::kClient ? ch.replies_to_client : ch.replies_to_target;
  if (req.want_reply && queue.size() >= kMaxPendingReplies)
    throw ProtocolError("too many channel requests awaiting a reply");
  const std::string& name = req.request.value;
  if (from == Side::kClient && ch.session &&
      !policy_allows_request(id, name, req.data.bytes, req.want_reply))
    return;
  if (from == Side::kTarget) note_target_request(ch, name, req.data.bytes);
  if (from == Side::kClient && ch.session) note_client_request(ch, name, req.data.bytes);
  if (to == Side::kClient ? ch.close_to_client : ch.close_to_target) {
    // The receiver's end is closing: answer for it, in order.
    if (req.want_reply) answer_locally(queue, Reply::kLocalFailure, id, from);
    return;
  }
  if (req.want_reply) queue.push_back(Reply::kForwarded);
  forward(to, msg, peer_id(ch, to));
}

bool Relay::policy_allows_request(uint32_t local_id, const std::string& request, ByteView data,
                                  bool want_reply) {
  RequestKind k = classify(request, data);
  if (k.kind.empty()) return true;
  Channel& ch = m_channels[local_id];
  auto d = m_monitor.decide(ch.client_id, k.kind, k.detail);
  if (d.allowed && (k.kind == "shell" || k.kind == "exec") && !ch.recording) {
    auto rec = m_monitor.start_recording(ch.client_id, k.kind, ch.terminal, k.detail);
    if (rec.refused) d = {false, rec.message};
    ch.recording = std::move(rec.recording);
  }
  if (d.allowed && d.observe_files) observe_files(ch, k.kind, k.detail);
  if (d.allowed) {
    if (k.kind == "agent") m_agent_allowed = true;
    if (k.kind == "x11") m_x11_allowed = true;
    return true;
  }
  if (is_command(request))
    refuse_command(local_id, d.message, want_reply);
  else if (want_reply)
    answer_locally(ch.replies_to_client, Reply::kLocalFailure, local_id, Side::kClient);
  return false;
}

// An allowed sftp subsystem or legacy scp exec whose transfers the policy records (`sftp` in
// `record`): the channel's data goes past an observer as well (sftp_observer.h, scp_observer.h).
void Relay::observe_files(Channel& ch, const std::string& kind, const std::string& command) {
  if (ch.files) return;
  auto files = std::make_unique<ChannelFileEvents>(m_monitor, ch.client_id);
  if (kind == "sftp")
    files->sftp = std::make_unique<SftpObserver>(*files);
  else if (kind == "scp")
    files->scp = ScpObserver::for_command(command, *files);
  if (files->sftp || files->scp) ch.files = std::move(files);
}

// A refused shell, exec or subsystem: ssh shows extended data on stderr, where a bare
// CHANNEL_FAILURE only says "exec request failed". The line uses the client's window, which
// the target does not know about; the channel ends here, so the target sends nothing into it.
void Relay::refuse_command(uint32_t local_id, const std::string& message, bool want_reply) {
  Channel& ch = m_channels[local_id];
  std::string line = message + "\r\n";
  if (line.size() <= ch.window_to_client) {
    ch.window_to_client -= line.size();
    Writer w;
    w.u8(kMsgChannelExtendedData).u32(ch.client_id).u32(session::kExtendedDataStderr);
    w.string(line);
    m_client.send(w.buffer());
  }
  if (want_reply) {
    answer_locally(ch.replies_to_client, Reply::kLocalRefusedCommand, local_id, Side::kClient);
    return;
  }
  end_refused_command(local_id);
}

// The channel ends the way a command that failed ends it: exit-status 1, EOF, close.
void Relay::end_refused_command(uint32_t local_id) {
  Channel& ch = m_channels[local_id];
  Writer status;
  status.u8(kMsgChannelRequest).u32(ch.client_id).string("exit-status").boolean(false).u32(1);
  m_client.send(status.buffer());
  ch.exit_status = std::to_string(1);  // (a literal trips GCC 12's false -Wrestrict)
  m_client.send(encode(session::ChannelEofMsg{ch.client_id}));
  send_close(local_id, Side::kClient);
  send_close(local_id, Side::kTarget);
}

// RFC 4254 §6.10: how the command on the target ended, for the channel-close event.
void Relay::note_target_request(Channel& ch, const std::string& request, ByteView data) {
  Reader r(data);
  if (request == "exit-status") {
    ch.exit_status = std::to_string(r.u32());
  } else if (request == "exit-signal") {
    std::string sig(r.text(64));
    ch.exit_status = "signal " + sig;
  }
}

// The terminal a pty-req asks for (RFC 4254 §6.2) goes in the recording's header; a
// window-change (§6.7) is a resize event in it.
void Relay::note_client_request(Channel& ch, const std::string& request, ByteView data) {
  try {
    Reader r(data);
    if (request == "pty-req") {
      ch.terminal.term = std::string(r.text(256));
      ch.terminal.cols = r.u32();
      ch.terminal.rows = r.u32();
    } else if (request == "window-change" && ch.recording) {
      uint32_t cols = r.u32(), rows = r.u32();
      ch.recording->resize(cols, rows);
    }
  } catch (const ProtocolError&) {
    // A malformed request is the target's to refuse; the recording keeps what it had.
  }
}

void Relay::channel_reply(ByteView msg, Side from) {
  if (msg.size() != 5) throw ProtocolError("bad channel request reply");
  uint32_t id = load_be32(msg.data() + 1);
  Channel& ch = channel(id, from);
  Side to = from == Side::kClient ? Side::kTarget : Side::kClient;
  // The reply answers the other side's oldest request on this channel (RFC 4254 §5.4).
  std::deque<Reply>& queue = to == Side::kClient ? ch.replies_to_client : ch.replies_to_target;
  if (queue.empty() || queue.front() != Reply::kForwarded)
    throw ProtocolError("channel request reply without a request");
  queue.pop_front();
  if (!(to == Side::kClient ? ch.close_to_client : ch.close_to_target))
    forward(to, msg, peer_id(ch, to));
  flush_local_replies(queue, id, to);
}

void Relay::answer_locally(std::deque<Reply>& queue, Reply r, uint32_t local_id, Side to) {
  queue.push_back(r);
  flush_local_replies(queue, local_id, to);
}

// Local answers wait behind replies still owed by the far side, so the requester sees them in
// the order it asked.
void Relay::flush_local_replies(std::deque<Reply>& queue, uint32_t local_id, Side to) {
  Channel& ch = m_channels[local_id];
  while (!queue.empty() && queue.front() != Reply::kForwarded) {
    Reply r = queue.front();
    uint8_t type = r == Reply::kLocalFailure ? kMsgChannelFailure : kMsgChannelSuccess;
    queue.pop_front();
    if (to == Side::kClient ? ch.close_to_client : ch.close_to_target) continue;
    Writer w;
    w.u8(type).u32(peer_id(ch, to));
    sink(to).send(w.buffer());
    if (r == Reply::kLocalRefusedCommand) end_refused_command(local_id);
  }
}

}  // namespace postern::bastion
