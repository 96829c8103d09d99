// LogVerbose (sshd_config(5)) for postern's sources. OpenSSH's patterns name its C files
// ("kex.c:*:1000"); ours name postern's: the tag of a log call is "FILE:FUNCTION():LINE" with
// FILE the base name of the .cpp or .h that holds it (kex_curve25519.cpp, monitor.cpp,
// sshd_main.cpp...), FUNCTION the unqualified function name and LINE its line, so
//   LogVerbose monitor.cpp:*            every log call in the per-connection monitor
//   LogVerbose *:handle():*             every log call inside a function named handle
//   LogVerbose source_limits.cpp:*:140  the one call on that line
// Each configured word is a comma-separated pattern list ('*', '?', '!' negation), so a word
// with commas works as OpenSSH's does. Matching calls are logged at their own level (their
// "debug1:" prefix and syslog priority stay) even when LogLevel would drop them.
#include "common/config/server_config.h"
#include "common/log.h"
#include "common/match_pattern.h"

namespace postern::config {

void apply_log_verbose(const ServerConfig& config) {
  std::vector<std::string> patterns;
  for (const auto& w : config.log_verbose)
    if (w != "none" && !w.empty()) patterns.push_back(w);
  if (patterns.empty()) {
    log_set_location_filter(nullptr);
    return;
  }
  log_set_location_filter([patterns = std::move(patterns)](std::string_view tag) {
    for (const auto& p : patterns)
      if (match_pattern_list(tag, p) == PatternMatch::kMatch) return true;
    return false;
  });
}

}  // namespace postern::config
