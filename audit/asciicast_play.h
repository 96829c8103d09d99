// postern-audit play: a recording in asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/)
// played on the terminal: the header line, then one [time, code, data] event per line; the
// "o" events' data written out at their times.
#pragma once

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "common/result.h"

namespace postern::audit {

struct CastHeader {
  int width = 0, height = 0;
  std::optional<double> idle_time_limit;  // seconds; longer pauses are cut to it
};

struct CastEvent {
  double time = 0;   // seconds since the recording began
  std::string code;  // "o" output, "i" input, "r" resize, "m" marker, ...
  std::string data;
};

// The header line: a JSON object with "version": 2 and positive "width" and "height". The error
// says why it is not one.
Result<CastHeader> parse_cast_header(std::string_view line);
// An event line: a JSON array [time >= 0, code string, data string].
Result<CastEvent> parse_cast_event(std::string_view line);

struct PlayOptions {
  double speed = 1.0;  // > 0; 2 plays twice as fast
  bool wait = true;    // false: write the output at once (--no-wait)
};

// Plays the cast file at `path` to `out`, calling `sleep(seconds)` before each output event
// that comes later than the one before (scaled by speed, capped by idle_time_limit). A corrupt
// file is an error naming "PATH:LINE: why"; what came before it has been played.
Result<void> play_cast(const std::string& path, const PlayOptions& options, std::ostream& out,
                       const std::function<void(double)>& sleep);

}  // namespace postern::audit
