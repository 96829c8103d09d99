// known_hosts files as sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT" describes them: an optional marker
// (@cert-authority or @revoked), a host name field, the key type and the base64 key, a comment.
// The host name field is a comma-separated pattern list ('*', '?', '!' negation,
// "[host]:port") or one hashed name "|1|base64(salt)|base64(HMAC-SHA1(salt, name))".
// sshd uses them for hostbased authentication (the client host's key); the parser is I/O-free.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ssh_key.h"

namespace postern {

enum class KnownHostMarker { kNone, kCertAuthority, kRevoked };

struct KnownHostsLine {
  KnownHostMarker marker;
  std::string hosts;  // the host name field as written
  PublicKey key;
  size_t line_no;
};

// Parses one line; nullopt for comments, blank lines and lines that do not parse (unknown
// marker, bad key) — a known_hosts file with one bad line still serves its other lines.
std::optional<KnownHostsLine> parse_known_hosts_line(std::string_view line, size_t line_no = 0);

// Whether the host name field `hosts` names `name` (compared case-insensitively; a hashed entry
// is compared by HMAC-SHA1 of the lower-cased name). A negated pattern that matches makes the
// whole field not match. `port`: a name written "[host]:port" only matches that port, a bare
// name only port 22.
bool known_hosts_field_matches(std::string_view hosts, std::string_view name, int port = 22);

// The outcome of looking a host key up in known_hosts text.
enum class KnownHostStatus {
  kNotFound,  // no line for this name carries the key
  kFound,     // a plain line (or, for a CA, an @cert-authority line) for the name has the key
  kRevoked,   // an @revoked line for the name carries the key: never accept it
};

struct KnownHostLookup {
  KnownHostStatus status = KnownHostStatus::kNotFound;
  size_t line_no = 0;  // of the deciding line
};

// Looks `key` up for host `name` in the text of one known_hosts file. With `as_ca` the key is
// a certificate authority's and only @cert-authority lines can find it; otherwise only
// unmarked lines can. @revoked lines win over everything else in the file.
KnownHostLookup lookup_known_host(std::string_view text, std::string_view name,
                                  const PublicKey& key, bool as_ca = false);

// "|1|salt|hash" for `name` with the given salt (20 bytes in OpenSSH's files); for tests and
// for anyone writing hashed entries.
std::string hash_known_host_name(std::string_view name, ByteView salt);

}  // namespace postern
