// A "session" channel in jump mode (plain `ssh alice@bastion`, no target in the user name) that
// cannot pick (no pty, a command, sftp, or no target to pick from): no target to relay to, so the
// bastion says in one line how to name one (BASTION.md "How people connect", interactive).
#pragma once

#include <cstdint>
#include <string>

#include "session/packet_sink.h"

namespace postern::bastion {

// The one line shown (without its line ending): the direct syntax with this bastion's user, host
// and port; `example` is "targetuser%target" of the first target the user may use, or "" for
// the syntax's own words.
std::string jump_mode_notice(const std::string& bastion_user, const std::string& bastion_host,
                             uint32_t port, const std::string& example);

// Answers one channel request on such a channel (RFC 4254 §5.4). pty-req, env and
// window-change succeed, so the client goes on to shell or exec; shell, exec and subsystem get
// the notice on stderr, exit-status 1, EOF and CLOSE. Returns true when the channel was closed by
// us.
bool answer_jump_session_request(session::PacketSink& client, uint32_t client_id,
                                 uint32_t& client_window, const std::string& request,
                                 bool want_reply, const std::string& notice);

}  // namespace postern::bastion
