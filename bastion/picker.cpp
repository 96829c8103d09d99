#include "bastion/picker.h"

#include <algorithm>
#include <cctype>

#include "bastion/route.h"

namespace postern::bastion {

namespace {

// An answer longer than any account@target is not one; it is cut before it is matched or shown.
constexpr size_t kMaxAnswer = 256;
// "1) " .. "99999) ": a number of more digits names no entry.
constexpr size_t kMaxNumberDigits = 6;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

std::vector<size_t> all_indices(size_t n) {
  std::vector<size_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

PickOutcome none(size_t n, std::string note) {
  PickOutcome o;
  o.kind = PickOutcome::kNone;
  o.shown = all_indices(n);
  o.note = std::move(note);
  return o;
}

PickOutcome chosen(const PickerEntry& e, std::string_view account) {
  PickOutcome o;
  o.kind = PickOutcome::kChosen;
  o.target_user = std::string(account);
  o.target = e.target;
  return o;
}

// An entry whose account is "*" names no account to log in as: it is shown alone, with a note.
PickOutcome ask_account(size_t index, const PickerEntry& e) {
  PickOutcome o;
  o.kind = PickOutcome::kNarrowed;
  o.shown = {index};
  o.note = "Any account on " + e.target + ": type ACCOUNT@" + e.target;
  return o;
}

}  // namespace

std::vector<PickerEntry> picker_entries(const Policy& policy, const Subject& subject) {
  std::vector<PickerEntry> out;
  for (const Reachable& r : reachable_targets(policy, subject)) {
    ResolvedTarget rt{r.target, r.target->name, r.target->address, r.target->port};
    for (const std::string& u : r.target_users) {
      Decision d = decide(policy, subject, rt, u, "");
      out.push_back(PickerEntry{u, r.target->name, r.target->tags, d.role});
    }
  }
  return out;
}

std::string picker_line(const PickerEntry& e) {
  std::string line = e.target_user + "@" + e.target;
  if (!e.tags.empty()) {
    line += "  [";
    for (size_t i = 0; i < e.tags.size(); ++i) line += (i ? "," : "") + e.tags[i];
    line += "]";
  }
  if (!e.role.empty()) line += "  role " + e.role;
  return line;
}

PickOutcome pick_target(const std::vector<PickerEntry>& entries, const std::vector<size_t>& shown,
                        std::string_view answer) {
  if (answer.size() > kMaxAnswer) return none(entries.size(), "That answer is too long.");
  std::string_view a = trim(answer);
  if (a.empty()) return none(entries.size(), "Type a number, user@target or part of a name.");
  if (!printable(a)) return none(entries.size(), "That answer holds unprintable characters.");

  if (std::all_of(a.begin(), a.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    size_t n = 0;
    if (a.size() <= kMaxNumberDigits)
      for (char c : a) n = n * 10 + size_t(c - '0');
    if (n < 1 || n > shown.size() || a.size() > kMaxNumberDigits)
      return none(entries.size(),
                  "No choice " + std::string(a.substr(0, kMaxNumberDigits)) + " in that list.");
    size_t i = shown[n - 1];
    if (entries[i].target_user == "*") return ask_account(i, entries[i]);
    return chosen(entries[i], entries[i].target_user);
  }

  // account@target: exactly an entry of the full list (or a "*" entry of that target). Target
  // names compare as the policy spells them; what is not listed is not taken, so the answer
  // reveals nothing about targets the user may not use.
  if (size_t at = a.find('@'); at != std::string_view::npos) {
    std::string_view account = a.substr(0, at);
    std::string_view target = a.substr(at + 1);
    const PickerEntry* any = nullptr;
    for (const PickerEntry& e : entries) {
      if (e.target != target) continue;
      if (e.target_user == "*")
        any = &e;
      else if (e.target_user == account)
        return chosen(e, account);
    }
    // A "*" grant takes any account the route syntax accepts.
    if (any != nullptr && !account.empty() && account != "*" && account.find('%') == account.npos)
      return chosen(*any, account);
    return none(entries.size(), std::string(a) + " is not in your list.");
  }

  std::string filter = lower(a);
  PickOutcome o;
  for (size_t i = 0; i < entries.size(); ++i)
    if (lower(picker_line(entries[i])).find(filter) != std::string::npos) o.shown.push_back(i);
  if (o.shown.empty()) return none(entries.size(), "Nothing matches \"" + std::string(a) + "\".");
  if (o.shown.size() == 1) {
    const PickerEntry& e = entries[o.shown[0]];
    if (e.target_user == "*") return ask_account(o.shown[0], e);
    return chosen(e, e.target_user);
  }
  o.kind = PickOutcome::kNarrowed;
  o.note = std::to_string(o.shown.size()) + " match \"" + std::string(a) + "\":";
  return o;
}

std::string picker_instruction(const std::vector<PickerEntry>& entries,
                               const std::vector<size_t>& shown, std::string_view note,
                               size_t max_bytes) {
  std::string out;
  if (!note.empty()) out.append(note).append("\n");
  // Room is kept for the last line, which counts what did not fit.
  constexpr size_t kTailRoom = 80;
  for (size_t n = 0; n < shown.size(); ++n) {
    std::string line = std::to_string(n + 1) + ") " + picker_line(entries[shown[n]]) + "\n";
    if (out.size() + line.size() + kTailRoom > max_bytes) {
      out += "... and " + std::to_string(shown.size() - n) + " more: type a filter to narrow.\n";
      break;
    }
    out += line;
  }
  return out;
}

PickerConversation::PickerConversation(std::vector<PickerEntry> entries)
    : m_entries(std::move(entries)) {
  restart();
}

void PickerConversation::restart() {
  m_shown = all_indices(m_entries.size());
  m_note.clear();
  m_rounds = 0;
}

std::string PickerConversation::instruction() const {
  return picker_instruction(m_entries, m_shown, m_note, kMaxInstruction);
}

PickOutcome PickerConversation::answer(std::string_view text) {
  ++m_rounds;
  PickOutcome o = pick_target(m_entries, m_shown, text);
  if (o.kind != PickOutcome::kChosen) {
    m_shown = o.shown;
    m_note = o.note;
  }
  return o;
}

}  // namespace postern::bastion
