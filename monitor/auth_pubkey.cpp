#include "monitor/auth_pubkey.h"

#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/config/tokens.h"
#include "common/log.h"
#include "common/text_lines.h"
#include "common/unique_fd.h"

namespace postern::monitor {
namespace {

// Bounds on what a user's file can make the monitor read (big files exist; huge ones are abuse).
constexpr size_t kMaxFileBytes = 16 * 1024 * 1024;
constexpr size_t kMaxLineBytes = 64 * 1024;

std::string parent_dir(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string real_path(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return {};
  return buf;
}

// StrictModes' test for one object: owned by root or the user, not writable by group or others.
bool owner_and_mode_ok(const struct stat& st, uid_t uid) {
  return (st.st_uid == 0 || st.st_uid == uid) && (st.st_mode & 022) == 0;
}

// Reads the whole file, bounded. Returns false on a read error or an oversized file.
bool read_all(int fd, std::string& out) {
  char buf[16384];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    if (out.size() + size_t(n) > kMaxFileBytes) return false;
    out.append(buf, size_t(n));
  }
}

// Opens one authorized_keys file as the user and checks it; returns its text, or nullopt when
// it does not exist or must not be used (already logged).
std::optional<std::string> read_keys_file(const std::string& path, const Account& user,
                                          bool strict_modes) {
  TemporaryUserIdentity as_user(user);
  if (!as_user.ok()) return std::nullopt;
  // O_NONBLOCK so a FIFO planted in place of the file cannot hang the monitor.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT)
      log_debug("Could not open user '%s' authorized keys '%s': %s", user.name.c_str(),
                path.c_str(), std::strerror(errno));
    else
      log_info("Could not open user '%s' authorized keys '%s': %s", user.name.c_str(), path.c_str(),
               std::strerror(errno));
    return std::nullopt;
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return std::nullopt;
  if (!S_ISREG(st.st_mode)) {
    log_info("User %s authorized keys %s is not a regular file", user.name.c_str(), path.c_str());
    return std::nullopt;
  }
  if (strict_modes && !check_strict_modes(fd.get(), path, user)) return std::nullopt;
  // Back to blocking reads now that it is known to be a regular file.
  int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags >= 0) ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
  std::string text;
  if (!read_all(fd.get(), text)) {
    log_info("Could not read user '%s' authorized keys '%s'", user.name.c_str(), path.c_str());
    return std::nullopt;
  }
  return text;
}

// "1999-01-01T00:00:00" in local time, the form sshd's logs give times in.
std::string format_local_time(time_t t) {
  struct tm tm {};
  char buf[32];
  if (::localtime_r(&t, &tm) == nullptr ||
      std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
    return std::to_string(t);
  return buf;
}

}  // namespace

std::string expand_authorized_keys_path(std::string_view pattern, const Account& user) {
  std::string out;
  // "~/" means the home directory as well (sshd_config(5) tilde expansion).
  if (pattern.size() >= 2 && pattern[0] == '~' && pattern[1] == '/') {
    out = user.home;
    pattern.remove_prefix(1);
  }
  config::TokenValues values;
  values.set('h', user.home);
  values.set('u', user.name);
  values.set('U', std::to_string(user.uid));
  auto expanded = config::expand_tokens(pattern, config::TokenSet::kAuthorizedKeysFile, values);
  if (!expanded) {
    // sshd will not use a file name it cannot expand (its percent_expand is fatal): no file.
    log_error("%s: %s", std::string(pattern).c_str(), expanded.error().message.c_str());
    return {};
  }
  out += *expanded;
  // sshd_config(5): "taken to be an absolute path or one relative to the user's home directory".
  if (out.empty() || out[0] != '/') {
    std::string home = user.home;
    if (home.empty() || home.back() != '/') home += '/';
    out = home + out;
  }
  return out;
}

Result<void> check_strict_modes(int fd, const std::string& path, const Account& user) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Unexpected(std::string("fstat: ") + std::strerror(errno));
  std::string canonical = real_path(path);
  if (canonical.empty()) return Unexpected("realpath " + path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) {
    std::string msg = canonical + " is not a regular file";
    log_error("Authentication refused: %s", msg.c_str());
    return Unexpected(msg);
  }
  if (!owner_and_mode_ok(st, user.uid)) {
    std::string msg = "bad ownership or modes for file " + canonical;
    log_error("Authentication refused: %s", msg.c_str());
    return Unexpected(msg);
  }
  // Every directory above it, up to and including the home directory when the file lies inside
  // it, otherwise up to the root: any of them writable by others could swap the file.
  std::string home = real_path(user.home);
  if (home.empty()) home = user.home;
  for (std::string dir = parent_dir(canonical);; dir = parent_dir(dir)) {
    if (::stat(dir.c_str(), &st) != 0)
      return Unexpected("stat " + dir + ": " + std::strerror(errno));
    if (!S_ISDIR(st.st_mode) || !owner_and_mode_ok(st, user.uid)) {
      std::string msg = "bad ownership or modes for directory " + dir;
      log_error("Authentication refused: %s", msg.c_str());
      return Unexpected(msg);
    }
    if (dir == home || dir == "/") break;
  }
  return {};
}

bool key_options_permit_login(const AuthorizedKeyOptions& options, const std::string& loc,
                              const Endpoint& client, time_t now, std::string_view user_name,
                              bool allow_cert_authority) {
  // expiry-time bounds the line, not the key's validity (a certificate's own window is checked
  // with the certificate).
  if (!key_not_expired(options, now)) {
    log_debug("%s: entry expired at %s", loc.c_str(),
              format_local_time(*options.expiry_time).c_str());
    return false;
  }
  if (options.principals && !options.cert_authority) {
    log_debug("%s: principals on non-CA key", loc.c_str());
    return false;
  }
  // A principals line names who a certificate may log in as; it cannot make a CA trusted.
  if (options.cert_authority && !allow_cert_authority) {
    log_debug("%s: cert-authority flag invalid here", loc.c_str());
    return false;
  }
  if (options.from && !from_permits(*options.from, client.name, client.address)) {
    log_info(
        "%s: Authentication tried for %s with correct key but not from a permitted host "
        "(host=%s, ip=%s, required=%s).",
        loc.c_str(), std::string(user_name).c_str(), client.host().c_str(), client.address.c_str(),
        options.from->c_str());
    return false;
  }
  return true;
}

Result<AuthorizedKeyMatch> find_key_in_text(std::string_view text, const std::string& path,
                                            const PublicKey& key, const Endpoint& client,
                                            time_t now, bool ca_lines, std::string_view user_name) {
  // Only lines that carry this key are worth a log line when they are malformed.
  const std::string key_b64 = base64_encode(key.blob());
  TextLines lines(text);
  std::string_view line;
  while (lines.next(line)) {
    const size_t line_no = lines.number();
    std::string loc = path + ":" + std::to_string(line_no);
    if (line.size() > kMaxLineBytes) {
      log_debug2("%s: line too long, skipped", loc.c_str());
      continue;
    }
    auto parsed = parse_authorized_keys_line(line);
    if (!parsed) {
      if (line.find(key_b64) != std::string_view::npos)
        log_verbose("%s: bad key options: %s", loc.c_str(), parsed.error().message.c_str());
      else
        log_debug3("%s: skipped: %s", loc.c_str(), parsed.error().message.c_str());
      continue;
    }
    if (!*parsed) continue;
    const AuthorizedKey& entry = **parsed;
    if (entry.blob != key.blob()) continue;
    // A CA key authorizes certificates it signed, not itself (sshd(8) cert-authority).
    if (entry.options.cert_authority != ca_lines) {
      if (!ca_lines) log_debug("%s: key is a certificate authority, not a user key", loc.c_str());
      continue;
    }
    log_debug("%s: matching key found: %s %s", loc.c_str(), std::string(key.log_name()).c_str(),
              key.fingerprint_sha256().c_str());
    // sshd(8): a matching line whose options refuse this login is skipped, and later lines
    // may still match.
    if (!key_options_permit_login(entry.options, loc, client, now, user_name)) {
      log_info("Refused by key options");
      continue;
    }
    return AuthorizedKeyMatch{entry.options, loc};
  }
  return Unexpected("key not found in " + path);
}

Result<AuthorizedKeyMatch> find_authorized_key(const Account& user,
                                               const AuthorizedKeysPolicy& policy,
                                               const PublicKey& key, const Endpoint& client,
                                               time_t now, bool ca_lines) {
  for (const auto& pattern : policy.files) {
    if (pattern == "none") continue;
    std::string path = expand_authorized_keys_path(pattern, user);
    if (path.empty()) continue;
    log_debug("trying public key file %s", path.c_str());
    auto text = read_keys_file(path, user, policy.strict_modes);
    if (!text) continue;
    auto match = find_key_in_text(*text, path, key, client, now, ca_lines, user.name);
    if (match) return match;
  }
  return Unexpected("key " + key.fingerprint_sha256() + " not authorized for " + user.name);
}

bool UsedKeys::already_used(const PublicKey& key, std::string_view log_type) const {
  if (std::find(m_blobs.begin(), m_blobs.end(), key.blob()) == m_blobs.end()) return false;
  log_info("refusing previously-used %s key", std::string(log_type).c_str());
  return true;
}

void UsedKeys::add(const PublicKey& key) {
  if (std::find(m_blobs.begin(), m_blobs.end(), key.blob()) == m_blobs.end())
    m_blobs.push_back(key.blob());
}

bool rsa_size_acceptable(const PublicKey& key, std::string_view log_type, int min_bits) {
  if (key.type() != KeyType::kRsa || key.bits() >= size_t(std::max(0, min_bits))) return true;
  log_info("refusing %s key: Invalid key length", std::string(log_type).c_str());
  return false;
}

SkRequirements sk_requirements(const std::vector<std::string>& pubkey_auth_options,
                               const AuthorizedKeyOptions& key_options) {
  auto configured = [&](std::string_view name) {
    return std::find(pubkey_auth_options.begin(), pubkey_auth_options.end(), name) !=
           pubkey_auth_options.end();
  };
  SkRequirements req;
  // sshd_config(5): touch-required "disables this override" (the key's no-touch-required).
  req.presence = configured("touch-required") || !key_options.no_touch_required;
  req.verification = configured("verify-required") || key_options.verify_required;
  return req;
}

bool sk_flags_acceptable(const SkSignature& sig, const SkRequirements& req,
                         const std::string& key_text, const AttemptInfo& who) {
  bool ok = true;
  // The lines (and their trailing space) are sshd's, which log watchers may match.
  if (req.presence && (sig.flags & SkSignature::kUserPresent) == 0) {
    log_error(
        "public key %s signature for %s%s from %s port %d rejected: user presence "
        "(authenticator touch) requirement not met ",
        key_text.c_str(), who.user_valid ? "" : "invalid user ", who.user.c_str(),
        who.address.c_str(), who.port);
    ok = false;
  }
  if (req.verification && (sig.flags & SkSignature::kUserVerified) == 0) {
    log_error(
        "public key %s signature for %s%s from %s port %d rejected: user verification "
        "requirement not met ",
        key_text.c_str(), who.user_valid ? "" : "invalid user ", who.user.c_str(),
        who.address.c_str(), who.port);
    ok = false;
  }
  return ok;
}

TemporaryUserIdentity::TemporaryUserIdentity(const Account& user) {
  if (::geteuid() != 0 || user.uid == 0) return;
  m_saved_egid = ::getegid();
  int n = ::getgroups(0, nullptr);
  if (n < 0) {
    m_ok = false;
    return;
  }
  m_saved_groups.resize(size_t(n));
  if (n > 0 && ::getgroups(n, m_saved_groups.data()) != n) {
    m_ok = false;
    return;
  }
  // The user's supplementary groups, so group permissions apply as they would for the user.
  std::vector<gid_t> groups(32);
  int count = int(groups.size());
  while (::getgrouplist(user.name.c_str(), user.gid, groups.data(), &count) < 0) {
    if (count <= int(groups.size()) || count > 65536) {
      // Unknown user in the group database: fall back to the primary group alone.
      groups.assign(1, user.gid);
      count = 1;
      break;
    }
    groups.resize(size_t(count));
  }
  groups.resize(size_t(count));
  if (::setgroups(groups.size(), groups.data()) != 0 || ::setegid(user.gid) != 0) {
    log_error("cannot switch to the groups of %s: %s", user.name.c_str(), std::strerror(errno));
    if (::setgroups(m_saved_groups.size(), m_saved_groups.data()) != 0 ||
        ::setegid(m_saved_egid) != 0)
      fatal("cannot restore the monitor's groups: %s", std::strerror(errno));
    m_ok = false;
    return;
  }
  if (::seteuid(user.uid) != 0) {
    log_error("cannot switch to uid %u: %s", unsigned(user.uid), std::strerror(errno));
    if (::setgroups(m_saved_groups.size(), m_saved_groups.data()) != 0 ||
        ::setegid(m_saved_egid) != 0)
      fatal("cannot restore the monitor's groups: %s", std::strerror(errno));
    m_ok = false;
    return;
  }
  m_switched = true;
}

TemporaryUserIdentity::~TemporaryUserIdentity() {
  if (!m_switched) return;
  // Root's uid first: changing groups needs it.
  if (::seteuid(0) != 0) fatal("cannot restore root's effective uid: %s", std::strerror(errno));
  if (::setgroups(m_saved_groups.size(), m_saved_groups.data()) != 0 ||
      ::setegid(m_saved_egid) != 0)
    fatal("cannot restore the monitor's groups: %s", std::strerror(errno));
}

}  // namespace postern::monitor
