#include "bastion/pty_picker.h"

#include <algorithm>
#include <cctype>

namespace postern::bastion {

namespace {

constexpr uint8_t kEsc = 0x1b;
constexpr std::string_view kTitle =
    "postern target picker: type to filter, arrows move, Enter connects, Esc leaves";

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

uint32_t clamp_size(uint32_t v, uint32_t fallback, uint32_t lo, uint32_t hi) {
  if (v == 0) v = fallback;  // RFC 4254 §6.2: zero means "not given"
  return std::clamp(v, lo, hi);
}

// ACCOUNT@TARGET typed as the filter, for a "*" entry of TARGET: the account, or "".
std::string account_for(const std::string& filter, const PtyPickerEntry& e) {
  size_t at = filter.find('@');
  if (at == std::string::npos || at == 0) return "";
  std::string account = filter.substr(0, at);
  if (lower(filter.substr(at + 1)) != lower(e.target)) return "";
  // What the route syntax takes as an account (bastion/route.cpp): no separator, not "*".
  if (account == "*" || account.find('%') != std::string::npos ||
      account.find(' ') != std::string::npos)
    return "";
  return account;
}

}  // namespace

PtyPicker::PtyPicker(std::vector<PtyPickerEntry> entries, uint32_t cols, uint32_t rows)
    : m_entries(std::move(entries)),
      m_cols(clamp_size(cols, 80, kMinCols, kMaxCols)),
      m_rows(clamp_size(rows, 24, kMinRows, kMaxRows)) {
  refilter();
}

std::string PtyPicker::start() {
  m_dirty = false;
  // The alternate screen (xterm, kept by tmux and screen): leaving restores what was there.
  return "\x1b[?1049h" + frame(true);
}

std::string PtyPicker::input(ByteView keys) {
  m_input_used = 0;
  if (m_state != State::kPicking) return "";
  m_dirty = false;
  for (uint8_t c : keys) {
    if (m_state != State::kPicking) break;  // what follows the choice is the target's
    ++m_input_used;
    if (m_discarding)
      discard_byte(c);
    else if (!m_escape.empty())
      escape_byte(c);
    else
      key(c);
  }
  if (m_state != State::kPicking) return finish_screen();
  return m_dirty ? frame(false) : std::string();
}

std::string PtyPicker::resize(uint32_t cols, uint32_t rows) {
  if (m_state != State::kPicking) return "";
  m_cols = clamp_size(cols, m_cols, kMinCols, kMaxCols);
  m_rows = clamp_size(rows, m_rows, kMinRows, kMaxRows);
  move(0);  // the selection stays on the screen
  return frame(true);
}

std::string PtyPicker::escape_timeout() {
  if (!escape_pending() || m_state != State::kPicking) return "";
  m_escape.clear();
  cancel();
  return finish_screen();
}

std::string PtyPicker::abandon() {
  if (m_state != State::kPicking) return "";
  m_escape.clear();
  cancel();
  return finish_screen();
}

void PtyPicker::key(uint8_t c) {
  switch (c) {
    case kEsc:
      m_escape.assign(1, char(kEsc));
      return;
    case 0x03:  // Ctrl-C
      return cancel();
    case '\r':
    case '\n':
      return enter();
    case 0x7f:  // Backspace (DEL, as xterm sends it) and Ctrl-H
    case 0x08:
      if (!m_filter.empty()) {
        m_filter.pop_back();
        refilter();
      }
      return;
    case 0x15:  // Ctrl-U: the whole filter
      m_filter.clear();
      return refilter();
    case 0x10:  // Ctrl-P, Ctrl-N (emacs, readline)
      return move(-1);
    case 0x0e:
      return move(1);
    case 0x0c:  // Ctrl-L
      m_dirty = true;
      return;
    default:
      break;
  }
  if (c < 0x20 || c >= 0x7f) return;  // other controls, and non-ASCII: no target name has them
  if (m_filter.size() >= kMaxFilter) {
    m_note = "The filter is at most " + std::to_string(kMaxFilter) + " characters.";
    m_dirty = true;
    return;
  }
  m_filter += char(c);
  refilter();
}

// ECMA-48 §5.4: CSI (ESC [) parameter bytes 0x30-0x3F, intermediate bytes 0x20-0x2F, one final
// byte 0x40-0x7E; SS3 (ESC O, application cursor keys) is followed by one byte.
void PtyPicker::escape_byte(uint8_t c) {
  if (m_escape.size() == 1) {
    if (c == '[' || c == 'O') {
      m_escape += char(c);
      return;
    }
    // ESC then anything else: the Esc key was pressed (and Alt-key is no picker key).
    m_escape.clear();
    return cancel();
  }
  m_escape += char(c);
  bool ss3 = m_escape[1] == 'O';
  if (ss3 || (c >= 0x40 && c <= 0x7e)) {
    std::string seq = m_escape.substr(1);
    m_escape.clear();
    return sequence(seq);
  }
  // Not a byte of a CSI sequence: dropped. Longer than any key's: dropped, and the rest of it
  // up to its final byte, so that its parameters are not taken as typing.
  if (c < 0x20 || c > 0x3f) {
    m_escape.clear();
  } else if (m_escape.size() >= kMaxEscape) {
    m_escape.clear();
    m_discarding = true;
  }
}

void PtyPicker::discard_byte(uint8_t c) {
  if (c >= 0x20 && c <= 0x3f) return;
  m_discarding = false;
  if (c < 0x40 || c > 0x7e) key(c);  // not part of the sequence after all
}

void PtyPicker::sequence(std::string_view seq) {
  long page = long(list_rows());
  if (seq == "[A" || seq == "OA") return move(-1);
  if (seq == "[B" || seq == "OB") return move(1);
  if (seq == "[5~") return move(-page);
  if (seq == "[6~") return move(page);
  if (seq == "[H" || seq == "OH" || seq == "[1~" || seq == "[7~")
    return move(-long(m_entries.size()));
  if (seq == "[F" || seq == "OF" || seq == "[4~" || seq == "[8~")
    return move(long(m_entries.size()));
  // Anything else (left, right, function keys, a focus report) means nothing here.
}

void PtyPicker::move(long delta) {
  m_dirty = true;
  if (m_matches.empty()) return;
  long last = long(m_matches.size()) - 1;
  m_selected = size_t(std::clamp(long(m_selected) + delta, 0L, last));
  size_t rows = list_rows();
  if (m_selected < m_top) m_top = m_selected;
  if (m_selected >= m_top + rows) m_top = m_selected - rows + 1;
  // A taller window shows more of the list rather than empty rows below its end.
  if (m_top + rows > m_matches.size())
    m_top = m_matches.size() > rows ? m_matches.size() - rows : 0;
}

void PtyPicker::refilter() {
  std::string f = lower(m_filter);
  m_matches.clear();
  for (size_t i = 0; i < m_entries.size(); ++i) {
    const PtyPickerEntry& e = m_entries[i];
    bool hit = lower(e.line).find(f) != std::string::npos;
    if (!hit && e.target_user == "*") hit = !account_for(m_filter, e).empty();
    if (hit) m_matches.push_back(i);
  }
  m_selected = 0;
  m_top = 0;
  m_note.clear();
  m_dirty = true;
}

void PtyPicker::enter() {
  m_dirty = true;
  if (m_matches.empty()) {
    m_note = "Nothing to connect to: change the filter.";
    return;
  }
  const PtyPickerEntry& e = m_entries[m_matches[m_selected]];
  if (e.target_user != "*") return choose(e.target_user, e.target);
  std::string account = account_for(m_filter, e);
  if (account.empty()) {
    m_note = "Any account on " + e.target + ": type ACCOUNT@" + e.target + ", then Enter.";
    return;
  }
  choose(account, e.target);
}

void PtyPicker::cancel() {
  m_state = State::kCancelled;
}

void PtyPicker::choose(const std::string& user, const std::string& target) {
  m_state = State::kChosen;
  m_chosen_user = user;
  m_chosen_target = target;
}

// One screen: the title, the filter line, the visible part of the list (the selection in
// reverse video), a status line; each row addressed (CUP) and cleared to its end (EL), so a
// redraw needs no full clear and does not flicker.
std::string PtyPicker::frame(bool clear) const {
  size_t width = m_cols - 1;  // the last column is left alone: no autowrap, no scroll
  auto fit = [&](std::string_view s) {
    std::string out;
    for (char c : s.substr(0, std::min(s.size(), width))) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    return out;
  };
  auto row = [&](uint32_t r) { return "\x1b[" + std::to_string(r) + ";1H"; };
  std::string out = clear ? "\x1b[H\x1b[2J" : "";
  out += row(1) + fit(kTitle) + "\x1b[K";
  out += row(2) + fit("Filter: " + m_filter) + "\x1b[K";
  size_t rows = list_rows();
  for (size_t i = 0; i < rows; ++i) {
    out += row(uint32_t(3 + i));
    size_t n = m_top + i;
    if (n < m_matches.size()) {
      const std::string& line = m_entries[m_matches[n]].line;
      if (n == m_selected)
        out += "\x1b[7m" + fit("> " + line) + "\x1b[m";
      else
        out += fit("  " + line);
    }
    out += "\x1b[K";
  }
  std::string status = m_note;
  if (status.empty() && m_matches.empty())
    status = "No target matches \"" + m_filter + "\" (Backspace, Ctrl-U clears)";
  if (status.empty()) {
    size_t last = std::min(m_matches.size(), m_top + rows);
    status = "Targets " + std::to_string(m_top + 1) + "-" + std::to_string(last) + " of " +
             std::to_string(m_matches.size());
    if (m_matches.size() != m_entries.size())
      status += " (" + std::to_string(m_entries.size()) + " in all)";
    if (m_matches.size() > rows) status += ", PgUp/PgDn scroll";
  }
  out += row(m_rows) + fit(status) + "\x1b[K";
  // The cursor where typing goes.
  size_t col = std::min(width, std::string_view("Filter: ").size() + m_filter.size()) + 1;
  out += "\x1b[2;" + std::to_string(col) + "H";
  return out;
}

std::string PtyPicker::finish_screen() const {
  std::string out = "\x1b[?1049l";
  if (m_state == State::kChosen)
    out += "postern: connecting to " + m_chosen_user + "@" + m_chosen_target + "\r\n";
  else
    out += "postern: no target chosen.\r\n";
  return out;
}

}  // namespace postern::bastion
