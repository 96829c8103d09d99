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
int run_jump(ipc::Channel& monitor, ClientConnection client, const ipc::BastionSetup& setup);
// A route refused at login on the proxy front door: each session channel gets `refusal` on
// stderr and exit status 1, each direct-tcpip channel an open failure; nothing is opened.
// After 30 seconds the connection ends with the refusal as a DISCONNECT.
int run_refusal(ClientConnection client, const std::string& refusal);

}  // namespace postern::bastion
