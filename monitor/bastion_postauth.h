// sshd -B after login: the monitor decides the route the user name named (an audit event
// either way), starts sshd-bastion with the client transport, and serves its requests
// (monitor_bastion.cpp) until the connection ends.
#pragma once

#include "common/endpoint.h"
#include "common/ipc_messages.h"
#include "common/log.h"
#include "common/unique_fd.h"
#include "monitor/auth_backend.h"
#include "monitor/bastion_session.h"
#include "monitor/monitor.h"

namespace postern::monitor {

struct BastionStart {
  Monitor& monitor;
  BastionSession& session;
  const AuthBackend& backend;
  LogLevel log_level;
  const ipc::NetSetup& net_setup;  // the host key algorithms and blobs
  const Endpoint& peer;
  const Endpoint& local;
};

// Returns sshd-session's exit code.
int run_bastion_session(BastionStart& start, UniqueFd& client);

}  // namespace postern::monitor
