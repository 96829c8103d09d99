// postern-audit export --html: one session as a self-contained HTML page an auditor opens in a
// browser without postern: the asciinema-player (inlined) plays each recording (inlined), with the
// session's metadata and file events beside it. Pure: the caller reads the log and the files.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "audit/audit_sessions.h"

namespace postern::audit {

struct ExportRecording {
  std::string path;     // as the audit log names it
  std::string channel;  // the channel kind it recorded ("shell", "exec"), when the log says
  std::string cast;     // the asciicast v2 text, checked (cast_file.h)
  int width = 0, height = 0;
  std::string logged_sha256;  // what the audit log recorded when it closed; "" if it did not
  std::string file_sha256;    // of the file as read now
};

struct ExportSession {
  SessionSummary summary;
  std::vector<AuditJson> file_events;  // the session's "file" events, in the log's order
  std::vector<ExportRecording> recordings;
  std::string exported_at;  // RFC 3339, shown on the page
};

struct PlayerAssets {
  std::string_view js, css, version;  // player_assets.h in the binary; small fakes in tests
};

// The page's Content-Security-Policy: nothing is fetched (default-src 'none'), the inline player
// and styles run, images only as data: URLs. 'wasm-unsafe-eval' lets the player compile the
// terminal emulator it carries as WebAssembly (CSP3 §6.1.2 "script-src"); it loads no code.
inline constexpr const char* kExportCsp =
    "default-src 'none'; script-src 'unsafe-inline' 'wasm-unsafe-eval'; "
    "style-src 'unsafe-inline'; img-src data:";

std::string export_html_page(const ExportSession& session, const PlayerAssets& player);

// Text for an HTML element's content or a quoted attribute value: & < > " ' as references, C0
// controls other than tab and newline and malformed UTF-8 as U+FFFD.
std::string html_escape(std::string_view text);

// A JSON string literal that is safe inside an HTML <script> element: besides JSON's escapes,
// < > & as \u003c \u003e \u0026 (so no "</script>" or "<!--" can end or bend the element, HTML
// Living Standard 4.12.1.3) and U+2028/U+2029 escaped; malformed UTF-8 becomes U+FFFD.
std::string script_json_string(std::string_view text);

// Whether the recording on disk is the one the audit log hashed.
enum class RecordingCheck { kMatches, kDiffers, kNotLogged };
RecordingCheck check_recording(const ExportRecording& r);

}  // namespace postern::audit
