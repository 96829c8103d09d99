// The syntaxes of single values in the bastion policy (internal to bastion/): the names people
// type, addresses, address lists, durations and template tokens. Shared by the loaders (which
// reject what these refuse), route.cpp and decide.cpp (which match with the same rules).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace postern::bastion::detail {

// Longest name a policy may give a user, target, extender, role or template: a host name's.
inline constexpr size_t kMaxNameLength = 253;

// A name users type in the direct-mode user name: 1..253 bytes of printable ASCII without
// space, '%' (the separator), '@' and ':' (which scp, sftp and rsync split on).
bool is_name(std::string_view s);
// An IPv4 or IPv6 address literal (no brackets, no mask).
bool is_ip_literal(std::string_view s);
// Letters, digits, '-' and '.', 1..253 bytes, not starting with '-' or '.'.
bool is_host_name(std::string_view s);
// The same host: equal addresses when both are IP literals (so "::1" is "0:0::1"), else equal
// ignoring case (DNS names are case-insensitive).
bool same_host(std::string_view a, std::string_view b);

// 1..65535 in decimal, at most 5 digits.
std::optional<int> parse_port(std::string_view s);
// "address:port", "[v6address]:port" or "host:port".
bool is_listen_address(std::string_view s);

// sshd_config(5) TIME FORMATS ("90s", "5m", "1h30m"; a bare number is seconds), in seconds.
std::optional<uint32_t> parse_duration(std::string_view s);

// A size: a whole number of bytes with an optional binary unit K, M, G or T (KiB, MiB, ...):
// "64M", "1G", "4096". At most 2^50 bytes.
std::optional<uint64_t> parse_size(std::string_view s);

// An sshd address list (comma-separated addresses, CIDR blocks and wildcard patterns, '!'
// negates): whether it is well formed, and whether `address` is in it.
bool is_address_list(std::string_view list);
bool address_in_list(std::string_view address, std::string_view list);
// A CIDR block or a single address.
bool is_cidr(std::string_view s);
bool cidr_contains(std::string_view cidr, std::string_view address);

// The first '%' token in `text` that templates may not use (allowed: %H %R %S %P %%), or
// nullopt when all are allowed.
std::optional<std::string> bad_template_token(std::string_view text);

// `s` quoted for a message, with bytes outside printable ASCII as \xNN and at most 80 shown.
std::string quote_text(std::string_view s);

}  // namespace postern::bastion::detail
