// Pattern matching as sshd_config(5) PATTERNS describes it: '*' matches zero or more
// characters, '?' exactly one; a pattern-list is comma-separated and a pattern prefixed with
// '!' negates, so a negated match rejects the whole list. Used by AcceptEnv, Match, the
// algorithm lists, AllowUsers and friends.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace postern {

// True when `str` matches the single glob `pattern` ('*' and '?'; no negation, no commas).
bool match_pattern(std::string_view str, std::string_view pattern, bool case_insensitive = false);

enum class PatternMatch { kNegated = -1, kNone = 0, kMatch = 1 };

// Matches `str` against a comma-separated pattern-list. A negated pattern that matches wins
// over any positive one (kNegated); otherwise kMatch when some positive pattern matches.
PatternMatch match_pattern_list(std::string_view str, std::string_view list,
                                bool case_insensitive = false);

// The same for patterns given as separate entries (e.g. several AcceptEnv words); each entry
// may itself be a comma-separated list.
PatternMatch match_pattern_list(std::string_view str, const std::vector<std::string>& patterns,
                                bool case_insensitive = false);

}  // namespace postern
