// One join for every process: SSH name-lists, config text, log lines.
#pragma once

#include <string>
#include <string_view>

namespace postern {

// The parts with `separator` between each two: join({"a", "b"}, ",") == "a,b"; an empty range
// gives "". Parts may be std::string, std::string_view or C strings (anything a std::string can
// append). Used for SSH name-lists (RFC 4251 §5), config text and log lines.
template <typename Range>
std::string join(const Range& parts, std::string_view separator) {
  std::string out;
  bool first = true;
  for (const auto& part : parts) {
    if (!first) out += separator;
    first = false;
    out += part;
  }
  return out;
}

}  // namespace postern
