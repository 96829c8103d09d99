#include "audit/export_html.h"

#include <cstdio>

namespace postern::audit {
namespace {

using json = AuditJson;

constexpr char32_t kReplacement = 0xFFFD;

// Decodes the UTF-8 code point at s[i] (RFC 3629 §4: no overlong forms, no surrogates, at most
// U+10FFFF) and advances i; a malformed byte is U+FFFD and advances one.
char32_t next_code_point(std::string_view s, size_t& i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  if (c < 0x80) {
    ++i;
    return c;
  }
  size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
  char32_t cp = len == 4 ? c & 0x07 : len == 3 ? c & 0x0f : c & 0x1f;
  if (len == 0 || c > 0xf4 || i + len > s.size()) {
    ++i;
    return kReplacement;
  }
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) {
      ++i;
      return kReplacement;
    }
    cp = (cp << 6) | (byte(i + k) & 0x3f);
  }
  static constexpr char32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMinForLength[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    ++i;
    return kReplacement;
  }
  i += len;
  return cp;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xc0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += char(0xe0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  } else {
    out += char(0xf0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3f));
    out += char(0x80 | ((cp >> 6) & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  }
}

void append_u_escape(std::string& out, unsigned unit) {
  char buf[8];
  snprintf(buf, sizeof buf, "\\u%04x", unit);
  out += buf;
}

std::string text_field(const json& ev, const char* name) {
  auto it = ev.find(name);
  if (it == ev.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string joined(const std::vector<std::string>& list) {
  std::string out;
  for (const auto& v : list) out += (out.empty() ? "" : ", ") + v;
  return out;
}

// A <dt>/<dd> pair; an empty value shows as a dash so a missing field is visibly missing.
std::string meta_row(const char* label, const std::string& value, const char* id) {
  return std::string("<dt>") + label + "</dt><dd id=\"" + id + "\">" +
         (value.empty() ? std::string("&#8212;") : html_escape(value)) + "</dd>\n";
}

std::string recording_figure(const ExportRecording& r, size_t i) {
  const std::string n = std::to_string(i);
  std::string verdict;
  switch (check_recording(r)) {
    case RecordingCheck::kMatches:
      verdict = "<p class=\"check ok\">The file matches the SHA-256 the audit log recorded.</p>";
      break;
    case RecordingCheck::kDiffers:
      verdict =
          "<p class=\"check bad\">The file does NOT match the SHA-256 the audit log recorded: it "
          "was changed after the session. It is not evidence of what was shown.</p>";
      break;
    case RecordingCheck::kNotLogged:
      verdict =
          "<p class=\"check unknown\">The audit log records no SHA-256 for this file (the "
          "recording was not closed), so it cannot be checked.</p>";
      break;
  }
  return "<figure class=\"recording\" id=\"recording-" + n +
         "\">\n<div class=\"player\" id=\"player-" + n + "\"></div>\n<figcaption>\n<dl>\n" +
         meta_row("Recording", r.path, ("path-" + n).c_str()) +
         meta_row("Channel", r.channel, ("channel-" + n).c_str()) +
         meta_row("SHA-256 in the log", r.logged_sha256, ("logged-sha256-" + n).c_str()) +
         meta_row("SHA-256 of the file", r.file_sha256, ("file-sha256-" + n).c_str()) + "</dl>\n" +
         verdict + "\n</figcaption>\n</figure>\n";
}

std::string file_events_table(const std::vector<json>& events) {
  if (events.empty()) return "<p id=\"file-events\" class=\"none\">No file events.</p>\n";
  std::string out =
      "<table id=\"file-events\">\n<thead><tr><th>Time</th><th>Channel</th><th>Operation</th>"
      "<th>Bytes up</th><th>Bytes down</th></tr></thead>\n<tbody>\n";
  for (const auto& ev : events) {
    out += "<tr><td>" + html_escape(text_field(ev, "time")) + "</td><td>" +
           html_escape(text_field(ev, "channel")) + "</td><td class=\"detail\">" +
           html_escape(text_field(ev, "detail")) + "</td><td class=\"n\">" +
           html_escape(text_field(ev, "bytes_up")) + "</td><td class=\"n\">" +
           html_escape(text_field(ev, "bytes_down")) + "</td></tr>\n";
  }
  return out + "</tbody>\n</table>\n";
}

// The players: one per recording, the first playing on open. Every value crosses into the
// script as a script-safe JSON literal, never as markup.
std::string players_script(const std::vector<ExportRecording>& recordings) {
  std::string list = "[";
  for (size_t i = 0; i < recordings.size(); ++i) {
    const auto& r = recordings[i];
    list += (i ? ",\n" : "\n") + std::string("{\"element\":") +
            script_json_string("player-" + std::to_string(i)) +
            ",\"cols\":" + std::to_string(r.width) + ",\"rows\":" + std::to_string(r.height) +
            ",\"cast\":" + script_json_string(r.cast) + "}";
  }
  list += "]";
  return "<script>\n(function () {\n\"use strict\";\nvar recordings = " + list +
         ";\nrecordings.forEach(function (r, i) {\n"
         "  var element = document.getElementById(r.element);\n"
         "  try {\n"
         "    AsciinemaPlayer.create({data: r.cast}, element,\n"
         "        {cols: r.cols, rows: r.rows, autoPlay: i === 0, fit: \"width\"});\n"
         "  } catch (e) {\n"
         "    element.textContent = \"The player could not start: \" + e;\n"
         "  }\n"
         "});\n})();\n</script>\n";
}

constexpr const char* kPageCss = R"(
body { font-family: sans-serif; margin: 1.5em; color: #222; background: #fafafa; }
h1 { font-size: 1.4em; margin: 0 0 .2em; }
h2 { font-size: 1.1em; margin: 1em 0 .4em; }
.exported { color: #666; margin: 0 0 1em; }
main { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }
.recordings { flex: 3 1 40em; min-width: 0; }
aside { flex: 1 1 22em; min-width: 0; }
figure { margin: 0 0 1.5em; }
figcaption { font-size: .9em; margin-top: .5em; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; margin: 0; }
dt { font-weight: bold; }
dd { margin: 0; font-family: monospace; overflow-wrap: anywhere; }
.check { padding: .3em .6em; border-radius: 4px; }
.check.ok { background: #e3f4e3; }
.check.bad { background: #fbe0e0; font-weight: bold; }
.check.unknown { background: #fff4d6; }
table { border-collapse: collapse; font-size: .85em; width: 100%; }
th, td { border: 1px solid #ccc; padding: .2em .4em; text-align: left; vertical-align: top; }
td.detail { font-family: monospace; overflow-wrap: anywhere; }
td.n { text-align: right; }
footer { margin-top: 2em; color: #666; font-size: .85em; }
)";

}  // namespace

RecordingCheck check_recording(const ExportRecording& r) {
  if (r.logged_sha256.empty()) return RecordingCheck::kNotLogged;
  return r.logged_sha256 == r.file_sha256 ? RecordingCheck::kMatches : RecordingCheck::kDiffers;
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    char32_t cp = next_code_point(text, i);
    switch (cp) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        // Controls have no place in text (HTML Living Standard 13.2.5: a parse error).
        if ((cp < 0x20 && cp != '\t' && cp != '\n') || cp == 0x7f) cp = kReplacement;
        append_utf8(out, cp);
    }
  }
  return out;
}

std::string script_json_string(std::string_view text) {
  std::string out = "\"";
  out.reserve(text.size() + 2);
  for (size_t i = 0; i < text.size();) {
    char32_t cp = next_code_point(text, i);
    switch (cp) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '<':
      case '>':
      case '&':
      case 0x2028:
      case 0x2029:
        append_u_escape(out, unsigned(cp));
        break;
      default:
        if (cp < 0x20 || cp == 0x7f)
          append_u_escape(out, unsigned(cp));  // JSON (RFC 8259 §7) needs only < 0x20
        else
          append_utf8(out, cp);
    }
  }
  return out + "\"";
}

std::string export_html_page(const ExportSession& session, const PlayerAssets& player) {
  const SessionSummary& s = session.summary;
  std::string version(player.version);
  while (!version.empty() && (version.back() == '\n' || version.back() == ' ')) version.pop_back();

  std::string page = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  page += std::string("<meta http-equiv=\"Content-Security-Policy\" content=\"") + kExportCsp +
          "\">\n<meta name=\"referrer\" content=\"no-referrer\">\n";
  page += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  page += "<title>postern session " + html_escape(s.id) + "</title>\n";
  page += "<style>\n" + std::string(player.css) + "\n</style>\n";
  page += "<style>" + std::string(kPageCss) + "</style>\n</head>\n<body>\n";
  page += "<header>\n<h1>postern bastion session <code id=\"session-id\">" + html_escape(s.id) +
          "</code></h1>\n<p class=\"exported\">Exported by postern-audit at " +
          html_escape(session.exported_at) +
          " from the audit log and the recordings it names.</p>\n"
          "</header>\n<main>\n<section class=\"recordings\">\n<h2>Recordings</h2>\n";
  if (session.recordings.empty())
    page += "<p class=\"none\">This session has no recording.</p>\n";
  else
    page += "<noscript><p>The player needs JavaScript.</p></noscript>\n";
  for (size_t i = 0; i < session.recordings.size(); ++i)
    page += recording_figure(session.recordings[i], i);
  page += "</section>\n<aside>\n<h2>Session</h2>\n<dl id=\"metadata\">\n";
  page += meta_row("Session", s.id, "meta-session");
  page += meta_row("Bastion user", s.bastion_user, "meta-bastion-user");
  page += meta_row("Client", s.client, "meta-client");
  page += meta_row("Target", joined(s.targets), "meta-target");
  page += meta_row("Channels", joined(s.channels), "meta-channels");
  page += meta_row("Start", s.start, "meta-start");
  page += meta_row("End", s.end, "meta-end");
  page += meta_row("Exit status", s.exit_status, "meta-exit-status");
  page += "</dl>\n<h2>File events</h2>\n" + file_events_table(session.file_events);
  page += "</aside>\n</main>\n<footer>Player: asciinema-player " + html_escape(version) +
          " (Apache License 2.0), inlined; this page loads nothing from the network.</footer>\n";
  if (!session.recordings.empty()) {
    page += "<script>\n" + std::string(player.js) + "\n</script>\n";
    page += players_script(session.recordings);
  }
  page += "</body>\n</html>\n";
  return page;
}

}  // namespace postern::audit
