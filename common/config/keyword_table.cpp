// The keyword table: one row per sshd_config(5) keyword, written with the row's field names, in
// the order `sshd -T` prints them (OpenSSH 9.2 as Debian ships it); keywords -T does not print
// come last. Then the aliases, the deprecated and unsupported names, and lookups by name.
#include <syslog.h>

#include "common/config/keywords.h"
#include "common/config/value_formats.h"
#include "postern_config.h"  // POSTERN_PID_FILE

namespace postern::config::detail {
namespace {

constexpr Choice kAddressFamily[] = {
    {"any", AddressFamily::kAny}, {"inet", AddressFamily::kInet}, {"inet6", AddressFamily::kInet6}};
constexpr Choice kPermitRootLogin[] = {
    {"without-password", PermitRootLogin::kProhibitPassword},
    {"prohibit-password", PermitRootLogin::kProhibitPassword},
    {"forced-commands-only", PermitRootLogin::kForcedCommandsOnly},
    {"yes", PermitRootLogin::kYes},
    {"no", PermitRootLogin::kNo}};
constexpr Choice kIgnoreRhosts[] = {{"yes", IgnoreRhosts::kYes},
                                    {"no", IgnoreRhosts::kNo},
                                    {"shosts-only", IgnoreRhosts::kShostsOnly}};
constexpr Choice kGatewayPorts[] = {{"no", GatewayPorts::kNo},
                                    {"yes", GatewayPorts::kYes},
                                    {"clientspecified", GatewayPorts::kClientSpecified}};
constexpr Choice kForwarding[] = {{"yes", Forwarding::kAll},
                                  {"all", Forwarding::kAll},
                                  {"no", Forwarding::kNo},
                                  {"local", Forwarding::kLocal},
                                  {"remote", Forwarding::kRemote}};
// sshd treats "yes" as "delayed" (compression after authentication) and prints "yes".
constexpr Choice kCompression[] = {
    {"yes", Compression::kDelayed}, {"delayed", Compression::kDelayed}, {"no", Compression::kNo}};
constexpr Choice kFingerprintHash[] = {{"MD5", FingerprintHash::kMd5},
                                       {"SHA1", FingerprintHash::kSha1},
                                       {"SHA256", FingerprintHash::kSha256},
                                       {"SHA384", FingerprintHash::kSha384},
                                       {"SHA512", FingerprintHash::kSha512}};
constexpr Choice kPermitTunnel[] = {{"yes", PermitTunnel::kYes},
                                    {"point-to-point", PermitTunnel::kPointToPoint},
                                    {"ethernet", PermitTunnel::kEthernet},
                                    {"no", PermitTunnel::kNo}};
constexpr Choice kFacility[] = {
    {"DAEMON", LOG_DAEMON},     {"USER", LOG_USER},     {"AUTH", LOG_AUTH},
    {"AUTHPRIV", LOG_AUTHPRIV}, {"LOCAL0", LOG_LOCAL0}, {"LOCAL1", LOG_LOCAL1},
    {"LOCAL2", LOG_LOCAL2},     {"LOCAL3", LOG_LOCAL3}, {"LOCAL4", LOG_LOCAL4},
    {"LOCAL5", LOG_LOCAL5},     {"LOCAL6", LOG_LOCAL6}, {"LOCAL7", LOG_LOCAL7}};

constexpr Choice kOpenSSHDefaults[] = {{"9.2", OpenSSHDefaults::k92}, {"10", OpenSSHDefaults::k10}};

using S = ServerConfig;
constexpr int kCipherList = static_cast<int>(AlgorithmKind::kCipher);
constexpr int kMacList = static_cast<int>(AlgorithmKind::kMac);
constexpr int kKexList = static_cast<int>(AlgorithmKind::kKex);
constexpr int kKeyList = static_cast<int>(AlgorithmKind::kKeyType);
constexpr int kCaKeyList = static_cast<int>(AlgorithmKind::kCaKeyType);
constexpr int kGssList = static_cast<int>(AlgorithmKind::kGssKex);

#define KEYTYPES_CERT                                                                  \
  "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,"         \
  "ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com," \
  "sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,"   \
  "rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,"
#define KEYTYPES_PLAIN                                                       \
  "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521," \
  "sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256"
// Under OpenSSHDefaults 10 the lists also hold OpenSSH 10.5's ML-DSA-44 hybrid, first of each
// part as mlkem768x25519-sha256 is of KexAlgorithms (a post-quantum choice first).
#define KEYTYPES10_CERT "ssh-mldsa44-ed25519-cert-v01@openssh.com," KEYTYPES_CERT
#define KEYTYPES10_PLAIN "ssh-mldsa44-ed25519@openssh.com," KEYTYPES_PLAIN

// Rows packed by hand (clang-format would give every field its own line).
// clang-format off
const Keyword kTable[] = {
  {.name = "Port", .member = &S::ports, .flags = kAccumulate, .parse = parse_port,
   .dump = dump_ports},
  {.name = "AddressFamily", .member = &S::address_family, .def = "any", .parse = parse_choice,
   .dump = dump_choice, .choices = kAddressFamily},
  {.name = "ListenAddress", .member = &S::listen_addresses, .flags = kAccumulate,
   .parse = parse_listen, .dump = dump_listen},
  {.name = "UsePAM", .member = &S::use_pam, .def = "no", .parse = parse_flag, .dump = dump_flag},
  {.name = "LoginGraceTime", .member = &S::login_grace_time, .def = "120",
   .parse = parse_time_value, .dump = dump_int},
  {.name = "X11DisplayOffset", .member = &S::x11_display_offset, .flags = kInMatch, .def = "10",
   .parse = parse_int, .dump = dump_int},
  {.name = "MaxAuthTries", .member = &S::max_auth_tries, .flags = kInMatch, .def = "6",
   .parse = parse_int, .dump = dump_int},
  {.name = "MaxSessions", .member = &S::max_sessions, .flags = kInMatch, .def = "10",
   .parse = parse_int, .dump = dump_int},
  {.name = "ClientAliveInterval", .member = &S::client_alive_interval, .flags = kInMatch,
   .def = "0", .parse = parse_time_value, .dump = dump_int},
  {.name = "ClientAliveCountMax", .member = &S::client_alive_count_max, .flags = kInMatch,
   .def = "3", .parse = parse_int, .dump = dump_int},
  {.name = "RequiredRSASize", .member = &S::required_rsa_size, .flags = kInMatch, .def = "1024",
   .parse = parse_int, .dump = dump_int},
  {.name = "StreamLocalBindMask", .member = &S::stream_local_bind_mask,
   .flags = kInMatch | kLastWins, .def = "0177", .parse = parse_mask, .dump = dump_mask},
  {.name = "UnusedConnectionTimeout", .member = &S::unused_connection_timeout, .flags = kInMatch,
   .def = "none", .parse = parse_time_or_none, .dump = dump_int_or_none},
  {.name = "PermitRootLogin", .member = &S::permit_root_login, .flags = kInMatch,
   .def = "prohibit-password", .parse = parse_choice, .dump = dump_choice,
   .choices = kPermitRootLogin},
  {.name = "IgnoreRhosts", .member = &S::ignore_rhosts, .flags = kInMatch, .def = "yes",
   .parse = parse_choice, .dump = dump_choice, .choices = kIgnoreRhosts},
  {.name = "IgnoreUserKnownHosts", .member = &S::ignore_user_known_hosts, .def = "no",
   .parse = parse_flag, .dump = dump_flag},
  {.name = "HostbasedAuthentication", .member = &S::hostbased_authentication, .flags = kInMatch,
   .def = "no", .parse = parse_flag, .dump = dump_flag},
  {.name = "HostbasedUsesNameFromPacketOnly", .member = &S::hostbased_uses_name_from_packet_only,
   .flags = kInMatch, .def = "no", .parse = parse_flag, .dump = dump_flag},
  {.name = "PubkeyAuthentication", .member = &S::pubkey_authentication, .flags = kInMatch,
   .def = "yes", .parse = parse_flag, .dump = dump_flag},
  {.name = "KerberosAuthentication", .member = &S::kerberos_authentication, .flags = kInMatch,
   .def = "no", .parse = parse_flag, .dump = dump_flag},
  {.name = "KerberosOrLocalPasswd", .member = &S::kerberos_or_local_passwd, .def = "yes",
   .parse = parse_flag, .dump = dump_flag},
  {.name = "KerberosTicketCleanup", .member = &S::kerberos_ticket_cleanup, .def = "yes",
   .parse = parse_flag, .dump = dump_flag},
  {.name = "GSSAPIAuthentication", .member = &S::gssapi_authentication, .flags = kInMatch,
   .def = "no", .parse = parse_flag, .dump = dump_flag},
  {.name = "GSSAPICleanupCredentials", .member = &S::gssapi_cleanup_credentials, .def = "yes",
   .parse = parse_flag, .dump = dump_flag},
  {.name = "GSSAPIKeyExchange", .member = &S::gssapi_key_exchange, .def = "no", .parse = parse_flag,
   .dump = dump_flag},
  {.name = "GSSAPIStrictAcceptorCheck", .member = &S::gssapi_strict_acceptor_check, .def = "yes",
   .parse = parse_flag, .dump = dump_flag},
  {.name = "GSSAPIStoreCredentialsOnRekey", .member = &S::gssapi_store_credentials_on_rekey,
   .def = "no", .parse = parse_flag, .dump = dump_flag},
  {.name = "GSSAPIKexAlgorithms", .member = &S::gssapi_kex_algorithms,
   .def =
       "gss-group14-sha256-,gss-group16-sha512-,gss-nistp256-sha256-,gss-curve25519-sha256-,"
       "gss-group14-sha1-,gss-gex-sha1-",
   .parse = parse_algorithms, .dump = dump_plain, .error = "Bad GSSAPI KexAlgorithms",
   .algorithms = kGssList},
  {.name = "PasswordAuthentication", .member = &S::password_authentication, .flags = kInMatch,
   .def = "yes", .parse = parse_flag, .dump = dump_flag},
  {.name = "KbdInteractiveAuthentication", .member = &S::kbd_interactive_authentication,
   .flags = kInMatch, .def = "yes", .parse = parse_flag, .dump = dump_flag},
  {.name = "PrintMotd", .member = &S::print_motd, .def = "yes", .parse = parse_flag,
   .dump = dump_flag},
  {.name = "PrintLastLog", .member = &S::print_last_log, .def = "yes", .parse = parse_flag,
   .dump = dump_flag},
  {.name = "X11Forwarding", .member = &S::x11_forwarding, .flags = kInMatch, .def = "no",
   .parse = parse_flag, .dump = dump_flag},
  {.name = "X11UseLocalhost", .member = &S::x11_use_localhost, .flags = kInMatch, .def = "yes",
   .parse = parse_flag, .dump = dump_flag},
  {.name = "PermitTTY", .member = &S::permit_tty, .flags = kInMatch, .def = "yes",
   .parse = parse_flag, .dump = dump_flag},
  {.name = "PermitUserRC", .member = &S::permit_user_rc, .flags = kInMatch, .def = "yes",
   .parse = parse_flag, .dump = dump_flag},
  {.name = "StrictModes", .member = &S::strict_modes, .def = "yes", .parse = parse_flag,
   .dump = dump_flag},
  {.name = "TCPKeepAlive", .member = &S::tcp_keep_alive, .def = "yes", .parse = parse_flag,
   .dump = dump_flag},
  {.name = "PermitEmptyPasswords", .member = &S::permit_empty_passwords, .flags = kInMatch,
   .def = "no", .parse = parse_flag, .dump = dump_flag},
  {.name = "Compression", .member = &S::compression, .def = "yes", .parse = parse_choice,
   .dump = dump_choice, .choices = kCompression},
  {.name = "GatewayPorts", .member = &S::gateway_ports, .flags = kInMatch, .def = "no",
   .parse = parse_choice, .dump = dump_choice, .choices = kGatewayPorts},
  {.name = "UseDNS", .member = &S::use_dns, .def = "no", .parse = parse_flag, .dump = dump_flag},
  {.name = "AllowTcpForwarding", .member = &S::allow_tcp_forwarding, .flags = kInMatch,
   .def = "yes", .parse = parse_choice, .dump = dump_choice, .choices = kForwarding},
  {.name = "AllowAgentForwarding", .member = &S::allow_agent_forwarding, .flags = kInMatch,
   .def = "yes", .parse = parse_flag, .dump = dump_flag},
  {.name = "DisableForwarding", .member = &S::disable_forwarding, .flags = kInMatch, .def = "no",
   .parse = parse_flag, .dump = dump_flag},
  {.name = "AllowStreamLocalForwarding", .member = &S::allow_stream_local_forwarding,
   .flags = kInMatch, .def = "yes", .parse = parse_choice, .dump = dump_choice,
   .choices = kForwarding},
  {.name = "StreamLocalBindUnlink", .member = &S::stream_local_bind_unlink, .flags = kInMatch,
   .def = "no", .parse = parse_flag, .dump = dump_flag},
  {.name = "FingerprintHash", .member = &S::fingerprint_hash, .flags = kLastWins, .def = "SHA256",
   .parse = parse_choice, .dump = dump_choice, .choices = kFingerprintHash,
   .error = "Invalid FingerprintHash algorithm"},
  {.name = "ExposeAuthInfo", .member = &S::expose_auth_info, .flags = kInMatch, .def = "no",
   .parse = parse_flag, .dump = dump_flag},
  {.name = "PidFile", .member = &S::pid_file, .flags = kPath, .def = POSTERN_PID_FILE,
   .parse = parse_string, .dump = dump_string},
  {.name = "ModuliFile", .member = &S::moduli_file, .flags = kPath, .def = "@/moduli",
   .parse = parse_path, .dump = dump_plain},
  {.name = "XAuthLocation", .member = &S::xauth_location, .flags = kPath, .def = "/usr/bin/xauth",
   .parse = parse_string, .dump = dump_string},
  {.name = "Ciphers", .member = &S::ciphers,
   .def =
       "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,"
       "aes256-gcm@openssh.com",
   .parse = parse_algorithms, .dump = dump_plain, .error = "Bad SSH2 cipher spec",
   .algorithms = kCipherList},
  {.name = "MACs", .member = &S::macs,
   .def =
       "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"
       "hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,"
       "umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1",
   .parse = parse_algorithms, .dump = dump_plain, .error = "Bad SSH2 mac spec",
   .algorithms = kMacList},
  {.name = "Banner", .member = &S::banner, .flags = kInMatch | kPath, .def = "none",
   .parse = parse_string, .dump = dump_string},
  {.name = "ForceCommand", .member = &S::force_command, .flags = kInMatch, .def = "none",
   .parse = parse_line, .dump = dump_line},
  {.name = "ChrootDirectory", .member = &S::chroot_directory, .flags = kInMatch, .def = "none",
   .parse = parse_string, .dump = dump_string},
  {.name = "TrustedUserCAKeys", .member = &S::trusted_user_ca_keys, .flags = kInMatch | kPath,
   .def = "none", .parse = parse_string, .dump = dump_string},
  {.name = "RevokedKeys", .member = &S::revoked_keys, .flags = kInMatch | kPath, .def = "none",
   .parse = parse_string, .dump = dump_string},
  {.name = "SecurityKeyProvider", .member = &S::security_key_provider, .flags = kPath,
   .def = "internal", .parse = parse_path, .dump = dump_plain},
  {.name = "AuthorizedPrincipalsFile", .member = &S::authorized_principals_file, .flags = kInMatch,
   .def = "none", .parse = parse_string, .dump = dump_string},
  {.name = "VersionAddendum", .member = &S::version_addendum, .def = "none", .parse = parse_line,
   .dump = dump_line},
  {.name = "AuthorizedKeysCommand", .member = &S::authorized_keys_command, .flags = kInMatch,
   .def = "none", .parse = parse_command, .dump = dump_line},
  {.name = "AuthorizedKeysCommandUser", .member = &S::authorized_keys_command_user,
   .flags = kInMatch, .def = "none", .parse = parse_string, .dump = dump_string},
  {.name = "AuthorizedPrincipalsCommand", .member = &S::authorized_principals_command,
   .flags = kInMatch, .def = "none", .parse = parse_command, .dump = dump_line},
  {.name = "AuthorizedPrincipalsCommandUser", .member = &S::authorized_principals_command_user,
   .flags = kInMatch, .def = "none", .parse = parse_string, .dump = dump_string},
  {.name = "HostKeyAgent", .member = &S::host_key_agent, .flags = kPath, .def = "none",
   .parse = parse_string, .dump = dump_string},
  {.name = "KexAlgorithms", .member = &S::kex_algorithms,
   .def =
       "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,"
       "curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,"
       "diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,"
       "diffie-hellman-group18-sha512,diffie-hellman-group14-sha256",
   .parse = parse_algorithms, .dump = dump_plain, .error = "Bad SSH2 KexAlgorithms",
   .algorithms = kKexList,
   // OpenSSH 10.0 dropped finite-field Diffie-Hellman from the server's default list and put
   // mlkem768x25519-sha256 first.
   .def_openssh10 =
       "mlkem768x25519-sha256,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,"
       "curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521"},
  {.name = "CASignatureAlgorithms", .member = &S::ca_signature_algorithms, .flags = kInMatch,
   .def = KEYTYPES_PLAIN, .parse = parse_algorithms, .dump = dump_plain, .error = "Bad key types",
   .algorithms = kCaKeyList, .def_openssh10 = KEYTYPES10_PLAIN},
  {.name = "HostbasedAcceptedAlgorithms", .member = &S::hostbased_accepted_algorithms,
   .flags = kInMatch, .def = KEYTYPES_CERT KEYTYPES_PLAIN, .parse = parse_algorithms,
   .dump = dump_plain, .error = "Bad key types", .algorithms = kKeyList,
   .def_openssh10 = KEYTYPES10_CERT KEYTYPES10_PLAIN},
  {.name = "HostKeyAlgorithms", .member = &S::host_key_algorithms,
   .def = KEYTYPES_CERT KEYTYPES_PLAIN, .parse = parse_algorithms, .dump = dump_plain,
   .error = "Bad key types", .algorithms = kKeyList,
   .def_openssh10 = KEYTYPES10_CERT KEYTYPES10_PLAIN},
  {.name = "PubkeyAcceptedAlgorithms", .member = &S::pubkey_accepted_algorithms, .flags = kInMatch,
   .def = KEYTYPES_CERT KEYTYPES_PLAIN, .parse = parse_algorithms, .dump = dump_plain,
   .error = "Bad key types", .algorithms = kKeyList,
   .def_openssh10 = KEYTYPES10_CERT KEYTYPES10_PLAIN},
  {.name = "LogLevel", .member = &S::log_level, .flags = kInMatch, .def = "INFO",
   .parse = parse_log_level_value, .dump = dump_log_level},
  {.name = "SyslogFacility", .member = &S::syslog_facility, .def = "AUTH", .parse = parse_facility,
   .dump = dump_choice, .choices = kFacility},
  {.name = "AuthorizedKeysFile", .member = &S::authorized_keys_files, .flags = kInMatch,
   .def = ".ssh/authorized_keys .ssh/authorized_keys2", .parse = parse_word_list,
   .dump = dump_word_list},
  {.name = "HostKey", .member = &S::host_keys, .flags = kAccumulate | kPath,
   .parse = parse_accumulate, .dump = dump_each},
  {.name = "HostCertificate", .member = &S::host_certificates, .flags = kAccumulate | kPath,
   .parse = parse_accumulate, .dump = dump_each},
  {.name = "AllowUsers", .member = &S::allow_users, .flags = kInMatch | kAccumulate,
   .parse = parse_accumulate, .dump = dump_each},
  {.name = "DenyUsers", .member = &S::deny_users, .flags = kInMatch | kAccumulate,
   .parse = parse_accumulate, .dump = dump_each},
  {.name = "AllowGroups", .member = &S::allow_groups, .flags = kInMatch | kAccumulate,
   .parse = parse_accumulate, .dump = dump_each},
  {.name = "DenyGroups", .member = &S::deny_groups, .flags = kInMatch | kAccumulate,
   .parse = parse_accumulate, .dump = dump_each},
  {.name = "AcceptEnv", .member = &S::accept_env, .flags = kInMatch | kAccumulate,
   .parse = parse_accumulate, .dump = dump_each},
  {.name = "SetEnv", .member = &S::set_env, .flags = kInMatch, .parse = parse_word_list,
   .dump = dump_each_or_nothing},
  {.name = "AuthenticationMethods", .member = &S::authentication_methods, .flags = kInMatch,
   .def = "any", .parse = parse_auth_methods, .dump = dump_words},
  {.name = "LogVerbose", .member = &S::log_verbose, .flags = kInMatch | kDumpIfSet,
   .parse = parse_word_list, .dump = dump_word_list_if_set},
  {.name = "ChannelTimeout", .member = &S::channel_timeout, .flags = kInMatch | kDumpIfSet,
   .parse = parse_word_list, .dump = dump_word_list_if_set},
  // In Match since OpenSSH 9.4 (a deliberate difference from 9.2, man/sshd_config.5).
  {.name = "Subsystem", .member = &S::subsystems, .flags = kInMatch | kAccumulate,
   .parse = parse_subsystem, .dump = dump_subsystems, .copy = copy_subsystems},
  {.name = "MaxStartups", .flags = kLastWins, .def = "10:30:100",
   .parse = parse_max_startups, .dump = dump_max_startups, .copy = copy_max_startups},
  {.name = "PerSourceMaxStartups", .member = &S::per_source_max_startups, .flags = kLastWins,
   .def = "none", .parse = parse_int_or_none, .dump = dump_int_max_or_none},
  {.name = "PerSourceNetBlockSize", .flags = kLastWins, .def = "32:128",
   .parse = parse_netblock, .dump = dump_netblock, .copy = copy_netblock},
  {.name = "PermitTunnel", .member = &S::permit_tunnel, .flags = kInMatch, .def = "no",
   .parse = parse_choice, .dump = dump_choice, .choices = kPermitTunnel},
  {.name = "IPQoS", .flags = kInMatch | kLastWins,
   .def = "lowdelay throughput", .parse = parse_ipqos, .dump = dump_ipqos, .copy = copy_ipqos},
  {.name = "RekeyLimit", .flags = kInMatch | kLastWins,
   .def = "default none", .parse = parse_rekey, .dump = dump_rekey, .copy = copy_rekey},
  {.name = "PermitOpen", .member = &S::permit_open, .flags = kInMatch, .def = "any",
   .parse = parse_permit, .dump = dump_words},
  {.name = "PermitListen", .member = &S::permit_listen, .flags = kInMatch, .def = "any",
   .parse = parse_permit, .dump = dump_words},
  {.name = "PermitUserEnvironment", .member = &S::permit_user_environment, .def = "no",
   .parse = parse_user_env, .dump = dump_plain},
  {.name = "PubkeyAuthOptions", .member = &S::pubkey_auth_options, .flags = kInMatch, .def = "none",
   .parse = parse_pubkey_options, .dump = dump_word_list},
  // Not printed by OpenSSH 9.2's -T.
  {.name = "RDomain", .member = &S::rdomain, .flags = kInMatch | kNoDump, .parse = parse_string,
   .dump = dump_string},
  {.name = "DebianBanner", .member = &S::debian_banner, .flags = kNoDump, .def = "yes",
   .parse = parse_flag, .dump = dump_flag},
  {.name = "PerSourcePenalties", .parse = parse_penalties,
   .dump = dump_penalties, .copy = copy_penalties,
   .def_openssh10 = "yes"},  // on by default since OpenSSH 9.8
  {.name = "PerSourcePenaltyExemptList", .member = &S::per_source_penalty_exempt_list,
   .flags = kDumpIfSet, .parse = parse_string, .dump = dump_string_if_set},
  // OpenSSH 9.8-10.x keywords Debian's 9.2 lacks: its -T has no such lines (the comparison
  // leaves them out, compare_with_openssh.py). The helpers' paths are fixed for the listener's
  // lifetime, so Match cannot set them.
  {.name = "SshdSessionPath", .member = &S::sshd_session_path, .parse = parse_helper_path,
   .dump = dump_helper_path},
  {.name = "SshdAuthPath", .member = &S::sshd_auth_path, .parse = parse_helper_path,
   .dump = dump_helper_path},
  {.name = "RefuseConnection", .member = &S::refuse_connection, .flags = kInMatch, .def = "no",
   .parse = parse_flag, .dump = dump_flag},
  // postern's own compatibility switch: OpenSSH 9.2's defaults (Debian 12) or 10's.
  {.name = "OpenSSHDefaults", .member = &S::openssh_defaults, .def = "9.2",
   .parse = parse_choice, .dump = dump_choice, .choices = kOpenSSHDefaults},
  // postern's bastion mode (sshd -B, man/postern-bastion.5): the policy file, unused otherwise.
  // Last, so the lines of -T before it are OpenSSH's, line for line.
  {.name = "BastionPolicy", .member = &S::bastion_policy, .flags = kPath,
   .def = "/etc/postern/bastion.toml", .parse = parse_path, .dump = dump_plain},
  // postern's own: the load balancers that send a PROXY protocol header; after BastionPolicy
  // for the same reason.
  {.name = "ProxyProtocolFrom", .member = &S::proxy_protocol_from, .parse = parse_address_list,
   .dump = dump_string},
};
// clang-format on
static_assert(std::size(kTable) < kRekeyIntervalSet);

struct Alias {
  const char* alias;
  const char* name;
};
constexpr Alias kAliases[] = {
    {"SkeyAuthentication", "KbdInteractiveAuthentication"},
    {"ChallengeResponseAuthentication", "KbdInteractiveAuthentication"},
    {"DSAAuthentication", "PubkeyAuthentication"},
    {"KeepAlive", "TCPKeepAlive"},
    {"GSSAPICleanupCreds", "GSSAPICleanupCredentials"},
    {"PubkeyAcceptedKeyTypes", "PubkeyAcceptedAlgorithms"},
    {"HostbasedAcceptedKeyTypes", "HostbasedAcceptedAlgorithms"},
    {"HostDSAKey", "HostKey"},
};

struct SpecialName {
  const char* name;
  Special kind;
};
constexpr SpecialName kSpecials[] = {
    {"ServerKeyBits", Special::kDeprecated},
    {"KeyRegenerationInterval", Special::kDeprecated},
    {"RhostsRSAAuthentication", Special::kDeprecated},
    {"RSAAuthentication", Special::kDeprecated},
    {"UsePrivilegeSeparation", Special::kDeprecated},
    {"UseLogin", Special::kDeprecated},
    {"PAMAuthenticationViaKbdInt", Special::kDeprecated},
    {"VerifyReverseMapping", Special::kDeprecated},
    {"ReverseMappingCheck", Special::kDeprecated},
    {"AuthorizedKeysFile2", Special::kDeprecated},
    {"CheckMail", Special::kDeprecated},
    {"RhostsAuthentication", Special::kDeprecated},
    {"PermitBlacklistedKeys", Special::kDeprecated},
    {"KerberosTgtPassing", Special::kUnsupported},
    {"AFSTokenPassing", Special::kUnsupported},
    {"KerberosGetAFSToken", Special::kUnsupported},
    {"Protocol", Special::kIgnored},
};

}  // namespace

std::span<const Keyword> keyword_table() {
  return kTable;
}

int find_keyword(std::string_view name) {
  for (const Alias& a : kAliases)
    if (iequals(name, a.alias)) return find_keyword(a.name);
  for (size_t i = 0; i < std::size(kTable); ++i)
    if (iequals(name, kTable[i].name)) return static_cast<int>(i);
  return -1;
}

bool special_in_match(std::string_view name) {
  for (const char* n : {"RSAAuthentication", "RhostsRSAAuthentication", "AuthorizedKeysFile2"})
    if (iequals(name, n)) return true;
  return false;
}

Special special_keyword(std::string_view name) {
  for (const SpecialName& s : kSpecials)
    if (iequals(name, s.name)) return s.kind;
  return Special::kNone;
}

void copy_member(const Keyword& kw, ServerConfig& dst, const ServerConfig& src) {
  if (kw.copy) return kw.copy(dst, src);
  std::visit(
      [&](auto m) {
        if constexpr (!std::is_same_v<decltype(m), std::monostate>) dst.*m = src.*m;
      },
      kw.member);
}

}  // namespace postern::config::detail
