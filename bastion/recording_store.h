// The monitor's side of session recordings (../shared/BASTION.md "Files"): naming the file,
// creating it under the policy's `recordings` directory, writing its asciicast v2 header, and
// hashing it when the channel closes. sshd-bastion never names a file: it gets the descriptor
// (asciicast_recording.h writes the events).
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace postern::bastion {

// Who and what a recording is of.
struct RecordingInfo {
  std::string session;  // 16 hex digits
  std::string bastion_user;
  std::string target;
  std::string target_user;
  std::string channel;  // "shell" | "exec"
  std::string command;  // exec: the command line
  std::string term;     // pty-req's TERM, "" without a pty
  uint32_t width = 80, height = 24;
  uint64_t unix_seconds = 0;  // the header's timestamp
  uint32_t client_channel = 0;
};

// <UTC time>_<bastion user>_<target user>@<target>_<session id>.cast, e.g.
// 20261207T031500Z_alice_deploy@web1_0123456789abcdef.cast. Each part keeps letters, digits,
// '.', '-' and '+' (anything else, '_', '@' and '/' among them, becomes '-'; an empty part is
// "-"), at most 64 bytes, so the name always splits back into its parts and stays one path
// component. `attempt` > 1 adds "-N" after the session id (a second channel in the same second).
std::string recording_file_name(const RecordingInfo& info, unsigned attempt = 1);

// The asciicast v2 header line, newline included: version, width, height, timestamp, command,
// title, env (TERM), and "postern": {session, bastion_user, target, target_user, channel}.
std::string asciicast_header(const RecordingInfo& info);

struct OpenedRecording {
  UniqueFd fd;  // write-only, O_APPEND, positioned after the header
  std::string path;
  uint64_t header_bytes = 0;
};

// Creates `dir` (0700, with its missing parents) when it is missing, then a new file in it
// (O_CREAT|O_EXCL|O_APPEND, 0600) with the header written. Errors say which step failed.
Result<OpenedRecording> open_recording(const std::string& dir, const RecordingInfo& info);

// The SHA-256 of the file at `path`, as 64 lowercase hex digits.
Result<std::string> file_sha256_hex(const std::string& path);

}  // namespace postern::bastion
