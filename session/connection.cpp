#include "session/connection.h"

#include <csignal>

#include "common/log.h"
#include "common/protocol_error.h"
#include "session/connection_messages.h"
#include "session/hostkeys_global.h"

namespace postern::session {
namespace {

// Channels of all types one connection may hold at once (MaxSessions limits sessions).
constexpr size_t kMaxChannels = 1024;

}  // namespace

Connection::Connection(PacketSink& out, const Account& user, const ConnectionEnds& peer,
                       const SessionOptions& options, PrivilegedOps& privileged)
    : m_out(out), m_user(user), m_peer(peer), m_options(options), m_privileged(privileged) {
  m_ctx.user = &m_user;
  m_ctx.peer = &m_peer;
  m_ctx.options = &m_options;
  m_ctx.privileged = &m_privileged;
  m_ctx.reaper = &m_reaper;
  m_ctx.request_agent = [this] { return request_agent(); };
  m_ctx.agent_socket = [this] { return m_agent.socket_path(); };
  m_ctx.request_x11 = [this] { return request_x11(); };
  m_channel_timeouts = parse_channel_timeouts(m_options.channel_timeouts);
  // OpenSSH PROTOCOL §2.5: the host keys are announced right after authentication.
  announce_host_keys(m_out, m_privileged);
}

Connection::~Connection() = default;

size_t Connection::open_channels() const {
  size_t n = 0;
  for (const auto& c : m_channels) n += c ? 1 : 0;
  return n;
}

Channel& Connection::channel_for(uint32_t local_id) {
  if (local_id >= m_channels.size() || !m_channels[local_id])
    throw ProtocolError("message for a channel that does not exist");
  return *m_channels[local_id];
}

void Connection::handle_message(ByteView payload) {
  if (payload.empty()) throw ProtocolError("empty message");
  uint8_t type = payload[0];
  switch (type) {
    case kMsgGlobalRequest:
      handle_global_request(payload);
      break;
    case kMsgChannelOpen:
      handle_channel_open(payload);
      break;
    case kMsgChannelData: {
      // The data path: no copy, no allocation (RFC 4254 §5.2).
      Reader r(payload);
      r.u8();
      uint32_t id = r.u32();
      ByteView data = r.string();
      r.expect_done("channel data");
      channel_for(id).handle_data(data);
      break;
    }
    case kMsgChannelExtendedData: {
      Reader r(payload);
      r.u8();
      uint32_t id = r.u32();
      uint32_t code = r.u32();
      ByteView data = r.string();
      r.expect_done("channel extended data");
      channel_for(id).handle_extended_data(code, data);
      break;
    }
    case kMsgChannelWindowAdjust: {
      auto m = decode<ChannelWindowAdjustMsg>(payload);
      channel_for(m.recipient_channel).handle_window_adjust(m.bytes_to_add);
      break;
    }
    case kMsgChannelEof:
      channel_for(decode<ChannelEofMsg>(payload).recipient_channel).handle_eof();
      break;
    case kMsgChannelClose:
      // The channel object lives on until the next poll round, since the current round's
      // poll entries may still point at it.
      channel_for(decode<ChannelCloseMsg>(payload).recipient_channel).handle_close();
      break;
    case kMsgChannelRequest: {
      auto m = decode<ChannelRequestMsg>(payload);
      Channel& c = channel_for(m.recipient_channel);
      const std::string& request = m.request.value;
      // The first shell, exec or subsystem request turns "session" into what it runs.
      if (c.timeout_type() == "session") note_session_type(c, request, m.data.bytes);
      c.handle_request(request, m.want_reply, m.data.bytes);
      break;
    }
    case kMsgChannelSuccess:
    case kMsgChannelFailure:
    case kMsgRequestSuccess:
    case kMsgRequestFailure:
      // The only requests we send that want a reply are keepalives: either answer proves the
      // client is alive.
      m_alive_unanswered = 0;
      break;
    case kMsgChannelOpenConfirmation:
    case kMsgChannelOpenFailure:
      handle_open_reply(payload);
      break;
    case kMsgUserauthRequest:
      // RFC 4252 §5.1: authentication requests after success are silently ignored.
      break;
    default:
      m_out.send_unimplemented();
      break;
  }
}

void Connection::handle_global_request(ByteView payload) {
  auto m = decode<GlobalRequestMsg>(payload);
  // PROTOCOL (OpenSSH) §2.2: after this the client opens no more sessions.
  if (m.request == "no-more-sessions@openssh.com") m_no_more_sessions = true;
  log_debug("server_input_global_request: rtype %s want_reply %d", m.request.c_str(),
            int(m.want_reply));
  if (handle_forward_request(m)) return;
  if (handle_hostkeys_prove(m, m_out, m_privileged)) return;
  // Nothing global is offered yet (tcpip-forward comes with forwarding); keepalive@openssh.com
  // gets a failure too, which is the answer the client expects (RFC 4254 §4).
  if (m.want_reply) m_out.send(encode(RequestFailureMsg{}));
}

void Connection::handle_channel_open(ByteView payload) {
  auto m = decode<ChannelOpenMsg>(payload);
  auto refuse = [&](uint32_t reason, const char* why) {
    log_debug("channel open %s refused: %s", m.channel_type.c_str(), why);
    ChannelOpenFailureMsg f{m.sender_channel, reason, why, ""};
    m_out.send(encode(f));
  };
  if (m.channel_type != "session") {
    open_forward_channel(m);
    return;
  }
  if (!m.data.bytes.empty()) throw ProtocolError("session channel open with trailing data");
  if (m_no_more_sessions) throw ProtocolError("session channel after no-more-sessions");
  size_t sessions = 0;
  for (const auto& c : m_channels) sessions += c && dynamic_cast<SessionChannel*>(c.get()) ? 1 : 0;
  if (sessions >= m_options.max_sessions) {
    refuse(kOpenAdministrativelyProhibited, "no more sessions");
    return;
  }
  long slot = channel_id_or_refuse(m.sender_channel);
  if (slot < 0) return;
  size_t id = size_t(slot);
  m_channels[id] = std::make_unique<SessionChannel>(
      m_out, m_scratch, uint32_t(id), m.sender_channel, m.initial_window, m.max_packet, m_ctx);
  // ChannelTimeout: "session" until a shell, exec or subsystem request names what it runs
  // (sshd_config(5) of OpenSSH 10 lists the plain type).
  m_channels[id]->set_timeout_type("session");
  log_debug("channel %zu: new session (remote %u, window %u, max packet %u)", id, m.sender_channel,
            m.initial_window, m.max_packet);
  ChannelOpenConfirmationMsg c{m.sender_channel, uint32_t(id), kInitialWindow, kLocalMaxPacket};
  m_out.send(encode(c));
}

long Connection::free_channel_id() {
  size_t id = 0;
  while (id < m_channels.size() && m_channels[id]) ++id;
  if (id >= kMaxChannels) return -1;
  if (id == m_channels.size()) m_channels.emplace_back();
  return long(id);
}

long Connection::channel_id_or_refuse(uint32_t sender_channel) {
  long id = free_channel_id();
  if (id < 0) {
    ChannelOpenFailureMsg f{sender_channel, kOpenResourceShortage, "too many channels", ""};
    m_out.send(encode(f));
  }
  return id;
}

void Connection::forget_finished_channels() {
  for (auto& c : m_channels) {
    if (c && c->finished()) c.reset();
  }
  while (!m_channels.empty() && !m_channels.back()) m_channels.pop_back();
}

void Connection::collect_pollfds(std::vector<pollfd>& fds) {
  forget_finished_channels();
  m_poll.clear();
  for (auto& c : m_channels) {
    if (c) c->add_pollfds(m_poll);
  }
  fds.insert(fds.end(), m_poll.fds().begin(), m_poll.fds().end());
  m_reaper_first = m_poll.fds().size();
  m_reaper.add_pollfds(fds);
  m_reaper_count = m_reaper.size();
  m_listen_first = m_reaper_first + m_reaper_count;
  collect_listener_pollfds(fds);
}

void Connection::dispatch_pollfds(std::span<const pollfd> fds) {
  auto& targets = m_poll.targets();
  for (size_t i = 0; i < targets.size() && i < fds.size(); ++i) {
    if (fds[i].revents) targets[i].channel->on_poll(targets[i].tag, fds[i].revents);
  }
  bool reap = false;
  for (size_t i = m_reaper_first; i < m_reaper_first + m_reaper_count && i < fds.size(); ++i)
    reap = reap || fds[i].revents != 0;
  if (reap) m_reaper.reap();
  if (m_listen_first <= fds.size()) dispatch_listener_pollfds(fds.subspan(m_listen_first));
  forget_finished_channels();
}

}  // namespace postern::session
