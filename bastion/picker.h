// The target picker's choice logic (issue 13, ../shared/BASTION.md "interactive"): the list of
// what a bastion user may reach, one answer at a time, as a pure state machine. The monitor
// carries it over keyboard-interactive (monitor/monitor_picker.cpp); nothing here does I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "bastion/decide.h"
#include "bastion/policy.h"

namespace postern::bastion {

// One line of the list: an account on a target, with the target's tags and the role that grants
// it. target_user "*": any account (the user must type `account@target`).
struct PickerEntry {
  std::string target_user;
  std::string target;
  std::vector<std::string> tags;
  std::string role;
};

// What `subject` may log in to, in policy order: reachable_targets with the granting role.
std::vector<PickerEntry> picker_entries(const Policy& policy, const Subject& subject);

// "deploy@web1  [prod,web]  role web-ops": the text a filter matches and the list shows.
std::string picker_line(const PickerEntry& e);

// The outcome of one answer.
struct PickOutcome {
  enum Kind {
    kChosen,    // target_user and target are set
    kNarrowed,  // several entries match: `shown` is the narrowed list
    kNone,      // nothing taken: `shown` is the full list again, `note` says why
  };
  Kind kind = kNone;
  std::string target_user;
  std::string target;
  std::vector<size_t> shown;  // indices into the entries
  std::string note;           // one line for the next round's instruction, or ""
};

// A number (of the list as shown), `account@target` (any entry of the full list), or else a
// case-insensitive substring filter over picker_line of every entry. A unique match is taken
// (unless its account is "*": then it is shown alone, asking for `account@target`).
PickOutcome pick_target(const std::vector<PickerEntry>& entries, const std::vector<size_t>& shown,
                        std::string_view answer);

// The instruction of a round: the note (if any), then the shown entries numbered from 1, as many
// as fit in `max_bytes`; the rest are counted in a last line that asks for a filter.
std::string picker_instruction(const std::vector<PickerEntry>& entries,
                               const std::vector<size_t>& shown, std::string_view note,
                               size_t max_bytes);

// One picker conversation: rounds until a choice or kMaxRounds answers without one.
class PickerConversation {
 public:
  static constexpr unsigned kMaxRounds = 5;
  // The instruction fits one keyboard-interactive request (RFC 4253 §6.1: 32768 bytes of
  // payload are all a client must accept) with the prompt and framing, and the ipc message.
  static constexpr size_t kMaxInstruction = 16 * 1024;
  static constexpr std::string_view kPrompt = "Target (number, user@target or filter): ";

  explicit PickerConversation(std::vector<PickerEntry> entries);

  const std::vector<PickerEntry>& entries() const { return m_entries; }
  // Starts over: the full list, no rounds used.
  void restart();
  // The current round's instruction.
  std::string instruction() const;
  // One answer. kNone or kNarrowed with `exhausted()` true: the conversation failed.
  PickOutcome answer(std::string_view text);
  bool exhausted() const { return m_rounds >= kMaxRounds; }

 private:
  std::vector<PickerEntry> m_entries;
  std::vector<size_t> m_shown;
  std::string m_note;
  unsigned m_rounds = 0;
};

}  // namespace postern::bastion
