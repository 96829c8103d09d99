// The audit log's hash chain (man/postern-bastion.5 AUDIT): each line's "prev" is the SHA-256 of
// the line before it in the same file, so a changed, removed or reordered line breaks the chain
// at the line after it. Shared by the writer (audit_log.cpp) and postern-audit verify.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace postern::bastion {

// The "prev" of the first line of a log that follows no other: 64 zeros.
inline constexpr std::string_view kChainAnchor =
    "0000000000000000000000000000000000000000000000000000000000000000";

// Longer than any line the writer makes (17 fields of at most kMaxAuditField bytes, each byte
// at most 6 when escaped): a longer tail line is not ours, and reading stops there.
inline constexpr size_t kMaxAuditLine = 1 << 20;

// The SHA-256, lowercase hex, of one line's bytes without its newline.
std::string audit_line_hash(std::string_view line);

// Whether `s` is what a "prev" must be: 64 lowercase hex digits.
bool is_chain_hash(std::string_view s);

// What ends an audit file, read back from its end (at most kMaxAuditLine bytes).
struct ChainTail {
  bool empty = true;      // the file has no bytes
  bool complete = true;   // the last line ends in '\n' (false: a torn write left a fragment)
  std::string last_hash;  // audit_line_hash of the last line (or fragment); empty when `empty`
};
Result<ChainTail> read_chain_tail(int fd, const std::string& path_for_messages);

// The hash a new, empty log at `path` starts from: the last line's hash of its rotated sibling
// `path.1` (read under a shared flock, so a monitor still appending to the renamed file finishes
// first), or kChainAnchor when there is no such file or it is empty.
Result<std::string> rotation_anchor(const std::string& path);

}  // namespace postern::bastion
