// Match criteria (sshd_config(5) "Match"): syntax check at load time, evaluation per connection.
#pragma once

#include <string>
#include <vector>

#include "common/config/server_config.h"

namespace postern::config::detail {

// "user=u1" (OpenSSH 10's spelling) as the two words "user" "u1"; other words unchanged.
std::vector<std::string> split_match_assignments(const std::vector<std::string>& words);
// False with OpenSSH's message (e.g. "Unsupported Match attribute Foo") if the criteria are bad.
bool check_match_criteria(const std::vector<std::string>& words, std::string& error);
// Whether every criterion holds for `ci` (criteria about unknown attributes do not hold).
bool evaluate_match(const std::vector<std::string>& words, const ConnectionInfo& ci);
// False with OpenSSH's test-mode message if the criteria test an attribute `ci` does not give.
bool check_spec_covers(const std::vector<std::string>& words, const ConnectionInfo& ci,
                       std::string& error);
// An address list: entries are patterns or CIDR blocks, '!' negates. -1: the list is malformed.
int match_address_list(std::string_view addr, std::string_view list);

}  // namespace postern::config::detail
