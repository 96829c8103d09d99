// The sshd_config(5) tokenizer (internal to common/config): splitting a line's arguments into
// words, and quoting a word so that the split gives it back.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace postern::config::detail {

// Config-text quoting for one word.
std::string quote_word(const std::string& word);
// Splits an argument string the way sshd_config(5) does: whitespace, "double" and 'single'
// quotes, backslash escapes; an unquoted '#' at the start of a word ends the line.
bool split_words(std::string_view text, std::vector<std::string>& out, std::string& error);
// The words as one line of config text: each quoted as needed, separated by spaces.
std::string join_quoted(const std::vector<std::string>& words);

}  // namespace postern::config::detail
