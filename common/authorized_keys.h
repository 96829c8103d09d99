// One line of an authorized_keys file, as sshd(8) "AUTHORIZED_KEYS FILE FORMAT" describes it:
// an optional options field (comma-separated, values in double quotes with \" escapes), the key
// type, the base64 key and a comment. Blank lines and lines starting with '#' are ignored.
// Parsing records every documented option; enforcing them is the business of the code that
// opens channels and sessions, except expiry-time and from=, which the helpers below answer.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"

namespace postern {

struct AuthorizedKeyOptions {
  bool cert_authority = false;
  // "restrict" turns off every permit_* below; the positive options turn single ones back on.
  bool restrict = false;
  bool permit_agent_forwarding = true;
  bool permit_port_forwarding = true;
  bool permit_pty = true;
  bool permit_user_rc = true;
  bool permit_x11_forwarding = true;
  bool no_touch_required = false;
  bool verify_required = false;
  std::optional<std::string> command;
  std::vector<std::string> environment;   // "NAME=value", in file order
  std::optional<time_t> expiry_time;      // absolute time after which the key is refused
  std::optional<std::string> from;        // pattern-list of hosts and addresses
  std::vector<std::string> permitlisten;  // "[host:]port"
  std::vector<std::string> permitopen;    // "host:port"
  std::optional<std::string> principals;  // pattern-list, with cert-authority
  std::optional<std::string> tunnel;      // tun device number or "any"

  bool operator==(const AuthorizedKeyOptions&) const = default;
};

struct AuthorizedKey {
  AuthorizedKeyOptions options;
  std::string key_type;  // as written, e.g. "ssh-ed25519"
  Bytes blob;            // the decoded key blob (not yet parsed as a key)
  std::string comment;
};

// Parses the options field alone ("no-pty,command=\"x\""). An unknown option or a malformed
// value is an error whose message names it, so the caller can log "bad key options: ...".
Result<AuthorizedKeyOptions> parse_authorized_key_options(std::string_view options);

// Parses one line. Blank lines and comments give nullopt; a line whose options or key cannot
// be parsed is an error (the line then matches no key, as in sshd).
Result<std::optional<AuthorizedKey>> parse_authorized_keys_line(std::string_view line);

// expiry-time="YYYYMMDD[HHMM[SS]][Z]": local time unless it ends in Z (UTC), as sshd(8) says.
// Returns nullopt when malformed.
std::optional<time_t> parse_expiry_time(std::string_view text);

// True when the key's expiry-time (if any) has not passed at `now`.
bool key_not_expired(const AuthorizedKeyOptions& options, time_t now);

// from="pattern-list": true when the client's canonical host name (may be empty when unknown
// or UseDNS is off) or its address matches a positive entry and no negated entry matches.
// Address entries may use CIDR address/masklen notation (IPv4 or IPv6).
bool from_permits(std::string_view pattern_list, std::string_view hostname, std::string_view ip);

// True when `ip` lies within "address/masklen" (or equals "address" without a mask).
// Malformed entries never match.
bool cidr_match(std::string_view ip, std::string_view cidr);

}  // namespace postern
