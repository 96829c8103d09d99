// ServerConfig: the sshd_config(5) model every postern process reads.
//
// API (what the listener, monitor and session code use):
//   auto cfg = load_server_config("/etc/ssh/sshd_config", {"Port=2222"});  // -o options first
//   if (!cfg) fatal("%s", cfg.error().message.c_str());  // "FILE line N: ..." as OpenSSH says it
//   ConnectionInfo ci{.user = "bob", .host = "h", .addr = "10.0.0.1", .laddr = "10.0.0.2",
//                     .lport = 22};
//   ServerConfig eff = apply_match(*cfg, ci);   // Match blocks for this connection
//   std::string text = dump_config(eff);         // `sshd -T` text
//   std::string wire = serialize_config(eff);    // hand to a child; deserialize_config(wire)
//                                                // gives back an equal ServerConfig (Match
//                                                // blocks included, so the child can apply them)
//
// Members are named after their keyword in snake_case and hold the effective value after defaults
// were filled in: times are seconds, "none" strings are empty, algorithm lists are the final
// comma-separated list (+, -, ^ already applied against the defaults). Enumerated keywords are
// ints holding the constants of the small structs below (e.g. PermitRootLogin::kProhibitPassword).
// A default-constructed ServerConfig is a blank for the parser; default_server_config() gives
// OpenSSH's defaults. Token expansion (%h, %u...) for the keywords that take tokens: tokens.h.
// keyword_table.cpp holds the one table that drives parsing, -T, Match copying and serialisation;
// man/sshd_config.5 DIFFERENCES FROM OPENSSH lists where postern reads a config differently from
// OpenSSH 9.2 and why.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"
#include "common/result.h"

namespace postern::config {

struct AddressFamily {
  enum : int { kAny, kInet, kInet6 };
};
struct PermitRootLogin {
  enum : int { kNo, kForcedCommandsOnly, kProhibitPassword, kYes };
};
struct IgnoreRhosts {
  enum : int { kNo, kYes, kShostsOnly };
};
struct GatewayPorts {
  enum : int { kNo, kYes, kClientSpecified };
};
// AllowTcpForwarding and AllowStreamLocalForwarding.
struct Forwarding {
  enum : int { kNo, kLocal, kRemote, kAll };
};
struct Compression {
  enum : int { kNo, kDelayed, kYes };
};
struct FingerprintHash {
  enum : int { kMd5, kSha1, kSha256, kSha384, kSha512 };
};
struct PermitTunnel {
  enum : int { kNo, kPointToPoint, kEthernet, kYes };
};

// OpenSSHDefaults (postern's own): whose defaults fill what a configuration leaves out. 9.2 (the
// default) keeps `sshd -T` equal to Debian 12's; 10 takes OpenSSH 10's where they changed
// (no finite-field Diffie-Hellman in KexAlgorithms, PerSourcePenalties on).
struct OpenSSHDefaults {
  enum : int { k92, k10 };
};

struct ListenAddress {
  std::string host;     // literal address or name, without brackets; empty = wildcard
  int port = 0;         // 0: every Port
  std::string rdomain;  // empty: none
  bool operator==(const ListenAddress&) const = default;
};

// PerSourcePenalties (OpenSSH 9.8): seconds a source is refused after each kind of misbehaviour.
// postern leaves it off unless configured, as OpenSSH 9.2 has no such feature (see
// man/sshd_config.5 DIFFERENCES FROM OPENSSH); "yes" or any setting turns it on with these
// defaults.
struct PerSourcePenalties {
  bool enabled = false;
  int crash = 90;
  int authfail = 5;
  int invalid_user = 5;  // OpenSSH 10: authentication tried for a user that does not exist
  int noauth = 1;
  int grace_exceeded = 10;
  int refuse_connection = 10;  // OpenSSH 10.0: ended by RefuseConnection
  int max = 600;               // most penalty time a source accumulates
  int min = 15;                // penalty time before a source is refused
  int max_sources4 = 65536;
  int max_sources6 = 65536;
  bool overflow_permissive = true;  // when the table is full: allow (true) or refuse all
  bool overflow6_permissive = true;
  bool operator==(const PerSourcePenalties&) const = default;
};

struct Subsystem {
  std::string name;
  std::string command;  // program and its arguments, as written
  bool operator==(const Subsystem&) const = default;
};

// One line kept for re-evaluating Match blocks later (after Include expansion).
struct ConfigLine {
  std::string file;
  int line = 0;
  std::string text;
  int match_block = -1;  // index into ServerConfig::match_blocks, -1 for global lines
  // Where a line came from is not part of its meaning (serialisation renumbers it).
  bool operator==(const ConfigLine& o) const {
    return text == o.text && match_block == o.match_block;
  }
};

inline constexpr size_t kMaxKeywords = 160;

struct ServerConfig {
  std::vector<int> ports;
  int address_family = AddressFamily::kAny;
  std::vector<ListenAddress> listen_addresses;  // after defaults: one entry per endpoint
  bool use_pam = false;
  int login_grace_time = 120;
  int x11_display_offset = 10;
  int max_auth_tries = 6;
  int max_sessions = 10;
  int client_alive_interval = 0;
  int client_alive_count_max = 3;
  int required_rsa_size = 1024;
  int stream_local_bind_mask = 0177;
  int unused_connection_timeout = 0;  // 0: none
  int permit_root_login = PermitRootLogin::kProhibitPassword;
  int ignore_rhosts = IgnoreRhosts::kYes;
  bool ignore_user_known_hosts = false;
  bool hostbased_authentication = false;
  bool hostbased_uses_name_from_packet_only = false;
  bool pubkey_authentication = true;
  bool kerberos_authentication = false;
  bool kerberos_or_local_passwd = true;
  bool kerberos_ticket_cleanup = true;
  bool gssapi_authentication = false;
  bool gssapi_cleanup_credentials = true;
  bool gssapi_key_exchange = false;
  bool gssapi_strict_acceptor_check = true;
  bool gssapi_store_credentials_on_rekey = false;
  std::string gssapi_kex_algorithms;
  bool password_authentication = true;
  bool kbd_interactive_authentication = true;
  bool print_motd = true;
  bool print_last_log = true;
  bool x11_forwarding = false;
  bool x11_use_localhost = true;
  bool permit_tty = true;
  bool permit_user_rc = true;
  bool strict_modes = true;
  bool tcp_keep_alive = true;
  bool permit_empty_passwords = false;
  int compression = Compression::kDelayed;
  int gateway_ports = GatewayPorts::kNo;
  bool use_dns = false;
  int allow_tcp_forwarding = Forwarding::kAll;
  bool allow_agent_forwarding = true;
  bool disable_forwarding = false;
  int allow_stream_local_forwarding = Forwarding::kAll;
  bool stream_local_bind_unlink = false;
  int fingerprint_hash = FingerprintHash::kSha256;
  bool expose_auth_info = false;
  std::string pid_file;
  std::string bastion_policy;  // BastionPolicy (sshd -B)
  std::string moduli_file;
  std::string xauth_location;
  std::string ciphers;
  std::string macs;
  std::string banner;
  std::string force_command;
  std::string chroot_directory;
  std::string trusted_user_ca_keys;
  std::string revoked_keys;
  std::string security_key_provider;
  std::string authorized_principals_file;
  std::string version_addendum;
  std::string authorized_keys_command;
  std::string authorized_keys_command_user;
  std::string authorized_principals_command;
  std::string authorized_principals_command_user;
  std::string host_key_agent;
  std::string kex_algorithms;
  std::string ca_signature_algorithms;
  std::string hostbased_accepted_algorithms;
  std::string host_key_algorithms;
  std::string pubkey_accepted_algorithms;
  LogLevel log_level = LogLevel::kInfo;
  int syslog_facility = 4 << 3;                    // LOG_AUTH
  std::vector<std::string> authorized_keys_files;  // empty: none
  std::vector<std::string> host_keys;
  std::vector<std::string> host_certificates;
  std::vector<std::string> allow_users;
  std::vector<std::string> deny_users;
  std::vector<std::string> allow_groups;
  std::vector<std::string> deny_groups;
  std::vector<std::string> accept_env;
  std::vector<std::string> set_env;                 // NAME=value
  std::vector<std::string> authentication_methods;  // {"any"} by default
  std::vector<std::string> log_verbose;
  std::vector<std::string> channel_timeout;
  std::vector<Subsystem> subsystems;
  int max_startups_begin = 10;
  int max_startups_rate = 30;
  int max_startups_full = 100;
  int per_source_max_startups = 0x7fffffff;  // INT_MAX: none
  int per_source_netblock_size_ipv4 = 32;
  int per_source_netblock_size_ipv6 = 128;
  int permit_tunnel = PermitTunnel::kNo;
  int ip_qos_interactive = 0x10;                 // IPTOS_LOWDELAY
  int ip_qos_bulk = 0x08;                        // IPTOS_THROUGHPUT
  int64_t rekey_limit_bytes = 0;                 // 0: the cipher's default
  int rekey_limit_seconds = 0;                   // 0: none
  std::vector<std::string> permit_open;          // {"any"} by default, {"none"}
  std::vector<std::string> permit_listen;        // {"any"} by default, {"none"}
  std::string permit_user_environment;           // "no", "yes" or a pattern list
  std::vector<std::string> pubkey_auth_options;  // touch-required, verify-required
  std::string rdomain;
  bool debian_banner = true;
  PerSourcePenalties per_source_penalties;     // OpenSSH 9.8's keyword; off by default here
  std::string per_source_penalty_exempt_list;  // address list (patterns, CIDR), empty: none
  // ProxyProtocolFrom (postern's own): the load balancers whose connections start with a PROXY
  // protocol header (monitor/proxy_protocol.h); an address list, empty: none.
  std::string proxy_protocol_from;
  // SshdSessionPath (OpenSSH 9.8) and SshdAuthPath (10.0): the per-connection monitor the
  // listener execs and the pre-authentication child it execs (postern's sshd-session and
  // sshd-net). Empty: not configured, the built-in helper (monitor/spawn.h find_helper); -T
  // prints the installed path then.
  std::string sshd_session_path;
  std::string sshd_auth_path;
  // RefuseConnection (OpenSSH 10.0): a Match block that sets it ends the connection.
  bool refuse_connection = false;
  int openssh_defaults = OpenSSHDefaults::k92;

  // Which keywords (index into the keyword table) were given a value (first one wins).
  std::bitset<kMaxKeywords> explicitly_set;
  // Match blocks: the criteria text of each, and every line for re-evaluation.
  std::vector<std::string> match_blocks;
  std::vector<ConfigLine> match_lines;

  bool operator==(const ServerConfig&) const = default;
};

// Who is connecting, for Match evaluation. Empty strings / -1 mean "not known yet"; a criterion
// about an unknown attribute does not match (as OpenSSH, which re-evaluates once the user is
// known).
struct ConnectionInfo {
  std::string user;
  std::string host;
  std::string addr;
  std::string laddr;
  int lport = -1;
  std::string rdomain;
  // Match invalid-user (OpenSSH 10.0): the user name names no account. Only meaningful with a
  // user; false while the user is not known.
  bool invalid_user = false;
  // Match version: the version postern announces after "SSH-2.0-" (dump.cpp's default when
  // empty).
  std::string version{};
};

// The version string `Match version` tests when ConnectionInfo::version is empty:
// "postern_<version>", what the server announces after "SSH-2.0-".
std::string server_version_for_match();
// The built-in path -T prints for SshdSessionPath / SshdAuthPath when they are not configured.
std::string default_helper_path(std::string_view helper);

struct LoadOptions {
  std::string sysconfdir;  // base of relative Include paths and default files; "" = built-in
  int default_port = 22;   // when neither Port nor -p gives one (bastion mode: 2222)
};

// Reads the file (Include expanded), applies `cmdline_options` ("Key value" or "Key=value", as
// given to -o) first so they win, fills defaults. On error the message is OpenSSH's text
// ("FILE line N: ..." lines, then "FILE: terminating, N bad configuration options").
Result<ServerConfig> load_server_config(const std::string& path,
                                        const std::vector<std::string>& cmdline_options,
                                        const LoadOptions& options = {});
// Same, from text already in memory (`name` is used in messages).
Result<ServerConfig> parse_server_config(std::string_view text, const std::string& name,
                                         const std::vector<std::string>& cmdline_options,
                                         const LoadOptions& options = {});
// The defaults alone.
ServerConfig default_server_config(const LoadOptions& options = {});

// Returns `config` with the Match blocks that match `ci` applied (first value in them wins and
// overrides the global value).
ServerConfig apply_match(const ServerConfig& config, const ConnectionInfo& ci);
// For `sshd -T` (with or without -C; without, pass an empty ConnectionInfo, as sshd re-evaluates
// Match then too): apply_match, refusing (as OpenSSH does) a configuration whose Match blocks
// test LocalPort when `ci` leaves lport out.
Result<ServerConfig> apply_match_for_test(const ServerConfig& config, const ConnectionInfo& ci);
// Parses `-C` text: "user=u,host=h,addr=a,laddr=l,lport=p,rdomain=r", and OpenSSH 10's bare
// "invalid-user" (test as a connection whose user names no account).
Result<ConnectionInfo> parse_connection_spec(std::string_view spec);

// `sshd -T` output.
std::string dump_config(const ServerConfig& config);
// Text that deserialize_config() turns back into an equal ServerConfig.
std::string serialize_config(const ServerConfig& config);
Result<ServerConfig> deserialize_config(std::string_view text);

// LogVerbose: installs the configuration's patterns as the logger's location filter
// (common/log.h log_set_location_filter), or removes the filter when there are none. Each word
// is a pattern list matched against "FILE:FUNCTION():LINE" tags (log_verbose.cpp).
void apply_log_verbose(const ServerConfig& config);

}  // namespace postern::config
