// %-token expansion for the keywords sshd_config(5) lists under TOKENS.
#include "common/config/tokens.h"

namespace postern::config {
namespace {

std::string_view allowed(TokenSet set) {
  switch (set) {
    case TokenSet::kAuthorizedKeysCommand:
      return "CDfhktUu";
    case TokenSet::kAuthorizedPrincipalsCommand:
      return "CDFfhiKksTtUu";
    case TokenSet::kAuthorizedKeysFile:
    case TokenSet::kAuthorizedPrincipalsFile:
    case TokenSet::kChrootDirectory:
      return "hUu";
    case TokenSet::kSftpStartDirectory:
      return "du";
  }
  return "";
}

}  // namespace

Result<std::string> expand_tokens(std::string_view text, TokenSet set, const TokenValues& values) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 1 >= text.size())
      return Unexpected("invalid format: '%' at end of \"" + std::string(text) + "\"");
    char t = text[++i];
    if (t == '%') {
      out += '%';
    } else if (allowed(set).find(t) != std::string_view::npos) {
      out += values.get(t);
    } else {
      return Unexpected(std::string("unknown key %") + t);
    }
  }
  return out;
}

}  // namespace postern::config
