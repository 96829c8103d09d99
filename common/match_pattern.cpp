#include "common/match_pattern.h"

#include <cctype>

namespace postern {
namespace {

bool same_char(char a, char b, bool case_insensitive) {
  if (!case_insensitive) return a == b;
  return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
}

}  // namespace

// Greedy matching that remembers only the last '*': when a later literal fails, the last star
// absorbs one more character and matching resumes there. That is enough for globs with only
// '*' and '?', and it runs in O(len(str) * len(pattern)) at worst with no recursion, so a
// hostile pattern or string cannot blow the stack.
bool match_pattern(std::string_view str, std::string_view pattern, bool case_insensitive) {
  size_t s = 0, p = 0;
  size_t star_p = std::string_view::npos, star_s = 0;
  while (s < str.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star_p = p++;
      star_s = s;
    } else if (p < pattern.size() &&
               (pattern[p] == '?' || same_char(pattern[p], str[s], case_insensitive))) {
      ++p;
      ++s;
    } else if (star_p != std::string_view::npos) {
      p = star_p + 1;
      s = ++star_s;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

PatternMatch match_pattern_list(std::string_view str, std::string_view list,
                                bool case_insensitive) {
  PatternMatch result = PatternMatch::kNone;
  while (true) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    bool negated = !item.empty() && item[0] == '!';
    if (negated) item.remove_prefix(1);
    if (!item.empty() && match_pattern(str, item, case_insensitive)) {
      if (negated) return PatternMatch::kNegated;
      result = PatternMatch::kMatch;
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return result;
}

PatternMatch match_pattern_list(std::string_view str, const std::vector<std::string>& patterns,
                                bool case_insensitive) {
  PatternMatch result = PatternMatch::kNone;
  for (const auto& p : patterns) {
    PatternMatch m = match_pattern_list(str, p, case_insensitive);
    if (m == PatternMatch::kNegated) return m;
    if (m == PatternMatch::kMatch) result = m;
  }
  return result;
}

}  // namespace postern
