// The full-screen target picker (issue 13, ../shared/BASTION.md "interactive"): for a client that
// logged in without the keyboard-interactive picker and then asked for a pty and a shell. A pure
// state machine: the client's key bytes in, the bytes that redraw the screen out (plain VT100 /
// ANSI escapes); no I/O, so tests drive it byte by byte. The glue (pty_picker_channel.h) carries
// it over the session channel; the list comes from the monitor, which re-checks the choice.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"

namespace postern::bastion {

// One line of the list as the monitor sent it: "deploy@web1  [prod,web]  role ops" in `line`
// (what the filter matches and the screen shows). target_user "*": any account; the user types
// ACCOUNT@TARGET as the filter to name one.
struct PtyPickerEntry {
  std::string target_user;
  std::string target;
  std::string line;
};

class PtyPicker {
 public:
  enum class State { kPicking, kChosen, kCancelled };

  // Bounds: what the user types is never stored beyond these.
  static constexpr size_t kMaxFilter = 64;
  static constexpr size_t kMaxEscape = 16;  // an unfinished escape sequence, then dropped
  // The screen is drawn for at most this size (a bigger window sees the top-left part), so one
  // redraw stays a few hundred KiB at worst.
  static constexpr uint32_t kMaxCols = 400, kMaxRows = 200;
  static constexpr uint32_t kMinCols = 20, kMinRows = 4;

  PtyPicker(std::vector<PtyPickerEntry> entries, uint32_t cols, uint32_t rows);

  // The first screen: the alternate screen, cleared, the list.
  std::string start();
  // Key bytes as the client sent them; an escape sequence may be split across calls.
  std::string input(ByteView keys);
  std::string input(std::string_view keys) {
    return input(ByteView(reinterpret_cast<const uint8_t*>(keys.data()), keys.size()));
  }
  // How many bytes of the last input() were keys for the picker: after a choice, the rest were
  // typed for the target.
  size_t input_used() const { return m_input_used; }
  // window-change (RFC 4254 §6.7): the whole screen again at the new size.
  std::string resize(uint32_t cols, uint32_t rows);
  // A lone ESC at the end of the input is either the Esc key or the start of a sequence whose
  // rest is late; the glue calls this when no byte followed within a short time: it is Esc.
  bool escape_pending() const { return m_escape.size() == 1; }
  std::string escape_timeout();
  // The client can send no more keys (its EOF): nothing is chosen.
  std::string abandon();

  State state() const { return m_state; }
  // kChosen: the account and target.
  const std::string& chosen_user() const { return m_chosen_user; }
  const std::string& chosen_target() const { return m_chosen_target; }

  // For tests: what is on the screen now.
  const std::string& filter() const { return m_filter; }
  const std::vector<size_t>& matches() const { return m_matches; }
  size_t selected() const { return m_selected; }  // index into matches()
  size_t top() const { return m_top; }            // first match shown
  size_t list_rows() const { return m_rows - 3; }

 private:
  void key(uint8_t c);
  void escape_byte(uint8_t c);
  void discard_byte(uint8_t c);
  void sequence(std::string_view seq);  // a whole ESC sequence, without the ESC
  void move(long delta);
  void refilter();
  void enter();
  void cancel();
  void choose(const std::string& user, const std::string& target);
  std::string frame(bool clear) const;
  std::string finish_screen() const;

  std::vector<PtyPickerEntry> m_entries;
  uint32_t m_cols, m_rows;
  State m_state = State::kPicking;
  std::string m_filter;
  std::vector<size_t> m_matches;
  size_t m_selected = 0;
  size_t m_top = 0;
  std::string m_escape;       // ESC and what followed it, until the sequence is whole
  bool m_discarding = false;  // inside an overlong sequence, until its final byte
  std::string m_note;         // the status line's message for the last key, or ""
  bool m_dirty = false;       // the last input changed what the screen shows
  size_t m_input_used = 0;    // input_used()
  std::string m_chosen_user, m_chosen_target;
};

}  // namespace postern::bastion
