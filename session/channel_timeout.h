// sshd_config(5) ChannelTimeout: "type=interval" entries; a channel of a matching type that
// moves no data for the interval is closed. Types are "session" (a session channel that has
// not asked to run anything yet), "session:shell", "session:command",
// "session:subsystem:NAME", "direct-tcpip", "forwarded-tcpip", "agent-connection", ... and
// "global"; the type side is a pattern (session:*) except for "global", written out.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace postern::session {

using ChannelTimeouts = std::vector<std::pair<std::string, unsigned>>;  // pattern, seconds

// Parses the configuration's words; entries that do not parse are skipped (the config parser
// has refused the bad ones already). "none" clears the list.
ChannelTimeouts parse_channel_timeouts(const std::vector<std::string>& words);
// sshd's time format: "90", "1m30s", "2h", with s m h d w units.
std::optional<unsigned> parse_time_interval(std::string_view text);
// The timeout for a channel type: the first matching entry, 0 for none. "global" is no
// channel's type: a wildcard that would match it does not make it one.
unsigned channel_timeout_for(const ChannelTimeouts& timeouts, std::string_view type);
// "global" (sshd_config(5) of OpenSSH 9.7 and later): all open channels taken together; data on
// any of them restarts it, and when it runs out every open channel is closed. Only an entry
// written "global" sets it (no wildcard does); 0 for none.
unsigned global_channel_timeout(const ChannelTimeouts& timeouts);

}  // namespace postern::session
