// `sshd -T` output and the serialised form handed to child processes, both driven by the table.
#include <cctype>

#include "common/config/keywords.h"

namespace postern::config {
namespace {

using namespace detail;

std::string lower(const char* s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return out;
}

// The first line of serialised text carries which keywords were explicitly set.
constexpr std::string_view kSetMarker = "#postern-set ";

}  // namespace

std::string dump_config(const ServerConfig& config) {
  std::string out;
  for (const Keyword& kw : keyword_table()) {
    if (kw.flags & kNoDump) continue;
    std::string name = lower(kw.name);
    for (const auto& value : kw.dump(kw, config, false)) out += name + " " + value + "\n";
  }
  return out;
}

std::string serialize_config(const ServerConfig& config) {
  std::string out = std::string(kSetMarker) + config.explicitly_set.to_string() + "\n";
  for (const Keyword& kw : keyword_table()) {
    for (const auto& value : kw.dump(kw, config, true))
      out += std::string(kw.name) + " " + value + "\n";
  }
  for (size_t b = 0; b < config.match_blocks.size(); ++b) {
    out += "Match " + config.match_blocks[b] + "\n";
    for (const auto& line : config.match_lines)
      if (line.match_block == static_cast<int>(b)) out += line.text + "\n";
  }
  return out;
}

Result<ServerConfig> deserialize_config(std::string_view text) {
  std::bitset<kMaxKeywords> set;
  if (text.substr(0, kSetMarker.size()) == kSetMarker) {
    size_t end = text.find('\n');
    std::string bits(text.substr(kSetMarker.size(), end - kSetMarker.size()));
    if (bits.size() != kMaxKeywords || bits.find_first_not_of("01") != std::string::npos)
      return Unexpected("serialized config: bad header");
    set = std::bitset<kMaxKeywords>(bits);
  }
  auto cfg = parse_server_config(text, "serialized config", {});
  if (!cfg) return cfg;
  cfg->explicitly_set = set;
  return cfg;
}

}  // namespace postern::config
