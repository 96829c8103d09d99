// Times in the audit log (RFC 3339 UTC, "2026-12-07T03:15:00.123Z") and in --since.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace postern::audit {

// RFC 3339 §5.6 date-time: "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)" ('t', 'z' and a space
// for the T also taken, §5.6 NOTE) as milliseconds since the epoch; nullopt when it is not one.
std::optional<int64_t> parse_rfc3339_ms(std::string_view s);

// A --since value: an RFC 3339 date-time, a date "YYYY-MM-DD" (its midnight UTC), or a span
// before `now_ms` ("90s", "30m", "12h", "7d").
Result<int64_t> parse_since(std::string_view s, int64_t now_ms);

}  // namespace postern::audit
