#include "audit/asciicast_play.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "audit/line_reader.h"

namespace postern::audit {
namespace {

using nlohmann::json;

// One event's line: output is written in chunks far smaller, so a longer line is no recording.
constexpr size_t kMaxCastLine = 16 << 20;

bool positive_int(const json& j, const char* key, int& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer() || *it <= 0 || *it > 100000) return false;
  out = it->get<int>();
  return true;
}

}  // namespace

Result<CastHeader> parse_cast_header(std::string_view line) {
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Unexpected("header is not JSON");
  if (!j.is_object()) return Unexpected("header is not a JSON object (not an asciicast file?)");
  auto version = j.find("version");
  if (version == j.end() || !version->is_number_integer())
    return Unexpected("header has no version");
  if (*version != 2)
    return Unexpected("asciicast version " + version->dump() + " is not supported (only 2)");
  CastHeader h;
  if (!positive_int(j, "width", h.width) || !positive_int(j, "height", h.height))
    return Unexpected("header has no positive width and height");
  auto idle = j.find("idle_time_limit");
  if (idle != j.end() && !idle->is_null()) {
    if (!idle->is_number() || *idle <= 0)
      return Unexpected("header's idle_time_limit is not a positive number");
    h.idle_time_limit = idle->get<double>();
  }
  return h;
}

Result<CastEvent> parse_cast_event(std::string_view line) {
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Unexpected("not JSON");
  if (!j.is_array() || j.size() != 3) return Unexpected("not an event [time, code, data]");
  if (!j[0].is_number() || !std::isfinite(j[0].get<double>()) || j[0].get<double>() < 0)
    return Unexpected("event time is not a number of seconds >= 0");
  if (!j[1].is_string() || j[1].get_ref<const std::string&>().empty())
    return Unexpected("event code is not a string");
  if (!j[2].is_string()) return Unexpected("event data is not a string");
  return CastEvent{j[0].get<double>(), j[1].get<std::string>(), j[2].get<std::string>()};
}

Result<void> play_cast(const std::string& path, const PlayOptions& options, std::ostream& out,
                       const std::function<void(double)>& sleep) {
  if (!(options.speed > 0) || !std::isfinite(options.speed))
    return Unexpected("speed must be a number above 0");
  auto reader = LineReader::open(path, kMaxCastLine);
  if (!reader) return Unexpected("recording " + reader.error().message);
  auto where = [&] { return path + ":" + std::to_string(reader->number()) + ": "; };
  std::string line;
  auto more = reader->next(line);
  if (!more) return Unexpected(more.error());
  if (!*more) return Unexpected(path + ": empty file, no asciicast header");
  auto header = parse_cast_header(line);
  if (!header) return Unexpected(where() + header.error().message);
  double last = 0, last_output = 0;  // pauses run from one output to the next
  for (;;) {
    more = reader->next(line);
    if (!more) return Unexpected(more.error());
    if (!*more) break;
    if (line.empty()) continue;  // a blank line carries nothing
    auto ev = parse_cast_event(line);
    if (!ev) return Unexpected(where() + ev.error().message);
    if (ev->time < last)
      return Unexpected(where() + "event time goes back (" + std::to_string(ev->time) + " after " +
                        std::to_string(last) + ")");
    last = ev->time;
    if (ev->code != "o") continue;  // input, resizes and markers show nothing
    double pause = ev->time - last_output;
    last_output = ev->time;
    if (options.wait && pause > 0) {
      if (header->idle_time_limit) pause = std::min(pause, *header->idle_time_limit);
      out.flush();
      sleep(pause / options.speed);
    }
    out << ev->data;
  }
  out.flush();
  return {};
}

}  // namespace postern::audit
