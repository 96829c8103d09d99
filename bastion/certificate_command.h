// Machine to machine (../shared/BASTION.md "How people connect"): in jump mode,
// `ssh bastion certificate TARGETUSER@TARGET[:PORT] < id.pub` asks the bastion to certify the
// caller's own public key. This is the part sshd-bastion parses (untrusted input, in the jail):
// the command and the key line; the monitor decides (decide_certificate_issue, issuable_key.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/result.h"

namespace postern::bastion {

struct CertificateCommand {
  std::string target_user;
  std::string target;
  uint32_t port = 0;  // 0: the target's own
};

// Whether an exec command is the certificate command at all ("certificate" and its arguments);
// anything else gets the jump-mode notice.
bool is_certificate_command(std::string_view command);

// "certificate deploy@web1", "certificate deploy@web1:2222", "certificate deploy@[::1]:22".
// Errors are one line safe to show (the input is not echoed raw).
Result<CertificateCommand> parse_certificate_command(std::string_view command);

// The most a caller may send on stdin: one OpenSSH public key line (an RSA 16384-bit key's line
// is under 3 KiB).
inline constexpr size_t kMaxKeyInput = 16 * 1024;

// What the caller sent: its key blob (not yet judged: the monitor parses it) and comment.
struct KeyInput {
  Bytes blob;
  std::string comment;  // printable ASCII only, bounded; "" when none
};

// One "type base64 [comment]" line (a *.pub file), surrounding blank lines and a trailing CR
// allowed. The blob's own type name must agree with the line's.
Result<KeyInput> parse_key_input(std::string_view input);

}  // namespace postern::bastion
