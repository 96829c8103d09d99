// inetd mode (sshd -i) over two pipes (ProxyCommand gives stdin and stdout as separate pipes):
// a small relay process copies between them and one end of a socketpair, so the rest of the
// process split always works on one socket (docs/architecture.md: -i changes how the connection
// arrives, not the split).
#pragma once

#include "common/result.h"
#include "common/unique_fd.h"

namespace postern::monitor {

// Forks the relay (before any secret is loaded) and returns our end of the socketpair.
Result<UniqueFd> start_inetd_relay(int in_fd, int out_fd);

}  // namespace postern::monitor
