#include "audit/audit_sessions.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>

#include "audit/audit_time.h"
#include "audit/line_reader.h"
#include "bastion/audit_chain.h"

namespace postern::audit {
namespace {

using json = AuditJson;

// logrotate's rotate count rarely passes a few hundred; the bound keeps a stray name from
// sending the walk far.
constexpr int kMaxRotated = 1000;

std::string text_field(const json& ev, const char* name) {
  auto it = ev.find(name);
  if (it == ev.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

void add_unique(std::vector<std::string>& list, const std::string& v) {
  if (!v.empty() && std::find(list.begin(), list.end(), v) == list.end()) list.push_back(v);
}

std::string joined(const std::vector<std::string>& list) {
  std::string out;
  for (const auto& v : list) out += (out.empty() ? "" : ",") + v;
  return out;
}

std::string column(const std::string& v) {
  return v.empty() ? "-" : printable(v);
}

}  // namespace

std::vector<std::string> audit_files(const std::string& path) {
  std::vector<std::string> files;
  struct stat st {};
  int n = 1;
  while (n <= kMaxRotated && ::stat((path + "." + std::to_string(n)).c_str(), &st) == 0) ++n;
  for (int i = n - 1; i >= 1; --i) files.push_back(path + "." + std::to_string(i));
  if (::stat(path.c_str(), &st) == 0) files.push_back(path);
  return files;
}

Result<size_t> for_each_event(const std::vector<std::string>& files,
                              const std::function<void(const json&)>& on_event,
                              std::ostream& warn) {
  size_t skipped = 0;
  for (const auto& path : files) {
    auto reader = LineReader::open(path, bastion::kMaxAuditLine);
    if (!reader) return Unexpected(reader.error());
    std::string line;
    for (;;) {
      auto more = reader->next(line);
      if (!more) {
        // Past an overlong line the file's line numbers are lost: report it and go on with the
        // next file rather than guess.
        warn << more.error().message << " (skipped the rest of the file)\n";
        ++skipped;
        break;
      }
      if (!*more) break;
      json ev = json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (ev.is_discarded() || !ev.is_object()) {
        warn << path << ":" << reader->number() << ": skipped: not a JSON object\n";
        ++skipped;
        continue;
      }
      on_event(ev);
    }
  }
  return skipped;
}

void SessionIndex::add(const json& ev) {
  std::string id = text_field(ev, "session");
  if (id.empty()) return;
  auto [at, added] = m_by_id.emplace(id, m_sessions.size());
  if (added) {
    m_sessions.push_back(SessionSummary{});
    m_sessions.back().id = id;
  }
  SessionSummary& s = m_sessions[at->second];
  std::string time = text_field(ev, "time");
  if (s.start.empty()) s.start = time;
  if (!time.empty()) {
    s.end = time;
    if (auto ms = parse_rfc3339_ms(time)) s.end_ms = *ms;
  }
  if (s.bastion_user.empty()) s.bastion_user = text_field(ev, "bastion_user");
  if (s.client.empty()) s.client = text_field(ev, "client");
  std::string target = text_field(ev, "target"), target_user = text_field(ev, "target_user");
  if (!target.empty())
    add_unique(s.targets, target_user.empty() ? target : target_user + "@" + target);
  // The channels opened: the allowed channel decisions (and their closes). Other events name the
  // connection's own channel ("session") or a refused request.
  std::string event = text_field(ev, "event");
  if ((event == "channel" || event == "channel-close") && text_field(ev, "decision") != "deny")
    add_unique(s.channels, text_field(ev, "channel"));
  std::string exit_status = text_field(ev, "exit_status");
  if (!exit_status.empty()) s.exit_status = exit_status;
  add_unique(s.recordings, text_field(ev, "recording"));
}

bool SessionFilter::matches(const SessionSummary& s) const {
  if (user && s.bastion_user != *user) return false;
  if (target) {
    bool named = std::any_of(s.targets.begin(), s.targets.end(), [&](const std::string& t) {
      size_t at = t.rfind('@');
      return t == *target || (at != std::string::npos && t.substr(at + 1) == *target);
    });
    if (!named) return false;
  }
  if (since_ms && s.end_ms < *since_ms) return false;
  return true;
}

std::string session_columns_header() {
  return "SESSION\tSTART\tEND\tUSER\tCLIENT\tTARGET\tCHANNELS\tEXIT\tRECORDING";
}

std::string session_text_line(const SessionSummary& s) {
  return column(s.id) + "\t" + column(s.start) + "\t" + column(s.end) + "\t" +
         column(s.bastion_user) + "\t" + column(s.client) + "\t" + column(joined(s.targets)) +
         "\t" + column(joined(s.channels)) + "\t" + column(s.exit_status) + "\t" +
         column(joined(s.recordings));
}

json session_json(const SessionSummary& s) {
  json j = json::object();
  j["session"] = s.id;
  j["start"] = s.start;
  j["end"] = s.end;
  j["bastion_user"] = s.bastion_user;
  j["client"] = s.client;
  j["targets"] = s.targets;
  j["channels"] = s.channels;
  j["exit_status"] = s.exit_status.empty() ? json(nullptr) : json(s.exit_status);
  j["recordings"] = s.recordings;
  return j;
}

std::string event_text_line(const json& ev) {
  std::string out = column(text_field(ev, "time")) + " " + column(text_field(ev, "event"));
  for (const auto& [key, value] : ev.items()) {
    if (key == "time" || key == "event" || key == "session" || key == "prev") continue;
    // A zero says something only as a close event's byte count.
    bool zero_says_something =
        key.starts_with("bytes") && text_field(ev, "event").ends_with("close");
    if (value.is_null() || (value.is_string() && value.get_ref<const std::string&>().empty()) ||
        (value.is_number() && value == 0 && !zero_says_something) ||
        ((value.is_array() || value.is_object()) && value.empty()))
      continue;
    std::string v = value.is_string() ? value.get<std::string>() : value.dump();
    bool quote = v.find_first_of(" \t\"=") != std::string::npos;
    std::string shown = printable(v);
    if (quote) {
      std::string q = "\"";
      for (char c : shown) q += (c == '"' ? std::string("\\\"") : std::string(1, c));
      shown = q + "\"";
    }
    out += " " + printable(key) + "=" + shown;
  }
  return out;
}

std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    // U+0080..U+009F in UTF-8 (C2 80..C2 9F): C1 controls, which some terminals obey (CSI).
    if (c == 0xc2 && i + 1 < s.size() && (static_cast<unsigned char>(s[i + 1]) & 0xe0) == 0x80) {
      char hex[12];
      snprintf(hex, sizeof hex, "\\u%04x", static_cast<unsigned char>(s[++i]));
      out += hex;
      continue;
    }
    if (c < 0x20 || c == 0x7f || c == '\\') {
      if (c == '\\') {
        out += "\\\\";
        continue;
      }
      char hex[8];
      snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += char(c);
    }
  }
  return out;
}

}  // namespace postern::audit
