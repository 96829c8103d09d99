// ClientAliveInterval and ClientAliveCountMax (sshd_config(5)): when the client has sent nothing
// for the interval, ask it for a reply through the encrypted channel; a client that leaves
// ClientAliveCountMax of these unanswered is gone, and the connection ends.
#include <algorithm>
#include <climits>

#include "common/log.h"
#include "session/channel_requests.h"
#include "session/connection.h"
#include "session/session_channel.h"

namespace postern::session {

bool Connection::client_alive_check() {
  if (m_alive_unanswered >= m_options.client_alive_count_max) {
    log_info("Timeout, client not responding from user %s %s port %d", m_user.name.c_str(),
             m_peer.remote.address.c_str(), m_peer.remote.port);
    return false;
  }
  ++m_alive_unanswered;
  // RFC 4254 §4: an unknown global request with want_reply gets REQUEST_FAILURE, which is all
  // the answer needed.
  m_out.send(encode(GlobalRequestMsg{"keepalive@openssh.com", true, {}}));
  return true;
}

void Connection::note_session_type(Channel& c, std::string_view request, ByteView args) {
  if (!dynamic_cast<SessionChannel*>(&c)) return;
  if (request == "shell") {
    c.set_timeout_type("session:shell");
  } else if (request == "exec") {
    c.set_timeout_type("session:command");
  } else if (request == "subsystem") {
    c.set_timeout_type("session:subsystem:" + decode<SubsystemRequest>(args).name.value);
  }
}

int Connection::check_channel_timeouts(uint64_t now) {
  if (m_channel_timeouts.empty()) return -1;
  int next = -1;
  auto sooner = [&next](uint64_t left) {
    if (next < 0 || left < uint64_t(next)) next = int(std::min<uint64_t>(left, INT_MAX));
  };
  uint64_t last_activity = 0;
  bool any_open = false;
  for (auto& c : m_channels) {
    if (!c || c->finished() || c->close_sent()) continue;
    uint64_t since = c->idle_since(now);
    any_open = true;
    last_activity = std::max(last_activity, since);
    if (c->timeout_type().empty()) continue;
    unsigned limit = channel_timeout_for(m_channel_timeouts, c->timeout_type());
    if (limit == 0) continue;
    if (now >= since + limit) {
      log_verbose("channel %u: closing after %u seconds of inactivity", c->local_id(), limit);
      c->close_for_timeout();
      c->set_timeout_type("");
      continue;
    }
    sooner(since + limit - now);
  }
  // ChannelTimeout global: the newest activity of any open channel is what counts.
  unsigned global = global_channel_timeout(m_channel_timeouts);
  if (global == 0 || !any_open) return next;
  if (now < last_activity + global) {
    sooner(last_activity + global - now);
    return next;
  }
  log_verbose("closing all channels after %u seconds of inactivity (ChannelTimeout global)",
              global);
  for (auto& c : m_channels) {
    if (!c || c->finished() || c->close_sent()) continue;
    c->close_for_timeout();
    c->set_timeout_type("");
  }
  return next;
}

}  // namespace postern::session
