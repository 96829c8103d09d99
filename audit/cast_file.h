// A recording read whole for `postern-audit export --html`: every line checked as asciicast v2
// (audit/asciicast_play.h), so a corrupt file is named at its line here, not left for the
// browser to stumble over.
#pragma once

#include <cstddef>
#include <string>

#include "common/result.h"

namespace postern::audit {

// The bastion caps a recording at record_max_bytes (64M by default); a page above this much
// would not open in a browser anyway.
inline constexpr size_t kMaxExportCastBytes = size_t(256) << 20;

struct CastFile {
  std::string text;    // the file as it is, every byte (hashed and inlined as read)
  std::string sha256;  // of `text`, lowercase hex
  int width = 0, height = 0;
};

// Reads and checks the cast file at `path`: the header, then events whose times do not go back.
// The error names "PATH:LINE: why" (or "PATH: why" when the file cannot be read or is too big).
Result<CastFile> read_cast_file(const std::string& path, size_t max_bytes = kMaxExportCastBytes);

}  // namespace postern::audit
