// The messages of an extender's connection (man/postern-bastion.5 EXTENDERS): sshd-bastion,
// serving a stock `ssh -N -R 0 dc2@bastion`, asks its monitor for the extender's socket when the
// client asks for the dynamic reverse forward. The monitor answers only on an extender's
// connection (BastionSetup's extender_login), once; it creates the root-only Unix socket,
// publishes it under the extender's name and passes the listening descriptor, which is all the
// jailed process gets: it accepts there, and nothing else reaches it.
// Type numbers 170-179 are the extenders'.
#pragma once

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "common/ipc.h"

namespace postern::ipc {

// sshd-bastion's exit status when a newer connection of the same extender replaced it (it got
// SIGTERM from that connection's monitor), so its own monitor audits why it ended.
inline constexpr int kExtenderReplacedExitCode = 3;

//   byte   171
//   bool   allowed
//   string message     refused: why, for the client's log (the request's failure is all it gets)
//   fd     the listening Unix socket (only when allowed)
struct ExtenderListenReply {
  static constexpr uint8_t kType = 171;
  bool allowed = false;
  std::string message;
  std::vector<UniqueFd> fds;
  auto fields() { return std::tie(allowed, message); }
};
// The client's "tcpip-forward" (RFC 4254 §7.1) as it sent it, for the log and the audit.
//   byte   170
//   string address     OpenSSH's `-R 0` sends "localhost"
//   u32    port        0: dynamic
struct ExtenderListenRequest {
  static constexpr uint8_t kType = 170;
  using Reply = ExtenderListenReply;
  std::string address;
  uint32_t port = 0;
  auto fields() { return std::tie(address, port); }
};

}  // namespace postern::ipc
