// The keyword table (internal to common/config): one row per sshd_config(5) keyword, in the order
// `sshd -T` prints them. A row names the member, whether Match may set it, its default as config
// text, and the format functions that parse, print and copy it (value_formats.h). Adding a
// keyword = adding a row to keyword_table.cpp.
#pragma once

#include <span>
#include <string>
#include <variant>
#include <vector>

#include "common/config/server_config.h"

namespace postern::config::detail {

// The arguments of one line after the keyword.
struct Args {
  std::vector<std::string> words;  // split and unquoted
  std::string rest;                // raw text after the keyword and separator
  size_t pos = 0;
  bool done() const { return pos >= words.size(); }
  const std::string* next() { return done() ? nullptr : &words[pos++]; }
};

struct ParseContext {
  std::string where;    // "FILE line N"
  std::string keyword;  // as written
  bool apply = true;    // store the value (active and first, or accumulating)
  std::string fatal;    // set by a format on a bad value
  const LoadOptions* options = nullptr;
  bool fail(std::string message) {
    fatal = where + ": " + message;
    return false;
  }
  bool fail_plain(std::string message) { return fail(std::move(message)); }
  // An error OpenSSH counts and reports with the others before "terminating" (not fatal at once).
  bool fail_counted(std::string message) {
    counted = true;
    return fail(std::move(message));
  }
  bool counted = false;
};

struct Keyword;
using ParseFn = bool (*)(const Keyword&, Args&, ServerConfig&, ParseContext&);
// Values to print, one per output line. `quote`: for config text (serialisation) rather than -T.
using DumpFn = std::vector<std::string> (*)(const Keyword&, const ServerConfig&, bool quote);

using Member = std::variant<std::monostate, int ServerConfig::*, bool ServerConfig::*,
                            std::string ServerConfig::*, std::vector<std::string> ServerConfig::*,
                            LogLevel ServerConfig::*, std::vector<int> ServerConfig::*,
                            std::vector<ListenAddress> ServerConfig::*,
                            std::vector<Subsystem> ServerConfig::*, int64_t ServerConfig::*>;
using CopyFn = void (*)(ServerConfig& dst, const ServerConfig& src);

struct Choice {
  const char* name;
  int value;
};

enum KeywordFlags : unsigned {
  kInMatch = 1,     // allowed inside Match
  kNoDump = 2,      // not printed by -T
  kAccumulate = 4,  // every line adds values (HostKey, AcceptEnv...), no first-wins
  kDumpIfSet = 8,   // printed by -T only when not empty
  kPath = 16,       // a relative path is taken from the current directory, as sshd does
  // OpenSSH 9.2 takes the last value of these (no first-wins guard); the format may apply its
  // own rule (RekeyLimit).
  kLastWins = 32,
};

// One row of the table (keyword_table.cpp), written with designated initializers so each value
// names its field; fields a row leaves out keep the defaults below.
struct Keyword {
  const char* name = nullptr;  // canonical spelling (sshd_config(5))
  Member member = {};          // monostate: the row's copy function handles several members
  unsigned flags = 0;          // KeywordFlags
  const char* def = nullptr;   // default as config text ("@" = sysconfdir), nullptr = none
  ParseFn parse = nullptr;
  DumpFn dump = nullptr;
  std::span<const Choice> choices = {};
  CopyFn copy = nullptr;  // for keywords spanning several members
  int min = 0;            // integer range
  int max = 0x7fffffff;
  const char* error = nullptr;  // format-specific error text (e.g. "Bad SSH2 cipher spec")
  int algorithms = 0;           // AlgorithmKind for algorithm lists
  // The default under `OpenSSHDefaults 10` where OpenSSH 10 changed it; nullptr: the same.
  const char* def_openssh10 = nullptr;
};

// The default text of a row for `c` (OpenSSHDefaults picks 9.2's or 10's).
inline const char* default_text(const Keyword& kw, const ServerConfig& c) {
  return c.openssh_defaults == OpenSSHDefaults::k10 && kw.def_openssh10 != nullptr
             ? kw.def_openssh10
             : kw.def;
}

// A bit of ServerConfig::explicitly_set past the table: RekeyLimit's interval was given.
inline constexpr size_t kRekeyIntervalSet = kMaxKeywords - 1;

std::span<const Keyword> keyword_table();
// Index into keyword_table() of `name` (case-insensitive, aliases resolved), or -1.
int find_keyword(std::string_view name);

enum class Special { kNone, kDeprecated, kUnsupported, kIgnored };
Special special_keyword(std::string_view name);
// Whether sshd lets that deprecated keyword appear inside Match.
bool special_in_match(std::string_view name);

void copy_member(const Keyword& kw, ServerConfig& dst, const ServerConfig& src);

// Algorithm lists (algorithms.cpp).
// kCaKeyType: key types without certificates (CASignatureAlgorithms): the same names are valid,
// but a wildcard expands to plain key types only, as in sshd.
enum class AlgorithmKind { kCipher, kMac, kKex, kKeyType, kGssKex, kCaKeyType };
bool is_known_algorithm(AlgorithmKind kind, std::string_view name);
// Applies a list with optional +, - or ^ prefix to `defaults`; false if a name is unknown.
bool assemble_algorithms(AlgorithmKind kind, std::string_view spec, std::string_view defaults,
                         std::string& out);

}  // namespace postern::config::detail
