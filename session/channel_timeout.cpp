#include "session/channel_timeout.h"

#include "common/match_pattern.h"

namespace postern::session {

std::optional<unsigned> parse_time_interval(std::string_view text) {
  if (text.empty()) return std::nullopt;
  uint64_t total = 0, value = 0;
  bool digits = false;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      value = value * 10 + uint64_t(c - '0');
      if (value > 0xffffffffu) return std::nullopt;
      digits = true;
      continue;
    }
    if (!digits) return std::nullopt;
    uint64_t unit = 0;
    switch (c | 0x20) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      case 'w':
        unit = 604800;
        break;
      default:
        return std::nullopt;
    }
    total += value * unit;
    value = 0;
    digits = false;
  }
  total += value;
  if (total > 0xffffffffu) return std::nullopt;
  return unsigned(total);
}

ChannelTimeouts parse_channel_timeouts(const std::vector<std::string>& words) {
  ChannelTimeouts out;
  for (const auto& w : words) {
    if (w == "none") return {};
    size_t eq = w.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    auto seconds = parse_time_interval(std::string_view(w).substr(eq + 1));
    if (!seconds) continue;
    out.emplace_back(w.substr(0, eq), *seconds);
  }
  return out;
}

namespace {
constexpr std::string_view kGlobal = "global";
}  // namespace

unsigned channel_timeout_for(const ChannelTimeouts& timeouts, std::string_view type) {
  if (type == kGlobal) return 0;
  for (const auto& [pattern, seconds] : timeouts) {
    if (pattern != kGlobal && match_pattern(type, pattern)) return seconds;
  }
  return 0;
}

unsigned global_channel_timeout(const ChannelTimeouts& timeouts) {
  for (const auto& [pattern, seconds] : timeouts) {
    if (pattern == kGlobal) return seconds;
  }
  return 0;
}

}  // namespace postern::session
