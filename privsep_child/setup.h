// How a child of the monitor (sshd-net before authentication, sshd-user after it) starts: it
// receives its one setup message and from then on logs through the monitor (docs/architecture.md).
#pragma once

#include <fcntl.h>
#include <signal.h>

#include <string>
#include <string_view>

#include "common/ipc.h"
#include "common/ipc_messages.h"
#include "common/log.h"
#include "common/unique_fd.h"

namespace postern::privsep_child {

// What the monitor maps into every child (monitor/session_main.cpp): fd 3 the ipc channel, fd 4
// the client connection.
inline constexpr int kChannelFd = 3;
inline constexpr int kSocketFd = 4;

struct ChildFds {
  ipc::Channel channel;
  UniqueFd client;
};

// Takes over fds 3 and 4 (close-on-exec, so nothing the child runs inherits them) and ignores
// SIGPIPE: a peer that went away is an EPIPE to handle, not a death.
inline ChildFds adopt_child_fds() {
  ::signal(SIGPIPE, SIG_IGN);
  ::fcntl(kChannelFd, F_SETFD, FD_CLOEXEC);
  ::fcntl(kSocketFd, F_SETFD, FD_CLOEXEC);
  return ChildFds{ipc::Channel{UniqueFd(kChannelFd)}, UniqueFd(kSocketFd)};
}

// Receives the child's one setup message and from then on sends every log line to the monitor,
// which writes it where the configuration says (the children cannot reach syslog or files).
// Setup messages carry `log_level`. A missing or malformed setup is fatal.
template <typename Setup>
Setup receive_setup_from_monitor(ipc::Channel& monitor, const char* program) {
  LogOptions lo;
  lo.to_stderr = true;
  log_init(lo);
  Setup setup;
  try {
    auto m = monitor.receive();
    setup = ipc::decode<Setup>(m.data.view());
  } catch (const std::exception& e) {
    fatal("%s: no setup from the monitor (%s); it is started by sshd-session", program, e.what());
  }
  lo.level = LogLevel(setup.log_level);
  log_init(lo);
  log_set_sink([&monitor](LogLevel level, std::string_view line) {
    try {
      monitor.send(
          ipc::LogLine{uint32_t(level), std::string(line), uint32_t(log_facility_override())});
    } catch (...) {
      // The monitor is gone; nothing useful can be done with the line.
    }
  });
  return setup;
}

}  // namespace postern::privsep_child
