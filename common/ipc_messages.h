// The messages between postern's processes (docs/architecture.md), all carried by common/ipc.h:
//
//   sshd (listener) ──SessionStart──▶ sshd-session (monitor, one per connection)
//   monitor ──NetSetup──▶ sshd-net (pre-auth child) ──requests──▶ monitor
//   monitor ──UserSetup──▶ sshd-user (post-auth session process) ──requests──▶ monitor
//
// Each request names its Reply. The monitor allows each request only in its phase and in order
// (monitor/monitor.cpp holds the table); anything else ends the connection. Requests from the
// children are untrusted: every field is bounded by the ipc codec and re-checked by the monitor.
// Type numbers are unique across the whole set so a misrouted message is always recognised.
#pragma once

#include <cstdint>
#include <string>
#include <tuple>

#include "common/bytes.h"
#include "common/ipc.h"

namespace postern::ipc {

// ---- Listener → monitor ----------------------------------------------------------------------

// Everything sshd-session needs to serve one connection; the client socket is its fd 0 and 1.
//   byte   1
//   string config      serialize_config() text of the loaded configuration (not re-read)
//   u32    log level   LogLevel as int (after -d/-q)
//   u32    facility    syslog facility
//   bool   to_stderr   -e / -d
//   string log_file    -E file, "" for none
//   bool   startup_pipe  fd 4 is the listener's startup pipe, closed after authentication
//                        (MaxStartups counts the connections that still hold theirs)
//   string pam_service  the PAM service name: the name sshd was run as ("sshd"), as in OpenSSH
//   bool   bastion      sshd -B (../shared/BASTION.md). The bastion policy's two files, as
//                       read and checked at start (or SIGHUP), travel as one sealed memfd with
//                       this message (monitor/bastion_policy_blob.h): too large for a datagram
//   bool   proxy_door   sshd -B: accepted on a proxy_listen port, so a proxy request comes first
struct SessionStart {
  static constexpr uint8_t kType = 1;
  using Reply = NoReply;
  std::string config;
  uint32_t log_level = 0;
  uint32_t facility = 0;
  bool to_stderr = false;
  std::string log_file;
  bool startup_pipe = false;
  std::string pam_service;  // the name sshd was started as: the PAM service (UsePAM)
  bool bastion = false;     // sshd -B: the policy comes as a sealed memfd with this message
  bool proxy_door = false;  // sshd -B: accepted on a proxy_listen port (the proxy front door)
  auto fields() {
    return std::tie(config, log_level, facility, to_stderr, log_file, startup_pipe, pam_service,
                    bastion, proxy_door);
  }
};

// ---- Children → monitor: logging ---------------------------------------------------------------

// A log line from a child (the net child cannot reach syslog or files). The monitor logs it at
// that level, the net child's with " [preauth]" appended, as OpenSSH does.
//   byte   2
//   u32    level       LogLevel as int
//   string line
//   u32    facility    syslog facility for this line (internal-sftp -f), 0: the monitor's own
struct LogLine {
  static constexpr uint8_t kType = 2;
  using Reply = NoReply;
  uint32_t level = 0;
  std::string line;
  uint32_t facility = 0;
  auto fields() { return std::tie(level, line, facility); }
};

// ---- Monitor → net child ---------------------------------------------------------------------

// The net child's setup, sent once after exec. The client socket is the child's fd 4.
//   byte     3
//   string   config            serialize_config() text (the global, pre-Match configuration)
//   u32      log level
//   string[] host key algs     algorithms the monitor can sign with, preference order
//   string[] host key blobs    public key blob for each algorithm (same index)
//   string   remote_addr, u32 remote_port, string local_addr, u32 local_port
//   bool     proxy_door        a proxy request (bastion/proxy_request.h) comes before SSH
struct NetSetup {
  static constexpr uint8_t kType = 3;
  using Reply = NoReply;
  std::string config;
  uint32_t log_level = 0;
  StringList host_key_algorithms;
  BlobList host_key_blobs;
  std::string remote_addr;
  uint32_t remote_port = 0;
  std::string local_addr;
  uint32_t local_port = 0;
  bool proxy_door = false;
  auto fields() {
    return std::tie(config, log_level, host_key_algorithms, host_key_blobs, remote_addr,
                    remote_port, local_addr, local_port, proxy_door);
  }
};

// ---- Net child / session process → monitor: host key signing --------------------------------

//   byte   11
//   string signature   SSH signature blob (string alg, string sig)
struct SignReply {
  static constexpr uint8_t kType = 11;
  Bytes signature;
  auto fields() { return std::tie(signature); }
};
// Signs an exchange hash with the host key for `algorithm`. The monitor accepts only data the
// size of an exchange hash and records the first one as the session identifier (RFC 4253 §7.2).
//   byte   10
//   string algorithm
//   string data
struct SignRequest {
  static constexpr uint8_t kType = 10;
  using Reply = SignReply;
  std::string algorithm;
  Bytes data;
  auto fields() { return std::tie(algorithm, data); }
};

//   byte   13
//   string p, g        unsigned big-endian magnitudes
struct ModuliReply {
  static constexpr uint8_t kType = 13;
  Bytes p;
  Bytes g;
  auto fields() { return std::tie(p, g); }
};
// A Diffie-Hellman group for diffie-hellman-group-exchange (RFC 4419 §3): the moduli file is
// outside the net child's chroot.
//   byte   12
//   u32    min, n, max
struct ModuliRequest {
  static constexpr uint8_t kType = 12;
  using Reply = ModuliReply;
  uint32_t min = 0;
  uint32_t n = 0;
  uint32_t max = 0;
  auto fields() { return std::tie(min, n, max); }
};

// ---- Net child → monitor: authentication (RFC 4252) -------------------------------------------

//   byte   15
//   bool   valid       the user exists and may log in (an invalid user still gets the protocol)
//   u32    max_auth_tries   after Match for this user
//   string[] methods   the methods to offer, "publickey" ...
//   string banner      Banner file contents after Match ("" for none), sent before auth (RFC 4252
//   §5.4)
struct PwnamReply {
  static constexpr uint8_t kType = 15;
  bool valid = false;
  uint32_t max_auth_tries = 0;
  StringList methods;
  std::string banner;
  auto fields() { return std::tie(valid, max_auth_tries, methods, banner); }
};
// The user and service of the first USERAUTH_REQUEST (RFC 4252 §5). Allowed once: a change of
// user or service is a protocol violation in the net child and never reaches the monitor.
//   byte   14
//   string user
//   string service
struct PwnamRequest {
  static constexpr uint8_t kType = 14;
  using Reply = PwnamReply;
  std::string user;
  std::string service;
  auto fields() { return std::tie(user, service); }
};

//   byte   17
//   bool   allowed
//   bool   exceeded    MaxAuthTries reached: the net child disconnects
struct KeyAllowedReply {
  static constexpr uint8_t kType = 17;
  bool allowed = false;
  bool exceeded = false;
  auto fields() { return std::tie(allowed, exceeded); }
};
// Whether `key` may log in as the user (AuthorizedKeysFile, StrictModes, PubkeyAcceptedAlgorithms,
// PermitRootLogin). `with_signature`: a real attempt follows (otherwise a query, RFC 4252 §7).
//   byte   16
//   string algorithm   public key algorithm name from the request
//   string key         public key blob
//   bool   with_signature
struct KeyAllowedRequest {
  static constexpr uint8_t kType = 16;
  using Reply = KeyAllowedReply;
  std::string algorithm;
  Bytes key;
  bool with_signature = false;
  auto fields() { return std::tie(algorithm, key, with_signature); }
};

// The outcome of an authentication attempt, whatever the method (publickey signature, password,
// keyboard-interactive, hostbased): what SSH_MSG_USERAUTH_SUCCESS / FAILURE (RFC 4252 §5.1) need.
//   byte   19
//   bool   ok          the method succeeded
//   bool   exceeded    MaxAuthTries reached: the connection ends
//   bool   partial     it succeeded, but AuthenticationMethods wants more (RFC 4252 §5.1)
//   string[] methods   with partial: the methods that may continue
//   string banner      text PAM's account stage showed ("password expired"), for
//                      SSH_MSG_USERAUTH_BANNER before success; "" for none
struct AuthOutcome {
  static constexpr uint8_t kType = 19;
  bool ok = false;
  bool exceeded = false;
  bool partial = false;
  StringList methods;
  std::string banner;
  auto fields() { return std::tie(ok, exceeded, partial, methods, banner); }
};
// Checks a publickey signature. The monitor rebuilds nothing from the child's word: it parses
// `signed_data` itself (RFC 4252 §7; publickey-hostbound-v00@openssh.com adds the host key) and
// checks the session identifier, user, service, algorithm and key against what it knows.
//   byte   18
//   string algorithm
//   string key
//   string signature
//   string signed_data
struct KeyVerifyRequest {
  static constexpr uint8_t kType = 18;
  using Reply = AuthOutcome;
  std::string algorithm;
  Bytes key;
  Bytes signature;
  Bytes signed_data;
  auto fields() { return std::tie(algorithm, key, signature, signed_data); }
};

// A "password" request (RFC 4252 §8) without a change of password; the monitor checks it
// through PAM or the shadow database (monitor/auth_password.h). keyboard-interactive has its own
// requests below.
//   byte   30
//   string password    (secret)
struct PasswordRequest {
  static constexpr uint8_t kType = 30;
  using Reply = AuthOutcome;
  SecretBytes password;
  auto fields() { return std::tie(password); }
};

// ---- Net child → monitor: keyboard-interactive through PAM (RFC 4256) ------------------------

//   byte     91
//   bool     done          the conversation ended; the outcome follows
//   string   instruction   (not done) PAM_TEXT_INFO / PAM_ERROR_MSG lines, shown before the prompts
//   string[] prompts       (not done) the questions of one PAM conversation call (may be none)
//   string   echo          (not done) one byte per prompt: 1 when the answer may be echoed
//   AuthOutcome outcome    (done) its fields, without the type byte
struct KbdintReply {
  static constexpr uint8_t kType = 91;
  bool done = false;
  std::string instruction;
  StringList prompts;
  Bytes echo;
  AuthOutcome outcome;
  auto fields() { return std::tie(done, instruction, prompts, echo, outcome); }
};
// A "keyboard-interactive" request (RFC 4256 §3.1): the monitor starts a PAM conversation for the
// user and answers with its first questions. A new request abandons a running conversation.
//   byte   90
//   string submethods   as the client sent it (logged only)
struct KbdintStartRequest {
  static constexpr uint8_t kType = 90;
  using Reply = KbdintReply;
  std::string submethods;
  auto fields() { return std::tie(submethods); }
};
// SSH_MSG_USERAUTH_INFO_RESPONSE (RFC 4256 §3.4), allowed only while a conversation waits for
// it; a count that differs from the prompts asked ends the connection.
//   byte   92
//   string responses    (secret) u32 count, then that many strings
struct KbdintResponseRequest {
  static constexpr uint8_t kType = 92;
  using Reply = KbdintReply;
  SecretBytes responses;
  auto fields() { return std::tie(responses); }
};

// A "hostbased" request (RFC 4252 §9), decided whole by the monitor (monitor/auth_hostbased.h):
// HostbasedAcceptedAlgorithms, the rhosts files, known_hosts, and the signature, verified over
// data the monitor builds from its own session identifier, user and service and these fields.
//   byte   44
//   string algorithm   public key algorithm of the client host key
//   string key         host key blob, or a host certificate
//   string client_host as sent (an FQDN with a trailing dot)
//   string client_user the user name on the client host
//   string signature
struct HostbasedRequest {
  static constexpr uint8_t kType = 44;
  using Reply = AuthOutcome;
  std::string algorithm;
  Bytes key;
  std::string client_host;
  std::string client_user;
  Bytes signature;
  auto fields() { return std::tie(algorithm, key, client_host, client_user, signature); }
};

// Authentication succeeded and the transport is idle: its state moves to the monitor, which
// hands it to the session process. The net child exits after sending this.
//   byte   20
//   string state       Transport::export_state() bytes (secret)
struct AuthDone {
  static constexpr uint8_t kType = 20;
  using Reply = NoReply;
  SecretBytes transport_state;
  auto fields() { return std::tie(transport_state); }
};

// ---- Monitor → session process -------------------------------------------------------------

// The session process's setup. The client socket is the child's fd 4.
//   byte     21
//   string   config        serialize_config() text of the effective (Match-applied) config
//   u32      log level
//   string   user, u32 uid, u32 gid, string home, string shell
//   string[] host key algs, string[] host key blobs   (for re-keying through the monitor)
//   string   remote_addr, u32 remote_port, string local_addr, u32 local_port
//   string   transport state (secret)
//   string[] pam_env       PAM environment (pam_getenvlist) after pam_open_session
//   string[] key_environment   the authorizing key's environment= options ("NAME=value"),
//                              only when PermitUserEnvironment is not "no"
//   bool     key_command   the effective ForceCommand is the key's command=, not the config's
//   string[] key_permit_open    the authorizing key's permitopen= ("host:port"), empty for none
//   string[] key_permit_listen  its permitlisten= ("[host:]port"); both lists and the config's
//                               PermitOpen / PermitListen must allow a forwarding
//   string   groups        the user's groups as initgroups(3) would set them, u32 each
//                          (privsep_child/group_list.h), for setgroups(2) in sshd-user
struct UserSetup {
  static constexpr uint8_t kType = 21;
  using Reply = NoReply;
  std::string config;
  uint32_t log_level = 0;
  std::string user;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string home;
  std::string shell;
  StringList host_key_algorithms;
  BlobList host_key_blobs;
  std::string remote_addr;
  uint32_t remote_port = 0;
  std::string local_addr;
  uint32_t local_port = 0;
  SecretBytes transport_state;
  StringList pam_env;  // "NAME=value" from pam_getenvlist (UsePAM), for the user's sessions
  StringList key_environment;
  bool key_command = false;
  StringList key_permit_open;
  StringList key_permit_listen;
  Bytes groups;
  auto fields() {
    return std::tie(config, log_level, user, uid, gid, home, shell, host_key_algorithms,
                    host_key_blobs, remote_addr, remote_port, local_addr, local_port,
                    transport_state, pam_env, key_environment, key_command, key_permit_open,
                    key_permit_listen, groups);
  }
};

// ---- Session process → monitor: pty ------------------------------------------------------------

//   byte   23
//   string tty_name    "/dev/pts/N"
//   fds    master, slave
struct PtyReply {
  static constexpr uint8_t kType = 23;
  std::string tty_name;
  std::vector<UniqueFd> fds;
  auto fields() { return std::tie(tty_name); }
};
// A pty for the logged-in user: the monitor opens it as root and gives the slave to the user
// (mode 0620, group tty).
//   byte   22
struct PtyRequest {
  static constexpr uint8_t kType = 22;
  using Reply = PtyReply;
  auto fields() { return std::tie(); }
};

// ---- Session process → monitor: host key rotation (OpenSSH PROTOCOL §2.5) ----------------------

//   byte     61
//   string[] keys      public key blob of every loaded HostKey (certificates are not announced)
struct HostKeysReply {
  static constexpr uint8_t kType = 61;
  BlobList keys;
  auto fields() { return std::tie(keys); }
};
// The keys to announce with the "hostkeys-00@openssh.com" global request after authentication.
//   byte   60
struct HostKeysRequest {
  static constexpr uint8_t kType = 60;
  using Reply = HostKeysReply;
  auto fields() { return std::tie(); }
};

//   byte     63
//   string[] signatures  one SSH signature blob per requested key, in the request's order
struct HostKeysProveReply {
  static constexpr uint8_t kType = 63;
  BlobList signatures;
  auto fields() { return std::tie(signatures); }
};
// Proof of ownership for "hostkeys-prove-00@openssh.com". The monitor builds the signed data
// itself (string "hostkeys-prove-00@openssh.com", string session identifier, string key), so the
// only choice the session process makes is which of the monitor's own keys sign.
//   byte     62
//   string[] keys      public key blobs, each one of the loaded host keys
struct HostKeysProveRequest {
  static constexpr uint8_t kType = 62;
  using Reply = HostKeysProveReply;
  BlobList keys;
  auto fields() { return std::tie(keys); }
};

// ---- Session process → monitor: tun forwarding (OpenSSH PROTOCOL §2.3) -------------------------

//   byte   65
//   string name        the interface the descriptor is attached to ("tun0", "tap3")
//   fd     the tun/tap device
struct TunOpenReply {
  static constexpr uint8_t kType = 65;
  std::string name;
  std::vector<UniqueFd> fds;
  auto fields() { return std::tie(name); }
};
// A tun/tap device for a "tun@openssh.com" channel: the monitor checks PermitTunnel and the
// key's tunnel= / restrict options, opens /dev/net/tun with the user's credentials deciding
// access to the device (sshd_config(5) PermitTunnel), and passes the descriptor.
//   byte   64
//   u32    mode        1 point-to-point (layer 3), 2 ethernet (layer 2)
//   u32    unit        device number, 0x7fffffff for the next free one
struct TunOpenRequest {
  static constexpr uint8_t kType = 64;
  using Reply = TunOpenReply;
  uint32_t mode = 0;
  uint32_t unit = 0;
  auto fields() { return std::tie(mode, unit); }
};

// ---- Session process → monitor: login records (monitor/login_records.h) -------------------------

//   byte   71
//   string last_login  "Last login: <date> from <host>\r\n" of the login before this one (for
//                      PrintLastLog), "" when there was none
struct LoginRecordReply {
  static constexpr uint8_t kType = 71;
  std::string last_login;
  auto fields() { return std::tie(last_login); }
};
// A session starts on a pty: the monitor writes utmp, wtmp and lastlog. Only for a pty the
// monitor allocated on this connection, once.
//   byte   70
//   string tty_name    "/dev/pts/N", as PtyReply named it
struct LoginRecordRequest {
  static constexpr uint8_t kType = 70;
  using Reply = LoginRecordReply;
  std::string tty_name;
  auto fields() { return std::tie(tty_name); }
};
// The session on a logged-in pty ended: DEAD_PROCESS in utmp and wtmp. Not answered.
//   byte   72
//   string tty_name
struct LogoutRecordRequest {
  static constexpr uint8_t kType = 72;
  using Reply = NoReply;
  std::string tty_name;
  auto fields() { return std::tie(tty_name); }
};

}  // namespace postern::ipc
