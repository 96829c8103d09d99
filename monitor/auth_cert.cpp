#include "monitor/auth_cert.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/krl.h"
#include "common/log.h"
#include "common/match_pattern.h"
#include "common/text_lines.h"
#include "common/unique_fd.h"
#include "monitor/auth_commands.h"

namespace postern::monitor {

namespace {

constexpr size_t kMaxPrincipalsFile = 1 << 20;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// RevokedKeys is read on each attempt, as sshd does, so an updated list applies at once.
std::optional<RevocationList> load_revoked(const std::string& path, const std::string& what) {
  auto list = RevocationList::load_file(path);
  if (!list) {
    log_error("Error checking authentication key %s in revoked keys file %s: %s", what.c_str(),
              path.c_str(), list.error().message.c_str());
    return std::nullopt;
  }
  return std::move(*list);
}

// A file or command keyword that is set ("none" is the same as unset).
bool configured(const std::string& value) {
  return !value.empty() && value != "none";
}

// Reads a principals file as the user (as sshd does), with StrictModes; nullopt when absent or
// refused (logged).
std::optional<std::string> read_principals_file(const std::string& path, const Account& user,
                                                bool strict_modes) {
  TemporaryUserIdentity as_user(user);
  if (!as_user.ok()) return std::nullopt;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) {
    log_debug("Could not open user '%s' authorized principals '%s': %s", user.name.c_str(),
              path.c_str(), std::strerror(errno));
    return std::nullopt;
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    log_info("User %s authorized principals %s is not a regular file", user.name.c_str(),
             path.c_str());
    return std::nullopt;
  }
  if (strict_modes && !check_strict_modes(fd.get(), path, user)) return std::nullopt;
  std::string text;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    if (text.size() + size_t(n) > kMaxPrincipalsFile) return std::nullopt;
    text.append(buf, size_t(n));
  }
  return text;
}

bool ca_listed(const std::string& path, const PublicKey& ca) {
  std::ifstream f(path);
  if (!f) {
    log_debug("TrustedUserCAKeys %s: %s", path.c_str(), std::strerror(errno));
    return false;
  }
  std::string line;
  while (std::getline(f, line)) {
    std::string_view l = trim(line);
    if (l.empty() || l.front() == '#') continue;
    auto k = PublicKey::from_openssh_text(l);
    if (k && k->blob() == ca.blob()) return true;
  }
  return false;
}

// The stricter of a line's options and a certificate's restrictions; nullopt when both force a
// command and they differ.
std::optional<AuthorizedKeyOptions> combine(AuthorizedKeyOptions o, const Certificate& cert) {
  AuthorizedKeyOptions c = certificate_options(cert);
  o.permit_agent_forwarding = o.permit_agent_forwarding && c.permit_agent_forwarding;
  o.permit_port_forwarding = o.permit_port_forwarding && c.permit_port_forwarding;
  o.permit_pty = o.permit_pty && c.permit_pty;
  o.permit_user_rc = o.permit_user_rc && c.permit_user_rc;
  o.permit_x11_forwarding = o.permit_x11_forwarding && c.permit_x11_forwarding;
  o.verify_required = o.verify_required || c.verify_required;
  if (c.command) {
    if (o.command && *o.command != *c.command) {
      log_error("force-command mismatch");
      return std::nullopt;
    }
    o.command = c.command;
  }
  return o;
}

// check_certificate for a user certificate, logging sshd's line for a refusal. `principal` is
// the name that must be listed (nullopt when a principals file or option decided already);
// `require_principals` refuses an empty principal list (TrustedUserCAKeys).
bool user_certificate_valid(const Certificate& cert, const config::ServerConfig& config,
                            const Account& user, const std::string& client_ip,
                            std::optional<std::string> principal, bool require_principals,
                            time_t now) {
  std::vector<std::string> ca_algs = split_algorithm_list(config.ca_signature_algorithms);
  CertCheck check;
  check.type = CertType::kUser;
  check.now = uint64_t(now);
  check.principal = std::move(principal);
  check.require_principals = require_principals;
  check.client_address = client_ip;
  check.user = user.name;
  check.ca_signature_algorithms = ca_algs.empty() ? nullptr : &ca_algs;
  CertVerdict v = check_certificate(cert, check);
  if (v.ok()) return true;
  if (v.failure == CertFailure::kSourceAddress || v.failure == CertFailure::kSourceAddressInvalid) {
    log_info("cert: %s", v.message.c_str());
    log_error("Refused by certificate options");
  } else {
    log_error("%s", v.message.c_str());
  }
  return false;
}

// AuthorizedPrincipalsCommand: its output, read like an AuthorizedPrincipalsFile.
std::optional<AuthorizedKeyOptions> principals_command_accepts(const Account& user,
                                                               const Certificate& cert,
                                                               const config::ServerConfig& config,
                                                               const CommandConnection& conn) {
  if (config.authorized_principals_command_user.empty()) {
    log_error("No user for AuthorizedPrincipalsCommand specified, skipping");
    return std::nullopt;
  }
  // sshd_config(5) tokens for AuthorizedPrincipalsCommand (%u %U %h %C %D: command_argv).
  const PublicKey& ca = cert.signature_key();
  config::TokenValues values;
  values.set('t', std::string(cert.type_name()));
  values.set('f', cert.fingerprint_sha256());
  values.set('k', base64_encode(cert.blob()));
  values.set('i', cert.key_id());
  values.set('s', std::to_string(cert.serial()));
  values.set('T', std::string(ca.type_name()));
  values.set('F', ca.fingerprint_sha256());
  values.set('K', base64_encode(ca.blob()));
  const std::string& cmd = config.authorized_principals_command;
  auto argv = command_argv(cmd, config::TokenSet::kAuthorizedPrincipalsCommand, values, user, conn);
  if (!argv) {
    log_error("AuthorizedPrincipalsCommand \"%s\": %s", cmd.c_str(), argv.error().message.c_str());
    return std::nullopt;
  }
  auto out = run_keys_command(*argv, config.authorized_principals_command_user,
                              "AuthorizedPrincipalsCommand");
  if (!out) return std::nullopt;
  return principals_text_accepts(*out, cert, "AuthorizedPrincipalsCommand");
}

}  // namespace

std::vector<std::string> split_algorithm_list(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

bool key_revoked(const std::string& revoked_keys, const PublicKey& key) {
  if (!configured(revoked_keys)) return false;
  std::string what = std::string(key.log_name()) + " " + key.fingerprint_sha256();
  auto list = load_revoked(revoked_keys, what);
  if (!list) return true;
  if (!list->is_revoked(key)) return false;
  log_error("Authentication key %s revoked by file %s", what.c_str(), revoked_keys.c_str());
  return true;
}

bool certificate_revoked(const std::string& revoked_keys, const Certificate& cert) {
  if (!configured(revoked_keys)) return false;
  std::string what = cert.log_name() + " " + cert.fingerprint_sha256();
  auto list = load_revoked(revoked_keys, what);
  if (!list) return true;
  // sshd names the certificate whichever part of it (key, CA, serial, key ID) is revoked.
  if (list->revoked_part(cert) == RevokedPart::kNone) return false;
  log_error("Authentication key %s revoked by file %s", what.c_str(), revoked_keys.c_str());
  return true;
}

AuthorizedKeyOptions certificate_options(const Certificate& cert) {
  AuthorizedKeyOptions o;
  const CertPermissions& p = cert.permissions();
  o.permit_agent_forwarding = p.permit_agent_forwarding;
  o.permit_port_forwarding = p.permit_port_forwarding;
  o.permit_pty = p.permit_pty;
  o.permit_user_rc = p.permit_user_rc;
  o.permit_x11_forwarding = p.permit_x11_forwarding;
  o.no_touch_required = p.no_touch_required;
  o.verify_required = cert.verify_required();
  if (cert.force_command()) o.command = *cert.force_command();
  return o;
}

std::optional<AuthorizedKeyOptions> principals_text_accepts(std::string_view text,
                                                            const Certificate& cert,
                                                            const std::string& location) {
  TextLines lines(text);
  std::string_view line;
  while (lines.next(line)) {
    line = trim(line);
    const size_t lineno = lines.number();
    if (line.empty() || line.front() == '#') continue;
    // "[options] principal": the principal is the last word.
    size_t sp = line.find_last_of(" \t");
    std::string_view name = sp == std::string_view::npos ? line : line.substr(sp + 1);
    if (!cert.has_principal(name)) continue;
    AuthorizedKeyOptions options;
    if (sp != std::string_view::npos) {
      auto parsed = parse_authorized_key_options(trim(line.substr(0, sp)));
      if (!parsed) {
        log_verbose("%s:%zu: bad principals options: %s", location.c_str(), lineno,
                    parsed.error().message.c_str());
        continue;
      }
      options = std::move(*parsed);
    }
    log_debug("%s:%zu: matched principal \"%.100s\"", location.c_str(), lineno,
              std::string(name).c_str());
    return options;
  }
  return std::nullopt;
}

std::optional<AuthorizedKeyOptions> trusted_ca_authorizes(const Account& user,
                                                          const Certificate& cert,
                                                          const config::ServerConfig& config,
                                                          const CommandConnection& conn,
                                                          const Endpoint& client, time_t now) {
  const std::string& ca_file = config.trusted_user_ca_keys;
  if (!configured(ca_file)) return std::nullopt;
  const PublicKey& ca = cert.signature_key();
  if (!ca_listed(ca_file, ca)) {
    log_debug("%s: CA %s %s is not listed in %s", __func__, std::string(ca.log_name()).c_str(),
              ca.fingerprint_sha256().c_str(), ca_file.c_str());
    return std::nullopt;
  }
  if (key_revoked(config.revoked_keys, ca)) return std::nullopt;

  // AuthorizedPrincipalsFile and AuthorizedPrincipalsCommand, when configured, decide which
  // principals stand for the user (the file first); otherwise the user name itself must be a
  // listed principal.
  bool use_file = configured(config.authorized_principals_file);
  bool use_command = configured(config.authorized_principals_command);
  std::optional<AuthorizedKeyOptions> line_options;
  if (use_file) {
    std::string path = expand_authorized_keys_path(config.authorized_principals_file, user);
    log_debug("trying authorized principals file %s", path.c_str());
    if (auto text = read_principals_file(path, user, config.strict_modes))
      line_options = principals_text_accepts(*text, cert, path);
  }
  if (!line_options && use_command)
    line_options = principals_command_accepts(user, cert, config, conn);
  bool by_principals_list = use_file || use_command;
  if (by_principals_list && !line_options) {
    log_error("Certificate does not contain an authorized principal");
    return std::nullopt;
  }
  std::optional<std::string> principal;
  if (!by_principals_list) principal = user.name;
  if (!user_certificate_valid(cert, config, user, client.address, principal, true, now))
    return std::nullopt;
  // sshd(8) AUTHORIZED_KEYS FILE FORMAT: a principals line takes authorized_keys options, so
  // its from= and expiry-time= bind the certificate as they bind a key. The first line naming
  // a principal decides (a later line does not get a second chance), as in sshd.
  if (line_options &&
      !key_options_permit_login(*line_options, "principals", client, now, user.name, false)) {
    log_error("Refused by certificate principals options");
    return std::nullopt;
  }
  log_verbose("Accepted certificate ID \"%s\" (serial %llu) signed by %s CA %s via %s",
              cert.key_id().c_str(), static_cast<unsigned long long>(cert.serial()),
              std::string(ca.log_name()).c_str(), ca.fingerprint_sha256().c_str(), ca_file.c_str());
  return combine(line_options.value_or(AuthorizedKeyOptions{}), cert);
}

std::optional<AuthorizedKeyOptions> authorized_keys_ca_authorizes(
    const Account& user, const Certificate& cert, const config::ServerConfig& config,
    const Endpoint& client, time_t now) {
  AuthorizedKeysPolicy policy;
  policy.files = config.authorized_keys_files;
  policy.strict_modes = config.strict_modes;
  auto found = find_authorized_key(user, policy, cert.signature_key(), client, now, true);
  if (!found) return std::nullopt;
  const AuthorizedKeyOptions& line = found->options;
  if (line.principals) {
    bool any = false;
    for (const auto& p : cert.principals())
      if (match_pattern_list(p, *line.principals) == PatternMatch::kMatch) {
        log_debug("%s: matched principal \"%.100s\"", found->location.c_str(), p.c_str());
        any = true;
        break;
      }
    if (!any) {
      log_error("Certificate does not contain an authorized principal");
      return std::nullopt;
    }
  }
  std::optional<std::string> principal;
  if (!line.principals) principal = user.name;
  if (!user_certificate_valid(cert, config, user, client.address, principal, false, now))
    return std::nullopt;
  auto o = combine(line, cert);
  if (!o) return std::nullopt;
  log_verbose("Accepted certificate ID \"%s\" (serial %llu) signed by %s CA %s found at %s",
              cert.key_id().c_str(), static_cast<unsigned long long>(cert.serial()),
              std::string(cert.signature_key().log_name()).c_str(),
              cert.signature_key().fingerprint_sha256().c_str(), found->location.c_str());
  return o;
}

}  // namespace postern::monitor
