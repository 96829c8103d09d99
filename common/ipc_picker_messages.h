// The full-screen target picker's messages between sshd-bastion and its monitor (issue 13;
// bastion/pty_picker.h). A user who logged in without a route and without the keyboard-interactive
// picker asks for a pty and a shell: sshd-bastion asks the monitor for the list of what the user
// may reach and draws it; the user's choice goes back to the monitor, which decides it again with
// the policy and audits it, and from then on it is the login's route, as if the user name had
// named it. Allowed only in the bastion phase, only without a route (monitor/monitor.cpp).
// Type numbers 150-159 are the picker's.
#pragma once

#include <cstdint>
#include <string>
#include <tuple>

#include "common/ipc.h"

namespace postern::ipc {

//   byte     151
//   string[] target_users   one per entry ("*": any account)
//   string[] targets
//   string[] lines          "deploy@web1  [prod,web]  role ops", what the list shows
//   bool     truncated      more entries than one message holds: the rest are not shown
//   string   example        "deploy%web1" for the direct syntax's example ("" without targets)
struct PickerListReply {
  static constexpr uint8_t kType = 151;
  StringList target_users;
  StringList targets;
  StringList lines;
  bool truncated = false;
  std::string example;
  auto fields() { return std::tie(target_users, targets, lines, truncated, example); }
};
// What the bastion user may reach, in policy order (bastion/picker.h picker_entries). Asked for
// the full-screen picker and for the one line a session without pty or route gets.
//   byte   150
struct PickerListRequest {
  static constexpr uint8_t kType = 150;
  using Reply = PickerListReply;
  auto fields() { return std::tie(); }
};

//   byte   153
//   bool   allowed
//   string message   refused: one line for the user
struct PickerChooseReply {
  static constexpr uint8_t kType = 153;
  bool allowed = false;
  std::string message;
  auto fields() { return std::tie(allowed, message); }
};
// The user's choice: decided with the policy (decide()) and audited as a "login" event whose
// reason begins "picked"; allowed, it becomes the route (TARGET_OPEN "session" may then name it).
// Once per connection, before any target connection was opened.
//   byte   152
//   string target_user
//   string target
struct PickerChooseRequest {
  static constexpr uint8_t kType = 152;
  using Reply = PickerChooseReply;
  std::string target_user;
  std::string target;
  auto fields() { return std::tie(target_user, target); }
};

}  // namespace postern::ipc
