#include "sftp-server/options.h"

#include <cstdlib>

#include "common/config/tokens.h"

namespace postern::sftp {

const char* usage_text() {
  return "usage: sftp-server [-ehR] [-d start_directory] [-f log_facility] [-l log_level]\n"
         "\t[-P denied_requests] [-p allowed_requests] [-u umask]\n"
         "       sftp-server -Q protocol_feature\n";
}

namespace {

// umask(2) values are octal, at most 0777, and the whole word must be the number.
bool parse_umask(const std::string& s, mode_t& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  long v = strtol(s.c_str(), &end, 8);
  if (errno != 0 || *end != '\0' || v < 0 || v > 0777) return false;
  out = mode_t(v);
  return true;
}

}  // namespace

Result<CommandLine> parse_command_line(const std::vector<std::string>& args) {
  CommandLine cl;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (word == "--") break;
    if (word.size() < 2 || word[0] != '-') break;
    for (size_t j = 1; j < word.size(); ++j) {
      char flag = word[j];
      switch (flag) {
        case 'e':
          cl.log_stderr = true;
          continue;
        case 'h':
          cl.help = true;
          continue;
        case 'R':
          cl.options.read_only = true;
          continue;
        case 'd':
        case 'f':
        case 'l':
        case 'P':
        case 'p':
        case 'Q':
        case 'u':
          break;
        default:
          return Unexpected(std::string("unknown option -- ") + flag);
      }
      // An option with an argument: the rest of this word, or the next word.
      std::string value;
      if (j + 1 < word.size()) {
        value = word.substr(j + 1);
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return Unexpected(std::string("option requires an argument -- ") + flag);
      }
      switch (flag) {
        case 'd':
          cl.start_directory_template = value;
          break;
        case 'f':
          if (!parse_syslog_facility(value, cl.log_facility))
            return Unexpected("Unrecognized internal syslog facility code \"" + value + "\"");
          cl.log_facility_given = true;
          break;
        case 'l':
          if (!parse_log_level(value, cl.log_level))
            return Unexpected("Unrecognized internal syslog level code \"" + value + "\"");
          cl.log_level_given = true;
          break;
        case 'P':
          cl.options.denied = value;
          break;
        case 'p':
          cl.options.allowed = value;
          break;
        case 'Q':
          cl.query = value;
          break;
        case 'u': {
          mode_t m;
          if (!parse_umask(value, m)) return Unexpected("Invalid umask \"" + value + "\"");
          cl.options.umask = m;
          break;
        }
      }
      break;
    }
  }
  // Words after the options are ignored, as OpenSSH's sftp-server does: scp -D runs the server
  // with the remote host name appended.
  return cl;
}

Result<InternalSftp> internal_sftp_options(const std::vector<std::string>& args, std::string user,
                                           std::string home, std::string client_address) {
  Result<CommandLine> cl = parse_command_line(args);
  if (!cl) return Unexpected(cl.error());
  if (cl->help || cl->query) return Unexpected("internal-sftp: -h and -Q are not for sessions");
  InternalSftp out;
  out.options = std::move(cl->options);
  if (!cl->start_directory_template.empty()) {
    Result<std::string> dir = expand_start_directory(cl->start_directory_template, user, home);
    if (!dir) return Unexpected("internal-sftp -d: " + dir.error().message);
    out.options.start_directory = *dir;
  }
  out.options.user = std::move(user);
  out.options.home = std::move(home);
  out.options.client_address = std::move(client_address);
  out.log_level_given = cl->log_level_given;
  out.log_facility_given = cl->log_facility_given;
  out.log_level = cl->log_level;
  out.log_facility = cl->log_facility;
  return out;
}

Result<std::string> expand_start_directory(std::string_view tmpl, std::string_view user,
                                           std::string_view home) {
  config::TokenValues values;
  values.set('d', std::string(home));
  values.set('u', std::string(user));
  return config::expand_tokens(tmpl, config::TokenSet::kSftpStartDirectory, values);
}

}  // namespace postern::sftp
