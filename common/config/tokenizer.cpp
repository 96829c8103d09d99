// The sshd_config(5) tokenizer: a line's arguments split into words (whitespace, "double" and
// 'single' quotes, backslash escapes, '#' comments), and the quoting that writes a word back so
// that the tokenizer reads it again unchanged (config text passed to the children).
#include "common/config/tokenizer.h"

#include <cctype>

#include "common/join.h"

namespace postern::config::detail {

std::string quote_word(const std::string& word) {
  // '#' would start a comment, a leading '=' would be read as the key=value separator.
  bool needs = word.empty() || word[0] == '#' || word[0] == '=';
  for (char ch : word)
    if (isspace(static_cast<unsigned char>(ch)) || ch == '"' || ch == '\'' || ch == '\\')
      needs = true;
  if (!needs) return word;
  std::string out = "\"";
  for (char ch : word) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

bool split_words(std::string_view text, std::vector<std::string>& out, std::string& error) {
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i >= text.size()) break;
    if (text[i] == '#') break;  // a comment to the end of the line
    std::string word;
    char quote = 0;
    while (i < text.size()) {
      char ch = text[i];
      if (quote == 0 && isspace(static_cast<unsigned char>(ch))) break;
      if (ch == '\\' && i + 1 < text.size() &&
          (text[i + 1] == '"' || text[i + 1] == '\'' || text[i + 1] == '\\' ||
           (quote == 0 && isspace(static_cast<unsigned char>(text[i + 1]))))) {
        word += text[i + 1];
        i += 2;
        continue;
      }
      if (quote == 0 && (ch == '"' || ch == '\'')) {
        quote = ch;
        ++i;
        continue;
      }
      if (quote != 0 && ch == quote) {
        quote = 0;
        ++i;
        continue;
      }
      word += ch;
      ++i;
    }
    if (quote != 0) {
      error = "invalid quotes";
      return false;
    }
    out.push_back(std::move(word));
  }
  return true;
}

std::string join_quoted(const std::vector<std::string>& words) {
  std::vector<std::string> quoted;
  quoted.reserve(words.size());
  for (const auto& w : words) quoted.push_back(quote_word(w));
  return join(quoted, " ");
}

}  // namespace postern::config::detail
