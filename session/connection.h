// The connection protocol (RFC 4254) without I/O of its own: messages in through
// handle_message(), messages out through a PacketSink, and the channels' file descriptors
// exposed to the caller's poll loop. run_connection() (session.cpp) drives it with the socket;
// the unit tests drive it with payloads.
#pragma once

#include <poll.h>

#include <memory>
#include <span>
#include <vector>

#include "session/agent_forward.h"
#include "session/channel.h"
#include "session/channel_timeout.h"
#include "session/connection_messages.h"
#include "session/forward_listener.h"
#include "session/packet_sink.h"
#include "session/session.h"
#include "session/session_channel.h"

namespace postern::session {

class Connection {
 public:
  Connection(PacketSink& out, const Account& user, const ConnectionEnds& peer,
             const SessionOptions& options, PrivilegedOps& privileged);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // One message of the connection protocol. Throws ProtocolError on violations.
  void handle_message(ByteView payload);

  // The poll loop: append the fds the channels wait on, poll, then hand back the same entries
  // (the span starting where collect_pollfds() began appending).
  void collect_pollfds(std::vector<pollfd>& fds);
  void dispatch_pollfds(std::span<const pollfd> fds);

  size_t open_channels() const;

  // ClientAliveInterval (connection_keepalive.cpp): called when the client has been silent for
  // the interval. Sends keepalive@openssh.com, or returns false once ClientAliveCountMax of
  // them went unanswered and the connection should end.
  bool client_alive_check();
  // ChannelTimeout (connection_keepalive.cpp): closes channels idle past their type's timeout
  // and returns the seconds until the next one could expire, -1 for none.
  int check_channel_timeouts(uint64_t now);
  // A session's ChannelTimeout type comes from its first shell, exec or subsystem request.
  void note_session_type(Channel& c, std::string_view request, ByteView args);

 private:
  void handle_global_request(ByteView payload);
  void handle_channel_open(ByteView payload);
  Channel& channel_for(uint32_t local_id);
  void forget_finished_channels();
  // A free channel id, or -1 when the connection holds kMaxChannels.
  long free_channel_id();
  // free_channel_id() for an open the client asked for: -1 after answering it with
  // SSH_MSG_CHANNEL_OPEN_FAILURE (RFC 4254 §5.1, RESOURCE_SHORTAGE).
  long channel_id_or_refuse(uint32_t sender_channel);

  // Forwarding (connection_forward.cpp): channel opens other than "session", the global
  // requests tcpip-forward, streamlocal-forward and their cancels, and the listeners.
  void open_forward_channel(ChannelOpenMsg& m);
  // Returns false for a request that is not about forwarding.
  bool handle_forward_request(const GlobalRequestMsg& m);
  bool request_agent();
  int request_x11();
  void accept_connections(size_t listener, int fd);
  void open_to_client(UniqueFd fd, std::string_view type, ByteView args);
  void handle_open_reply(ByteView payload);
  void collect_listener_pollfds(std::vector<pollfd>& fds);
  // tun@openssh.com (session/tun_forward.cpp): the device comes from the monitor.
  void open_tun_channel(ChannelOpenMsg& m);
  void dispatch_listener_pollfds(std::span<const pollfd> fds);

  PacketSink& m_out;
  Account m_user;
  ConnectionEnds m_peer;
  SessionOptions m_options;
  PrivilegedOps& m_privileged;
  ChildReaper m_reaper;
  SessionContext m_ctx;
  // Indexed by our channel id; ids of finished channels are reused.
  std::vector<std::unique_ptr<Channel>> m_channels;
  // Empty until a channel's read needs it (Channel grows it): a preallocated, zero-filled 64 KiB
  // was resident in every session, and most reads go straight into the packet (FIONREAD).
  Bytes m_scratch;
  PollSet m_poll;
  size_t m_reaper_first = 0;
  size_t m_reaper_count = 0;
  bool m_no_more_sessions = false;
  unsigned m_alive_unanswered = 0;
  ChannelTimeouts m_channel_timeouts;
  std::vector<ForwardListener> m_listeners;
  AgentForwarder m_agent;
  // Which listener fd each of the last collected pollfds belongs to: (listener, fd), with
  // listener == SIZE_MAX for the agent socket.
  std::vector<std::pair<size_t, int>> m_listen_targets;
  size_t m_listen_first = 0;
};

}  // namespace postern::session
