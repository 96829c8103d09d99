// The request-specific data of the session channel's CHANNEL_REQUESTs (RFC 4254 §6), one struct
// per request in wire order, decoded from and encoded into ChannelRequestMsg::data by
// common/wire.h. The bounds a client may make us hold are in the field types, so decode<>()
// refuses an oversized field before a handler sees it. kRequest is the request name on the wire;
// kName is what a malformed one is called in the error.
#pragma once

#include <cstdint>
#include <string>
#include <tuple>

#include "common/wire.h"

namespace postern::session {

// Bounds on what a client may make us hold per session (OpenSSH has similar limits).
inline constexpr size_t kMaxTermName = 256;
inline constexpr size_t kMaxCommand = 256 * 1024;
inline constexpr size_t kMaxEnvName = 1024;
inline constexpr size_t kMaxEnvValue = 64 * 1024;
inline constexpr size_t kMaxSignalName = 64;
inline constexpr size_t kMaxSubsystemName = 1024;
inline constexpr size_t kMaxX11Protocol = 256;
inline constexpr size_t kMaxX11Cookie = 1024;

struct PtyRequest {  // RFC 4254 §6.2
  static constexpr const char* kRequest = "pty-req";
  static constexpr const char* kName = "pty-req";
  Text<kMaxTermName> term;
  uint32_t cols = 0;
  uint32_t rows = 0;
  uint32_t width = 0;
  uint32_t height = 0;
  Bytes modes;  // encoded terminal modes (RFC 4254 §8), parsed by terminal_modes.h
  auto fields() { return std::tie(term, cols, rows, width, height, modes); }
};

struct X11Request {  // RFC 4254 §6.3.1
  static constexpr const char* kRequest = "x11-req";
  static constexpr const char* kName = "x11-req";
  bool single_connection = false;
  Text<kMaxX11Protocol> protocol;
  Text<kMaxX11Cookie> cookie;  // hex
  uint32_t screen = 0;
  auto fields() { return std::tie(single_connection, protocol, cookie, screen); }
};

struct EnvRequest {  // RFC 4254 §6.4
  static constexpr const char* kRequest = "env";
  static constexpr const char* kName = "env request";
  Text<kMaxEnvName> name;
  Text<kMaxEnvValue> value;
  auto fields() { return std::tie(name, value); }
};

struct ShellRequest {  // RFC 4254 §6.5: no data
  static constexpr const char* kRequest = "shell";
  static constexpr const char* kName = "shell request";
  auto fields() { return std::tie(); }
};

struct ExecRequest {  // RFC 4254 §6.5
  static constexpr const char* kRequest = "exec";
  static constexpr const char* kName = "exec request";
  Text<kMaxCommand> command;
  auto fields() { return std::tie(command); }
};

struct SubsystemRequest {  // RFC 4254 §6.5
  static constexpr const char* kRequest = "subsystem";
  static constexpr const char* kName = "subsystem request";
  Text<kMaxSubsystemName> name;
  auto fields() { return std::tie(name); }
};

struct WindowChangeRequest {  // RFC 4254 §6.7
  static constexpr const char* kRequest = "window-change";
  static constexpr const char* kName = "window-change";
  uint32_t cols = 0;
  uint32_t rows = 0;
  uint32_t width = 0;
  uint32_t height = 0;
  auto fields() { return std::tie(cols, rows, width, height); }
};

struct SignalRequest {  // RFC 4254 §6.9
  static constexpr const char* kRequest = "signal";
  static constexpr const char* kName = "signal request";
  Text<kMaxSignalName> name;  // without the "SIG" prefix
  auto fields() { return std::tie(name); }
};

struct ExitStatusRequest {  // RFC 4254 §6.10
  static constexpr const char* kRequest = "exit-status";
  uint32_t status = 0;
  auto fields() { return std::tie(status); }
};

struct ExitSignalRequest {  // RFC 4254 §6.10
  static constexpr const char* kRequest = "exit-signal";
  std::string signal;  // without the "SIG" prefix
  bool core_dumped = false;
  std::string message;
  std::string language;
  auto fields() { return std::tie(signal, core_dumped, message, language); }
};

struct BreakRequest {  // RFC 4335 §3
  static constexpr const char* kRequest = "break";
  static constexpr const char* kName = "break request";
  uint32_t length_ms = 0;
  auto fields() { return std::tie(length_ms); }
};

struct AgentRequest {  // OpenSSH PROTOCOL §2.5 (agent forwarding): no data
  static constexpr const char* kRequest = "auth-agent-req@openssh.com";
  static constexpr const char* kName = "auth-agent-req";
  auto fields() { return std::tie(); }
};

}  // namespace postern::session
