// X11 forwarding (RFC 4254 §6.3): a TCP listener on the display port (6000 + display number,
// from X11DisplayOffset up), "x11" channels opened to the client for its connections, and the
// cookie handed to xauth(1) so X clients on this side present it.
#pragma once

#include <string>

#include "common/result.h"
#include "session/forward_listener.h"

namespace postern::session {

inline constexpr unsigned kX11BasePort = 6000;
inline constexpr unsigned kX11MaxDisplays = 1000;

// Binds the first free display from `offset` on the loopback (X11UseLocalhost) or every
// address; `display` receives its number.
Result<ForwardListener> listen_x11(unsigned offset, bool localhost, unsigned& display);

// Runs `xauth -q -` as the current user (the session process already is the user) with
// "remove" and "add" for `auth_display`, waiting for it to finish.
Result<void> run_xauth(const std::string& xauth, const std::string& auth_display,
                       const std::string& proto, const std::string& cookie,
                       const std::string& home);

}  // namespace postern::session
