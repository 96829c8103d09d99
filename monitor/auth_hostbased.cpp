#include "monitor/auth_hostbased.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "common/known_hosts.h"
#include "common/log.h"
#include "common/match_pattern.h"
#include "common/ssh_msg.h"
#include "common/text_lines.h"
#include "common/unique_fd.h"
#include "common/wire.h"
#include "postern_config.h"

namespace postern::monitor {
namespace {

// rhosts and known_hosts files are small; anything larger is refused rather than read.
constexpr size_t kMaxFileBytes = 4 * 1024 * 1024;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return out;
}

std::vector<std::string> split_list(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    if (comma > start) out.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

std::vector<std::string_view> fields_of(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_blank(line[i])) ++i;
    size_t start = i;
    while (i < line.size() && !is_blank(line[i])) ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

// netgroup(5) membership; "@name" entries of rhosts files name netgroups.
bool in_netgroup(std::string_view group, const char* host, const char* user) {
  std::string g(group);
  return ::innetgr(g.c_str(), host, user, nullptr) == 1;
}

enum class ReadStatus { kOk, kMissing, kRefused };

// Reads the rest of an open regular file, bounded.
ReadStatus read_fd(int fd, std::string& out) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  char buf[16384];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ReadStatus::kRefused;
    if (n == 0) return ReadStatus::kOk;
    if (out.size() + size_t(n) > kMaxFileBytes) return ReadStatus::kRefused;
    out.append(buf, size_t(n));
  }
}

// Opens a file without following a FIFO into a hang (O_NONBLOCK); only regular files count.
ReadStatus open_regular(const std::string& path, UniqueFd& fd, struct stat& st) {
  fd = UniqueFd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) {
    log_debug("%s %s: %s", errno == ENOENT ? "no file" : "could not open", path.c_str(),
              std::strerror(errno));
    return errno == ENOENT ? ReadStatus::kMissing : ReadStatus::kRefused;
  }
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    log_info("%s is not a regular file", path.c_str());
    return ReadStatus::kRefused;
  }
  return ReadStatus::kOk;
}

// Reads a whole small file with the caller's identity (root for system files, the user for
// theirs). `strict_user`: with StrictModes an rhosts file must be owned by root or that user
// and not writable by group or others.
ReadStatus read_small_file(const std::string& path, std::string& out,
                           const Account* strict_user = nullptr) {
  UniqueFd fd;
  struct stat st;
  ReadStatus s = open_regular(path, fd, st);
  if (s != ReadStatus::kOk) return s;
  if (strict_user != nullptr &&
      ((st.st_uid != 0 && st.st_uid != strict_user->uid) || (st.st_mode & 022) != 0)) {
    log_info("Rhosts authentication refused for %s: bad modes for %s", strict_user->name.c_str(),
             path.c_str());
    return ReadStatus::kRefused;
  }
  return read_fd(fd.get(), out);
}

// A user's known_hosts file: read as the user and, with StrictModes, only when neither it nor a
// directory above it up to the home directory is writable by others.
std::optional<std::string> read_user_known_hosts(const std::string& path, const Account& user,
                                                 bool strict_modes) {
  TemporaryUserIdentity as_user(user);
  if (!as_user.ok()) return std::nullopt;
  UniqueFd fd;
  struct stat st;
  if (open_regular(path, fd, st) != ReadStatus::kOk) return std::nullopt;
  if (strict_modes && !check_strict_modes(fd.get(), path, user)) {
    log_info("Authentication refused for %s: bad owner or modes for %s", user.name.c_str(),
             path.c_str());
    return std::nullopt;
  }
  std::string text;
  if (read_fd(fd.get(), text) != ReadStatus::kOk) return std::nullopt;
  return text;
}

std::optional<std::string> read_system_known_hosts(const std::string& path) {
  std::string text;
  if (read_small_file(path, text) != ReadStatus::kOk) return std::nullopt;
  return text;
}

}  // namespace

HostbasedFiles::HostbasedFiles()
    : hosts_equiv("/etc/hosts.equiv"),
      shosts_equiv(POSTERN_SYSCONFDIR "/shosts.equiv"),
      system_known_hosts(POSTERN_SYSCONFDIR "/ssh_known_hosts"),
      system_known_hosts2(POSTERN_SYSCONFDIR "/ssh_known_hosts2") {}

std::string HostbasedKey::log_text() const {
  if (cert) return cert->log_description();
  return std::string(key->log_name()) + " " + key->fingerprint_sha256();
}

std::optional<HostbasedKey> parse_hostbased_key(const std::string& algorithm, ByteView blob,
                                                const std::string& accepted_algorithms) {
  HostbasedKey out;
  std::vector<std::string> algorithms;
  if (Certificate::is_certificate_name(algorithm)) {
    auto c = Certificate::from_blob(blob);
    if (!c) {
      log_info("userauth_hostbased: cannot decode key: %s: %s", algorithm.c_str(),
               c.error().message.c_str());
      return std::nullopt;
    }
    algorithms = c->algorithms();
    out.cert = std::move(*c);
  } else {
    auto k = PublicKey::from_blob(blob);
    if (!k) {
      log_info("userauth_hostbased: cannot decode key: %s: %s", algorithm.c_str(),
               k.error().message.c_str());
      return std::nullopt;
    }
    algorithms = k->signature_algorithms();
    out.key = std::move(*k);
  }
  if (std::find(algorithms.begin(), algorithms.end(), algorithm) == algorithms.end()) {
    log_error("userauth_hostbased: key type %s does not match algorithm %s",
              std::string(out.cert ? out.cert->type_name() : out.key->type_name()).c_str(),
              algorithm.c_str());
    return std::nullopt;
  }
  if (match_pattern_list(algorithm, accepted_algorithms) != PatternMatch::kMatch) {
    log_info("userauth_hostbased: signature algorithm %s not in HostbasedAcceptedAlgorithms",
             algorithm.c_str());
    return std::nullopt;
  }
  return out;
}

RhostsVerdict rhosts_text_verdict(std::string_view text, const std::string& path,
                                  std::string_view host, std::string_view ip,
                                  std::string_view client_user, std::string_view server_user) {
  std::string host_lc = lower(host);
  std::string host_z(host), user_z(client_user);
  TextLines lines(text);
  std::string_view line;
  while (lines.next(line)) {
    auto f = fields_of(line);
    if (f.empty() || f[0][0] == '#') continue;
    if (f.size() > 2) {
      log_debug("Found garbage in %s", path.c_str());
      continue;
    }
    std::string_view h = f[0];
    std::string_view u = f.size() == 2 ? f[1] : server_user;
    bool negated = false;
    // hosts.equiv(5): "-" denies, "+" affirms (and "+" alone would mean everyone).
    if (h[0] == '-' || h[0] == '+') {
      negated = h[0] == '-';
      h.remove_prefix(1);
    }
    if (!u.empty() && (u[0] == '-' || u[0] == '+')) {
      negated = negated || u[0] == '-';
      u.remove_prefix(1);
    }
    if (h.empty() || u.empty()) {
      log_verbose("Ignoring wild host/user names in %s", path.c_str());
      continue;
    }
    bool host_ok = h[0] == '@' ? in_netgroup(h.substr(1), host_z.c_str(), nullptr)
                               : (lower(h) == host_lc || h == ip);
    if (!host_ok) continue;
    bool user_ok =
        u[0] == '@' ? in_netgroup(u.substr(1), nullptr, user_z.c_str()) : u == client_user;
    if (!user_ok) continue;
    if (negated) {
      log_verbose("Matched negative entry in %s", path.c_str());
      return RhostsVerdict::kDeny;
    }
    return RhostsVerdict::kPermit;
  }
  return RhostsVerdict::kNoMatch;
}

bool rhosts_permit(const Account& user, std::string_view client_user, std::string_view host,
                   std::string_view ip, const config::ServerConfig& config,
                   const HostbasedFiles& files) {
  log_debug2("auth_rhosts2: clientuser %.*s hostname %.*s ipaddr %.*s", int(client_user.size()),
             client_user.data(), int(host.size()), host.data(), int(ip.size()), ip.data());
  // sshd(8): hosts.equiv and shosts.equiv let the same user name in; never root, whose access
  // through them would make every listed host's root ours.
  if (user.uid == 0) {
    log_debug3("auth_rhosts2: root user, ignoring system hosts files");
  } else if (client_user == user.name) {
    for (const std::string& path : {files.hosts_equiv, files.shosts_equiv}) {
      std::string text;
      if (read_small_file(path, text) != ReadStatus::kOk) continue;
      if (rhosts_text_verdict(text, path, host, ip, client_user, user.name) ==
          RhostsVerdict::kPermit) {
        log_debug2("Accepted for %.*s [%.*s] by %s.", int(host.size()), host.data(), int(ip.size()),
                   ip.data(), path.c_str());
        return true;
      }
    }
  }
  // IgnoreRhosts (sshd_config(5)): yes ignores both user files, shosts-only keeps .shosts.
  if (config.ignore_rhosts == config::IgnoreRhosts::kYes) {
    log_debug2("auth_rhosts2: server has been configured to ignore user rhosts files");
    return false;
  }
  TemporaryUserIdentity as_user(user);
  if (!as_user.ok()) return false;
  struct stat st;
  if (::stat(user.home.c_str(), &st) != 0) {
    log_info("Rhosts authentication refused for %s: no home directory %s", user.name.c_str(),
             user.home.c_str());
    return false;
  }
  if (config.strict_modes && ((st.st_uid != 0 && st.st_uid != user.uid) || (st.st_mode & 022))) {
    log_info("Rhosts authentication refused for %s: bad ownership or modes for home directory.",
             user.name.c_str());
    return false;
  }
  std::vector<std::string> names = {".shosts"};
  if (config.ignore_rhosts == config::IgnoreRhosts::kNo) names.push_back(".rhosts");
  for (const auto& name : names) {
    std::string path = user.home + (user.home.empty() || user.home.back() != '/' ? "/" : "") + name;
    std::string text;
    if (read_small_file(path, text, config.strict_modes ? &user : nullptr) != ReadStatus::kOk)
      continue;
    if (rhosts_text_verdict(text, path, host, ip, client_user, user.name) ==
        RhostsVerdict::kPermit) {
      log_debug3("Accepted by %s.", name.c_str());
      return true;
    }
  }
  return false;
}

HostKeyCheck check_client_host_key(const Account& user, const std::string& host,
                                   const HostbasedKey& key, const config::ServerConfig& config,
                                   const HostbasedFiles& files, time_t now) {
  // A certificate is found through its CA's @cert-authority line; the certified key and the CA
  // may also be @revoked.
  const PublicKey& lookup_key = key.cert ? key.cert->signature_key() : *key.key;
  std::string user_file = user.home + "/.ssh/known_hosts";
  std::vector<std::pair<std::string, bool>> pairs[2] = {
      {{files.system_known_hosts, false}, {user_file, true}},
      {{files.system_known_hosts2, false}, {user_file + "2", true}}};
  for (const auto& pair : pairs) {
    HostKeyCheck found = HostKeyCheck::kUnknown;
    std::string where;
    for (const auto& [path, is_user] : pair) {
      if (is_user && config.ignore_user_known_hosts) continue;
      auto text = is_user ? read_user_known_hosts(path, user, config.strict_modes)
                          : read_system_known_hosts(path);
      if (!text) continue;
      if (key.cert &&
          lookup_known_host(*text, host, key.cert->key()).status == KnownHostStatus::kRevoked) {
        log_error("Authentication key %s revoked by %s", key.log_text().c_str(), path.c_str());
        return HostKeyCheck::kRevoked;
      }
      auto r = lookup_known_host(*text, host, lookup_key, key.cert.has_value());
      if (r.status == KnownHostStatus::kRevoked) {
        log_error("Authentication key %s revoked by %s:%zu", key.log_text().c_str(), path.c_str(),
                  r.line_no);
        return HostKeyCheck::kRevoked;
      }
      if (r.status == KnownHostStatus::kFound && found == HostKeyCheck::kUnknown) {
        found = HostKeyCheck::kKnown;
        where = path + ":" + std::to_string(r.line_no);
      }
    }
    if (found == HostKeyCheck::kKnown) {
      log_debug("check_key_in_hostfiles: key for %s found at %s", host.c_str(), where.c_str());
      if (!key.cert) return found;
      // A host certificate (PROTOCOL.certkeys): host type, valid now, and naming this host
      // among its principals (an empty list names every host).
      std::vector<std::string> ca_algs = split_list(config.ca_signature_algorithms);
      CertCheck check;
      check.type = CertType::kHost;
      check.now = uint64_t(now);
      check.principal = host;
      check.require_principals = false;
      check.ca_signature_algorithms = ca_algs.empty() ? nullptr : &ca_algs;
      CertVerdict v = check_certificate(*key.cert, check);
      if (!v.ok()) {
        log_error("Refusing certificate ID \"%s\" serial=%llu signed by %s CA %s via %s: %s",
                  key.cert->key_id().c_str(), (unsigned long long)key.cert->serial(),
                  std::string(key.cert->signature_key().log_name()).c_str(),
                  key.cert->signature_key().fingerprint_sha256().c_str(), where.c_str(),
                  v.message.c_str());
        return HostKeyCheck::kUnknown;
      }
      return found;
    }
    log_debug("check_key_in_hostfiles: key for host %s not found", host.c_str());
  }
  return HostKeyCheck::kUnknown;
}

std::string canonical_peer_name(const std::string& ip, bool use_dns) {
  if (!use_dns) return ip;
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    len = sizeof *v4;
  } else if (::inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    len = sizeof *v6;
  } else {
    return ip;
  }
  char name[NI_MAXHOST];
  if (::getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, name, sizeof name, nullptr, 0,
                    NI_NAMEREQD) != 0)
    return ip;
  // The reverse name counts only when it maps back to the address (a PTR record is the
  // address owner's to write, the forward lookup the name owner's).
  addrinfo hints{};
  hints.ai_family = ss.ss_family;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(name, nullptr, &hints, &res) != 0) {
    log_info("reverse mapping checking getaddrinfo for %s [%s] failed.", name, ip.c_str());
    return ip;
  }
  bool maps_back = false;
  for (addrinfo* a = res; a != nullptr && !maps_back; a = a->ai_next) {
    char addr[NI_MAXHOST];
    if (::getnameinfo(a->ai_addr, a->ai_addrlen, addr, sizeof addr, nullptr, 0, NI_NUMERICHOST) ==
        0)
      maps_back = ip == addr;
  }
  ::freeaddrinfo(res);
  if (!maps_back) {
    log_info("Address %s maps to %s, but this does not map back to the address.", ip.c_str(), name);
    return ip;
  }
  return lower(name);
}

std::string strip_trailing_dot(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return std::string(host);
}

bool hostbased_authorized(const Account& user, const HostbasedKey& key,
                          const std::string& client_host, const std::string& client_user,
                          const config::ServerConfig& config, const std::string& peer_ip,
                          const HostbasedFiles& files) {
  std::string chost = strip_trailing_dot(client_host);
  std::string lookup;
  if (config.hostbased_uses_name_from_packet_only) {
    // sshd_config(5): the name the client sent is used as is, for the rhosts files as well.
    if (!rhosts_permit(user, client_user, chost, chost, config, files)) {
      log_debug2(
          "hostbased_key_allowed: auth_rhosts2 refused user \"%s\" host \"%s\" (from "
          "packet)",
          client_user.c_str(), chost.c_str());
      return false;
    }
    lookup = chost;
  } else {
    std::string resolved = canonical_peer_name(peer_ip, config.use_dns);
    if (lower(resolved) != lower(chost))
      log_info("userauth_hostbased mismatch: client sends %s, but we resolve %s to %s",
               chost.c_str(), peer_ip.c_str(), resolved.c_str());
    if (!rhosts_permit(user, client_user, resolved, peer_ip, config, files)) {
      log_debug2("hostbased_key_allowed: auth_rhosts2 refused user \"%s\" host \"%s\" addr \"%s\"",
                 client_user.c_str(), resolved.c_str(), peer_ip.c_str());
      return false;
    }
    lookup = resolved;
  }
  log_debug2("hostbased_key_allowed: access allowed by auth_rhosts2");
  if (check_client_host_key(user, lookup, key, config, files) != HostKeyCheck::kKnown) return false;
  if (key.cert)
    log_verbose("Accepted certificate ID \"%s\" signed by %s CA %s from %s@%s",
                key.cert->key_id().c_str(),
                std::string(key.cert->signature_key().log_name()).c_str(),
                key.cert->signature_key().fingerprint_sha256().c_str(), client_user.c_str(),
                lookup.c_str());
  else
    log_verbose("Accepted %s public key %s from %s@%s", std::string(key.key->log_name()).c_str(),
                key.key->fingerprint_sha256().c_str(), client_user.c_str(), lookup.c_str());
  return true;
}

Bytes hostbased_signed_data(ByteView session_id, std::string_view user, std::string_view service,
                            std::string_view algorithm, ByteView key_blob,
                            std::string_view client_host, std::string_view client_user) {
  Writer w;
  w.string(session_id)
      .u8(kMsgUserauthRequest)
      .string(user)
      .string(service)
      .string("hostbased")
      .string(algorithm)
      .string(key_blob)
      .string(client_host)
      .string(client_user);
  return w.buffer();
}

}  // namespace postern::monitor
