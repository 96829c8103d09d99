// The listener's part in systemd's protocols, by hand (no libsystemd): readiness notification
// (sd_notify(3)) and socket activation (sd_listen_fds(3)).
#pragma once

#include <string>
#include <vector>

#include "monitor/listener.h"

namespace postern::monitor {

// One datagram of "KEY=value" lines to $NOTIFY_SOCKET ('@' for the abstract namespace); nothing
// without it.
void sd_notify_text(const std::string& text);
// $LISTEN_FDS descriptors from 3 on, meant for us when $LISTEN_PID is our pid; 0 otherwise.
int activated_fd_count();
// Takes over the `n` activated listening sockets.
std::vector<ListenSocket> adopt_activated(int n);

}  // namespace postern::monitor
