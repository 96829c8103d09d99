#include "bastion/target_host_key.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "common/known_hosts.h"
#include "common/ssh_cert.h"
#include "common/text_lines.h"
#include "common/unique_fd.h"
#include "common/wire.h"

namespace postern::bastion {
namespace {

// The bastion's known_hosts grows by one line per target; anything this large is refused.
constexpr size_t kMaxKnownHostsBytes = 16 * 1024 * 1024;

// What the lines for the target's names say about it.
struct Entries {
  std::vector<PublicKey> keys;     // plain lines
  std::vector<PublicKey> cas;      // @cert-authority lines
  std::vector<PublicKey> revoked;  // @revoked lines
  bool any() const { return !keys.empty() || !cas.empty() || !revoked.empty(); }
};

bool contains(const std::vector<PublicKey>& keys, const PublicKey& key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

std::string_view next_field(std::string_view& rest) {
  while (!rest.empty() && is_blank(rest.front())) rest.remove_prefix(1);
  size_t end = 0;
  while (end < rest.size() && !is_blank(rest[end])) ++end;
  std::string_view field = rest.substr(0, end);
  rest.remove_prefix(end);
  return field;
}

// The host name field of a line, and whether it names the target, before the key is parsed:
// parsing every key of a large file would cost far more than matching names.
bool line_names_target(std::string_view line, const std::vector<std::string>& names, int port) {
  std::string_view rest = line;
  std::string_view field = next_field(rest);
  if (!field.empty() && field[0] == '@') field = next_field(rest);
  if (field.empty() || field[0] == '#') return false;
  for (const auto& name : names)
    if (known_hosts_field_matches(field, name, port)) return true;
  return false;
}

Entries entries_for(std::string_view text, const std::vector<std::string>& names, int port) {
  Entries e;
  TextLines lines(text);
  std::string_view line;
  while (lines.next(line)) {
    if (!line_names_target(line, names, port)) continue;
    auto parsed = parse_known_hosts_line(line, lines.number());
    if (!parsed) continue;  // a bad line does not spoil the others (known_hosts.h)
    switch (parsed->marker) {
      case KnownHostMarker::kNone:
        e.keys.push_back(std::move(parsed->key));
        break;
      case KnownHostMarker::kCertAuthority:
        e.cas.push_back(std::move(parsed->key));
        break;
      case KnownHostMarker::kRevoked:
        e.revoked.push_back(std::move(parsed->key));
        break;
    }
  }
  return e;
}

// Reads the file whole; a missing file is an empty one (nothing known yet).
Result<std::string> read_known_hosts(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return std::string();
    return Unexpected(path + ": " + std::strerror(errno));
  }
  std::string text;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Unexpected(path + ": " + std::strerror(errno));
    if (n == 0) return text;
    if (text.size() + size_t(n) > kMaxKnownHostsBytes)
      return Unexpected(path + ": larger than 16 MiB; refusing to read it");
    text.append(buf, size_t(n));
  }
}

// A name written into known_hosts must be a plain name, not a pattern that would match others.
bool writable_name(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name)
    if (!(std::isalnum(c) || c == '.' || c == '-' || c == '_' || c == ':')) return false;
  return true;
}

std::string host_field_entry(std::string_view name, int port) {
  std::string lowered(name);
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  // sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT": a non-standard port is written "[host]:port".
  if (port == 22) return lowered;
  return "[" + lowered + "]:" + std::to_string(port);
}

struct HostUnderCheck {
  std::string label;  // "web1 (10.1.0.5 port 22)"
  std::vector<std::string> names;
  int port;
  std::string path;
};

std::string key_text(const PublicKey& key) {
  return std::string(key.log_name()) + " key " + key.fingerprint_sha256();
}

HostKeyVerdict refuse(const HostUnderCheck& t, const std::string& what, std::string fingerprint) {
  return HostKeyVerdict{false, false, "host key for " + t.label + " " + what,
                        std::move(fingerprint)};
}

enum class Outcome { kDecided, kUnknown };

// The decision for a plain key (or the key inside a certificate whose CA is not trusted), as
// OpenSSH's client makes it: revoked, known, changed, or unknown.
Outcome decide_plain(const HostUnderCheck& t, const Entries& e, const PublicKey& key,
                     HostKeyVerdict& out) {
  const std::string fp = key.fingerprint_sha256();
  if (contains(e.revoked, key)) {
    out = refuse(t, "is revoked: " + key_text(key) + " is marked @revoked in " + t.path, fp);
    return Outcome::kDecided;
  }
  if (contains(e.keys, key)) {
    out =
        HostKeyVerdict{true, false, "host key for " + t.label + " is known: " + key_text(key), fp};
    return Outcome::kDecided;
  }
  if (!e.keys.empty()) {
    out = refuse(t, "has CHANGED: " + key_text(key) + " is not the one in " + t.path, fp);
    return Outcome::kDecided;
  }
  if (e.any()) {
    // Only @cert-authority (or @revoked) lines: the host is known to present certificates.
    out = refuse(t,
                 "is not known: " + key_text(key) + " is neither in " + t.path +
                     " nor certified by a certificate authority trusted there for it",
                 fp);
    return Outcome::kDecided;
  }
  out = refuse(t, "is not known: " + key_text(key), fp);
  return Outcome::kUnknown;
}

// A host certificate whose CA is trusted for the target's names: valid now, a host
// certificate, naming the target (PROTOCOL.certkeys; sshd(8) @cert-authority).
HostKeyVerdict decide_certificate(const HostUnderCheck& t, const Certificate& cert, uint64_t now,
                                  const std::vector<std::string>& principals) {
  const std::string ca_fp = cert.signature_key().fingerprint_sha256();
  CertCheck check;
  check.type = CertType::kHost;
  check.now = now;
  check.require_principals = true;
  CertVerdict v = check_certificate(cert, check);
  if (!v.ok())
    return refuse(t, "has an invalid certificate (" + v.message + "): " + cert.log_description(),
                  ca_fp);
  bool named = std::any_of(principals.begin(), principals.end(),
                           [&](const std::string& p) { return cert.has_principal(p); });
  if (!named)
    return refuse(t, "has a certificate that does not name it: " + cert.log_description(), ca_fp);
  return HostKeyVerdict{
      true, false, "host key for " + t.label + " is certified: " + cert.log_description(), ca_fp};
}

// The whole decision over the file's text. kUnknown: nothing for the target's names at all.
Outcome decide(const HostUnderCheck& t, std::string_view text, const PublicKey& key,
               const std::optional<Certificate>& cert, uint64_t now,
               const std::vector<std::string>& principals, HostKeyVerdict& out) {
  Entries e = entries_for(text, t.names, t.port);
  if (cert) {
    const PublicKey& ca = cert->signature_key();
    // @revoked applies to CA keys as well as host keys (sshd(8)).
    if (contains(e.revoked, ca)) {
      out = refuse(t,
                   "is revoked: certificate authority " + key_text(ca) + " is marked @revoked in " +
                       t.path + " (" + cert->log_description() + ")",
                   ca.fingerprint_sha256());
      return Outcome::kDecided;
    }
    if (contains(e.cas, ca) && !contains(e.revoked, key)) {
      out = decide_certificate(t, *cert, now, principals);
      return Outcome::kDecided;
    }
    // A CA not trusted here: judge the certified key as a plain one, as OpenSSH's client does.
  }
  return decide_plain(t, e, key, out);
}

// Appends the target's key under an exclusive lock, after checking again under the lock that
// no other monitor learned the host meanwhile.
HostKeyVerdict learn(const HostUnderCheck& t, const PublicKey& key,
                     const std::optional<Certificate>& cert, uint64_t now,
                     const std::vector<std::string>& principals, const std::string& address,
                     const std::string& target_name) {
  const std::string fp = key.fingerprint_sha256();
  if (!writable_name(address))
    return refuse(t,
                  "is not known and cannot be learned (address \"" + address +
                      "\" is not a plain name): " + key_text(key),
                  fp);
  UniqueFd fd(::open(t.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
  if (!fd)
    return refuse(t,
                  "is not known and cannot be learned (" + t.path + ": " + std::strerror(errno) +
                      "): " + key_text(key),
                  fp);
  while (::flock(fd.get(), LOCK_EX) != 0)
    if (errno != EINTR)
      return refuse(t,
                    "is not known and cannot be learned (flock " + t.path + ": " +
                        std::strerror(errno) + "): " + key_text(key),
                    fp);
  auto text = read_known_hosts(t.path);
  if (!text) return refuse(t, "cannot be checked: " + text.error().message, fp);
  HostKeyVerdict verdict;
  if (decide(t, *text, key, cert, now, principals, verdict) == Outcome::kDecided) return verdict;

  std::string line;
  if (!text->empty() && text->back() != '\n') line += '\n';
  line += host_field_entry(address, t.port);
  if (target_name != address && writable_name(target_name))
    line += "," + host_field_entry(target_name, t.port);
  line += " " + key.to_openssh_text() + "\n";
  ssize_t n;
  do {
    n = ::write(fd.get(), line.data(), line.size());
  } while (n < 0 && errno == EINTR);
  if (n != ssize_t(line.size()) || ::fsync(fd.get()) != 0)
    return refuse(t,
                  "is not known and could not be learned (write " + t.path + ": " +
                      std::strerror(errno) + "): " + key_text(key),
                  fp);
  return HostKeyVerdict{true, true,
                        "host key for " + t.label + " was not known and is now learned into " +
                            t.path + ": " + key_text(key),
                        fp};
}

}  // namespace

HostKeyVerdict check_target_host_key(const std::string& known_hosts_path, HostKeyPolicy policy,
                                     const std::string& target_name, const std::string& address,
                                     int port, ByteView host_key_blob, uint64_t now) {
  HostUnderCheck t;
  t.port = port;
  t.path = known_hosts_path;
  t.names.push_back(address);
  if (target_name != address && !target_name.empty()) t.names.push_back(target_name);
  const std::string& shown = target_name.empty() ? address : target_name;
  t.label =
      shown + " (" + (shown == address ? "" : address + " ") + "port " + std::to_string(port) + ")";

  // The blob is the target's: a plain key, or a certificate whose signature must verify.
  std::optional<Certificate> cert;
  std::optional<PublicKey> key;
  std::string type_name;
  try {
    Reader r(host_key_blob);
    type_name = std::string(r.text(256));
  } catch (const ProtocolError&) {
  }
  if (Certificate::is_certificate_name(type_name)) {
    auto parsed = Certificate::from_blob(host_key_blob);
    if (!parsed) return refuse(t, "is not valid: " + parsed.error().message, "");
    cert = std::move(*parsed);
    key = cert->key();
  } else {
    auto parsed = PublicKey::from_blob(host_key_blob);
    if (!parsed) return refuse(t, "is not valid: " + parsed.error().message, "");
    key = std::move(*parsed);
  }
  std::vector<std::string> principals = t.names;

  auto text = read_known_hosts(known_hosts_path);
  if (!text)
    return refuse(t, "cannot be checked: " + text.error().message + ": " + key_text(*key),
                  key->fingerprint_sha256());
  HostKeyVerdict verdict;
  Outcome outcome = decide(t, *text, *key, cert, now, principals, verdict);
  if (outcome == Outcome::kUnknown && policy == HostKeyPolicy::kAcceptNew)
    return learn(t, *key, cert, now, principals, address, target_name);
  return verdict;
}

}  // namespace postern::bastion
