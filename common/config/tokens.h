// sshd_config(5) TOKENS: %-expansion of AuthorizedKeysFile, AuthorizedKeysCommand,
// AuthorizedPrincipalsFile, AuthorizedPrincipalsCommand and ChrootDirectory at the time of use,
// and of sftp-server(8)'s -d start directory: the one expander for all of them.
//   TokenValues v;  v.set('u', pw->pw_name);  v.set('h', pw->pw_dir);  v.set('U', "1000");
//   auto path = expand_tokens(cfg.chroot_directory, TokenSet::kChrootDirectory, v);
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "common/result.h"

namespace postern::config {

// Which tokens a keyword accepts (sshd_config(5) TOKENS).
enum class TokenSet {
  kAuthorizedKeysCommand,        // %% %C %D %f %h %k %t %U %u
  kAuthorizedKeysFile,           // %% %h %U %u
  kAuthorizedPrincipalsCommand,  // %% %C %D %F %f %h %i %K %k %s %T %t %U %u
  kAuthorizedPrincipalsFile,     // %% %h %U %u
  kChrootDirectory,              // %% %h %U %u
  kSftpStartDirectory,           // sftp-server(8) -d: %% %d (home) %u
};

class TokenValues {
 public:
  void set(char token, std::string value) { m_values[index(token)] = std::move(value); }
  const std::string& get(char token) const { return m_values[index(token)]; }

 private:
  static size_t index(char c) { return static_cast<unsigned char>(c) & 0x7f; }
  std::array<std::string, 128> m_values;
};

// Replaces each %x; a token the keyword does not accept, or a lone % at the end, is an error
// ("unknown key %x"), as sshd refuses to use such a value.
Result<std::string> expand_tokens(std::string_view text, TokenSet set, const TokenValues& values);

}  // namespace postern::config
