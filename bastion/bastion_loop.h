// sshd-bastion's two ways of running once the client's transport is imported and the jail is
// entered (bastion_main.cpp): direct mode logs in to the target and relays (relay.h), jump mode
// serves direct-tcpip channels (jump_connection.h). Both return the process's exit code and
// throw on the client's protocol errors (the caller's catch boundary disconnects).
#pragma once

#include <string>

#include "common/ipc.h"
#include "common/ipc_bastion_messages.h"
#include "common/protocol_error.h"
#include "net/transport.h"

namespace postern::bastion {

struct ClientConnection {
  net::Transport& transport;
  int fd;
};

// Tells the client `description` in SSH_MSG_DISCONNECT (RFC 4253 §11.1) and writes it out.
void disconnect_client(ClientConnection client, DisconnectReason reason,
                       const std::string& description);

int run_direct(ipc::Channel& monitor, ClientConnection client, const ipc::BastionSetup& setup,
               const net::TransportConfig& client_config);
// Jump mode; a session on a pty may pick its target (pty_picker_channel.h), and the connection
// then goes on as run_direct's would, with the picked session channel adopted by the relay.
int run_jump(ipc::Channel& monitor, ClientConnection client, const ipc::BastionSetup& setup,
             const net::TransportConfig& client_config);

// An extender's connection (extender_loop.cpp): only its dynamic reverse forward. Call
// prepare_extender_signals() before the jail (a newer connection of the extender ends this one
// with SIGTERM; the exit status is then ipc::kExtenderReplacedExitCode).
void prepare_extender_signals();
int run_extender(ipc::Channel& monitor, ClientConnection client, const ipc::BastionSetup& setup);
// A route refused at login on the proxy front door: each session channel gets `refusal` on
// stderr and exit status 1, each direct-tcpip channel an open failure; nothing is opened.
// After 30 seconds the connection ends with the refusal as a DISCONNECT.
int run_refusal(ClientConnection client, const std::string& refusal);

}  // namespace postern::bastion
