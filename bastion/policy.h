// The bastion policy (../shared/BASTION.md, man/postern-bastion.5): bastion.toml (settings, policy
// users, targets, extenders, roles) and the certificate templates of templates.json it names.
// Loaded by the listener at start and on SIGHUP (a broken file keeps the old policy), carried to
// each connection's monitor as text, and parsed again there; only the monitor decides with it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace postern::bastion {

enum class HostKeyPolicy { kStrict, kAcceptNew };

// [bastion]: where the bastion's files are and how it behaves. Keys the example file does not
// show are ours (documented in postern-bastion.5); every path is absolute.
struct Settings {
  std::string ca_key = "/etc/postern/bastion_ca";
  std::string templates = "/etc/postern/templates.json";
  std::string known_hosts = "/etc/postern/known_hosts";
  HostKeyPolicy host_key_policy = HostKeyPolicy::kStrict;
  std::string recordings = "/var/lib/postern/recordings";
  std::string audit_log = "/var/log/postern/audit.jsonl";
  // Ours: the session index (postern-bastion.5 AUDIT INDEX): "" for SQLite beside audit_log
  // (audit.jsonl -> audit.db), "sqlite:/path", "postgresql://..." (or "postgres://"), "off".
  std::string audit_database;
  std::vector<std::string> proxy_listen;                // "address:port", "[v6]:port"
  uint32_t certificate_validity = 300;                  // seconds ("5m", "90s", "1h")
  std::vector<std::string> record = {"shell", "exec"};  // shell | exec | sftp
  // Ours (recordings): client input in the recording too; the most bytes one recording file
  // may hold (a marker event says where it was cut); and whether a session whose recording
  // cannot be opened is refused (fail closed, the default) or goes on unrecorded.
  bool record_input = false;
  uint64_t record_max_bytes = 64ull * 1024 * 1024;  // "64M", "1G", "500K", or bytes
  bool record_failure_allow = false;                // record_failure = "refuse" | "allow"
  // Ours: the last serial issued (kept so serials rise across restarts), and how long opening a
  // target connection (TCP and the SSH handshake) may take.
  std::string serial_file = "/var/lib/postern/ca_serial";
  uint32_t connect_timeout = 10;  // seconds
  // Ours (extenders): the root-only directory where each connected extender's socket is.
  std::string extender_sockets = "/run/postern/extenders";
};

// [[user]]: a bastion user that is no account of this machine.
struct PolicyUser {
  std::string name;
  std::vector<std::string> keys;  // authorized_keys(5) lines: options (from=, ...) then the key
  // Ours: an RFC 6238 secret in base32 (bastion/totp.h); non-empty, a verification code is asked
  // as a keyboard-interactive step after the key.
  std::string totp;
};

// [[target]]: a host the bastion can name, list and route to.
struct Target {
  std::string name;
  std::string address;  // host name or address to connect to
  int port = 22;
  std::vector<std::string> users;  // target accounts roles may grant
  std::vector<std::string> tags;
  std::string via;  // an [[extender]] name, or empty
};

// [[extender]]: a route into a network the bastion cannot reach (issue 13 uses it).
struct Extender {
  std::string name;
  std::vector<std::string> keys;
};

enum class Credential { kCertificate, kAgent, kKey };

// [[role]]: members may reach targets as target_users with channels. Deny by default.
struct Role {
  std::string name;
  std::vector<std::string> members;       // user names, "group:NAME"
  std::vector<std::string> targets;       // target names, "tag:TAG", CIDRs, host globs
  std::vector<std::string> target_users;  // "*" grants any account the target lists
  std::vector<std::string> channels;  // shell exec sftp scp direct-tcpip remote-forward agent x11
  Credential credential = Credential::kCertificate;
  std::string key_path;                                     // credential = "key:/path"
  std::string template_name;                                // from templates.json
  std::vector<std::string> source = {"0.0.0.0/0", "::/0"};  // client address lists
  bool issue_certificates = false;
};

// One entry of templates.json (PrivX's template form): %H target host, %R client address,
// %S serial, %P bastion user. Empty principals means the target user.
struct CertTemplate {
  std::string name;
  std::string description;
  std::string service;  // "SSH"
  std::string type;     // "openssh" or another template's name it derives from
  std::string key_id;
  std::vector<std::string> principals;
  std::vector<std::string> extensions;  // "permit-pty", or "name=value" (value may hold tokens)
  std::vector<std::string> rsa_signature_types;  // rsa-sha2-512 | rsa-sha2-256 | ssh-rsa
};

struct Policy {
  std::string path;  // of bastion.toml, for messages
  Settings bastion;
  std::vector<PolicyUser> users;
  std::vector<Target> targets;
  std::vector<Extender> extenders;
  std::vector<Role> roles;
  std::vector<CertTemplate> templates;

  const PolicyUser* find_user(std::string_view name) const;
  const Target* find_target(std::string_view name) const;
  const Role* find_role(std::string_view name) const;
  const CertTemplate* find_template(std::string_view name) const;
};

// The channel kinds roles name.
inline constexpr std::string_view kChannelKinds[] = {
    "shell", "exec", "sftp", "scp", "direct-tcpip", "remote-forward", "agent", "x11"};

// Parses bastion.toml text and templates.json text. Errors name the file, the line and the key:
// "/etc/postern/bastion.toml:12: role \"web-ops\": channels: unknown channel \"ftp\"". Unknown
// keys and tables are errors (a typo must not silently widen or narrow access); so are
// references that do not resolve (a role's template, a target's via, a template's type).
Result<Policy> parse_policy(std::string_view toml_text, const std::string& toml_path,
                            std::string_view templates_text, const std::string& templates_path);
// Reads the policy file and the templates file it names (bounded: 4 MiB each) and parses them.
Result<Policy> load_policy(const std::string& path);

// The two files as read, so the listener can hand the same bytes to every connection's monitor.
struct PolicyText {
  std::string toml_path, toml;
  std::string templates_path, templates;
};
Result<PolicyText> read_policy_files(const std::string& path);
Result<Policy> parse_policy(const PolicyText& text);

}  // namespace postern::bastion
