// The value formats the keyword table names (internal to common/config): one parse function
// (ParseFn) and one print function (DumpFn) per kind of value, and a copy function (CopyFn) for
// values that span several members of ServerConfig. value_formats.cpp holds the kinds many
// keywords share; keyword_values.cpp the values whose syntax belongs to one keyword.
#pragma once

#include <strings.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/config/keywords.h"

namespace postern::config::detail {

inline bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// The member of `c` a row names, as a T.
template <typename T>
T& field(const Keyword& kw, ServerConfig& c) {
  return c.*std::get<T ServerConfig::*>(kw.member);
}
template <typename T>
const T& field(const Keyword& kw, const ServerConfig& c) {
  return c.*std::get<T ServerConfig::*>(kw.member);
}

// Whole decimal number in [lo, hi].
bool parse_number(std::string_view s, long long lo, long long hi, long long& out);
// sshd_config(5) TIME FORMATS: a sequence of number[unit], unit s m h d w, no unit = seconds.
bool parse_time(std::string_view s, int& out);

// ---- value_formats.cpp: kinds of value many keywords share --------------------------------
// yes | no
bool parse_flag(const Keyword&, Args&, ServerConfig&, ParseContext&);
std::vector<std::string> dump_flag(const Keyword&, const ServerConfig&, bool quote);
// One of the row's choices.
bool parse_choice(const Keyword&, Args&, ServerConfig&, ParseContext&);
std::vector<std::string> dump_choice(const Keyword&, const ServerConfig&, bool quote);
bool parse_facility(const Keyword&, Args&, ServerConfig&, ParseContext&);
// Integers in the row's [min, max]; "none" as INT_MAX; octal masks.
bool parse_int(const Keyword&, Args&, ServerConfig&, ParseContext&);
std::vector<std::string> dump_int(const Keyword&, const ServerConfig&, bool quote);
bool parse_int_or_none(const Keyword&, Args&, ServerConfig&, ParseContext&);
std::vector<std::string> dump_int_max_or_none(const Keyword&, const ServerConfig&, bool quote);
bool parse_mask(const Keyword&, Args&, ServerConfig&, ParseContext&);
std::vector<std::string> dump_mask(const Keyword&, const ServerConfig&, bool quote);
// TIME FORMATS, with or without "none" (0).
bool parse_time_value(const Keyword&, Args&, ServerConfig&, ParseContext&);
bool parse_time_or_none(const Keyword&, Args&, ServerConfig&, ParseContext&);
std::vector<std::string> dump_int_or_none(const Keyword&, const ServerConfig&, bool quote);
// One word: a string where "none" is empty, or a path that is always set.
bool parse_string(const Keyword&, Args&, ServerConfig&, ParseContext&);
std::vector<std::string> dump_string(const Keyword&, const ServerConfig&, bool quote);
std::vector<std::string> dump_string_if_set(const Keyword&, const ServerConfig&, bool quote);
bool parse_path(const Keyword&, Args&, ServerConfig&, ParseContext&);
std::vector<std::string> dump_plain(const Keyword&, const ServerConfig&, bool quote);
// The rest of the line, unsplit; a command must be an absolute path.
bool parse_line(const Keyword&, Args&, ServerConfig&, ParseContext&);
bool parse_command(const Keyword&, Args&, ServerConfig&, ParseContext&);
std::vector<std::string> dump_line(const Keyword&, const ServerConfig&, bool quote);
// Word lists: accumulated over lines, or all the words of the first line.
bool parse_accumulate(const Keyword&, Args&, ServerConfig&, ParseContext&);
std::vector<std::string> dump_each(const Keyword&, const ServerConfig&, bool quote);
bool parse_word_list(const Keyword&, Args&, ServerConfig&, ParseContext&);
std::vector<std::string> dump_word_list(const Keyword&, const ServerConfig&, bool quote);
std::vector<std::string> dump_word_list_if_set(const Keyword&, const ServerConfig&, bool quote);
std::vector<std::string> dump_each_or_nothing(const Keyword&, const ServerConfig&, bool quote);
std::vector<std::string> dump_words(const Keyword&, const ServerConfig&, bool quote);
bool parse_auth_methods(const Keyword&, Args&, ServerConfig&, ParseContext&);
// Algorithm lists (+, -, ^ prefixes) against the row's default.
bool parse_algorithms(const Keyword&, Args&, ServerConfig&, ParseContext&);
// LogLevel.
bool parse_log_level_value(const Keyword&, Args&, ServerConfig&, ParseContext&);
std::vector<std::string> dump_log_level(const Keyword&, const ServerConfig&, bool quote);

// ---- keyword_values.cpp: values whose syntax belongs to one keyword ---------------------------
bool parse_port(const Keyword&, Args&, ServerConfig&, ParseContext&);
std::vector<std::string> dump_ports(const Keyword&, const ServerConfig&, bool quote);
bool parse_listen(const Keyword&, Args&, ServerConfig&, ParseContext&);
std::vector<std::string> dump_listen(const Keyword&, const ServerConfig&, bool quote);
bool parse_subsystem(const Keyword&, Args&, ServerConfig&, ParseContext&);
std::vector<std::string> dump_subsystems(const Keyword&, const ServerConfig&, bool quote);
bool parse_max_startups(const Keyword&, Args&, ServerConfig&, ParseContext&);
std::vector<std::string> dump_max_startups(const Keyword&, const ServerConfig&, bool quote);
void copy_max_startups(ServerConfig& dst, const ServerConfig& src);
bool parse_netblock(const Keyword&, Args&, ServerConfig&, ParseContext&);
std::vector<std::string> dump_netblock(const Keyword&, const ServerConfig&, bool quote);
void copy_netblock(ServerConfig& dst, const ServerConfig& src);
bool parse_ipqos(const Keyword&, Args&, ServerConfig&, ParseContext&);
std::vector<std::string> dump_ipqos(const Keyword&, const ServerConfig&, bool quote);
void copy_ipqos(ServerConfig& dst, const ServerConfig& src);
bool parse_rekey(const Keyword&, Args&, ServerConfig&, ParseContext&);
std::vector<std::string> dump_rekey(const Keyword&, const ServerConfig&, bool quote);
void copy_rekey(ServerConfig& dst, const ServerConfig& src);
bool parse_permit(const Keyword&, Args&, ServerConfig&, ParseContext&);
bool parse_user_env(const Keyword&, Args&, ServerConfig&, ParseContext&);
bool parse_pubkey_options(const Keyword&, Args&, ServerConfig&, ParseContext&);
bool parse_penalties(const Keyword&, Args&, ServerConfig&, ParseContext&);
std::vector<std::string> dump_penalties(const Keyword&, const ServerConfig&, bool quote);
void copy_penalties(ServerConfig& dst, const ServerConfig& src);
// An address list (patterns and CIDR blocks, as Match Address takes), or none: ProxyProtocolFrom.
bool parse_address_list(const Keyword&, Args&, ServerConfig&, ParseContext&);
// Subsystems a matching Match block sets replace the global ones of the same name.
void copy_subsystems(ServerConfig& dst, const ServerConfig& src);

// ---- helper_paths.cpp: SshdSessionPath, SshdAuthPath -----------------------------------------
bool parse_helper_path(const Keyword&, Args&, ServerConfig&, ParseContext&);
std::vector<std::string> dump_helper_path(const Keyword&, const ServerConfig&, bool quote);

}  // namespace postern::config::detail
