// The messages between a bastion connection's monitor and its post-auth process, sshd-bastion
// (../shared/BASTION.md "Processes"). The monitor decides everything with the policy, opens every
// target connection and holds the CA key; sshd-bastion relays and asks. Everything it sends is
// untrusted: the monitor allows these only in the bastion phase (monitor/monitor.cpp's table),
// and binds each later request to a target connection it opened itself (`target_id`).
// Type numbers continue common/ipc_messages.h's (unique across the whole set).
#pragma once

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "common/bytes.h"
#include "common/ipc.h"

namespace postern::ipc {

// ---- Monitor → sshd-bastion ------------------------------------------------------------------

// Setup, sent once after exec. The client socket is the child's fd 4.
//   byte     100
//   string   config          serialize_config() text of the effective configuration
//   u32      log level
//   string   bastion_user    who logged in
//   string   session         the bastion session id (16 hex digits; in audit, certificates)
//   string[] host key algs, string[] host key blobs   (client re-keys, signed by the monitor)
//   string   remote_addr, u32 remote_port, string local_addr, u32 local_port
//   string   transport state (secret)
//   bool     direct          the user name named a route (target_user%target%...%user)
//   string   target_user, target, u32 port, string extender    the route as typed
//   string   route_refusal   non-empty: the route was refused at login; this one line is all
//                            the user is told
//   u32      connect_timeout seconds for a target connection's handshake and authentication
//   u64      max_file_size   the largest file it may write (RLIMIT_FSIZE): record_max_bytes,
//                            as recordings are the only files it writes (through passed fds)
//   bool     extender_login  the user is an [[extender]]: serve only its dynamic reverse
//                            forward (common/ipc_extender_messages.h), nothing else
//   bool     proxy_door      came through the proxy front door (common/ipc_proxy_messages.h):
//                            a route_refusal is then told as a session's stderr line and
//                            exit status 1, since a DISCONNECT at once can be lost in the
//                            client's ProxyCommand
struct BastionSetup {
  static constexpr uint8_t kType = 100;
  using Reply = NoReply;
  std::string config;
  uint32_t log_level = 0;
  std::string bastion_user;
  std::string session;
  StringList host_key_algorithms;
  BlobList host_key_blobs;
  std::string remote_addr;
  uint32_t remote_port = 0;
  std::string local_addr;
  uint32_t local_port = 0;
  SecretBytes transport_state;
  bool direct = false;
  std::string target_user;
  std::string target;
  uint32_t port = 0;
  std::string extender;
  std::string route_refusal;
  uint32_t connect_timeout = 10;
  uint64_t max_file_size = 0;
  bool extender_login = false;
  bool proxy_door = false;
  auto fields() {
    return std::tie(config, log_level, bastion_user, session, host_key_algorithms, host_key_blobs,
                    remote_addr, remote_port, local_addr, local_port, transport_state, direct,
                    target_user, target, port, extender, route_refusal, connect_timeout,
                    max_file_size, extender_login, proxy_door);
  }
};

// ---- sshd-bastion → monitor: target connections ------------------------------------------------

//   byte   102
//   bool   allowed
//   string message       refused: one line for the user (names only what the user typed)
//   u32    target_id     the monitor's handle for this connection (later requests name it)
//   string target_name   the target's canonical name (for logs, recordings)
//   string target_user   the account to log in as ("" for a direct-tcpip connection)
//   string credential    "certificate" | "agent" | "key"
//   string key_blob      credential "key": the stored key's public blob (the monitor signs)
//   fd     the connected TCP socket (only when allowed)
struct TargetOpenReply {
  static constexpr uint8_t kType = 102;
  bool allowed = false;
  std::string message;
  uint32_t target_id = 0;
  std::string target_name;
  std::string target_user;
  std::string credential;
  Bytes key_blob;
  std::vector<UniqueFd> fds;
  auto fields() {
    return std::tie(allowed, message, target_id, target_name, target_user, credential, key_blob);
  }
};
// Opens a connection to a target after the policy allows it: `channel` "session" for the
// direct-mode login (target_user set), "direct-tcpip" for a jump channel (target_user empty,
// port from the channel). Every decision is an audit event. At most 64 per connection.
//   byte   101
//   string target        as typed (name, address or host name)
//   u32    port          0: the target's own
//   string target_user
//   string channel
//   string originator    direct-tcpip: the client's "originator address:port", for the audit
struct TargetOpenRequest {
  static constexpr uint8_t kType = 101;
  using Reply = TargetOpenReply;
  std::string target;
  uint32_t port = 0;
  std::string target_user;
  std::string channel;
  std::string originator;
  auto fields() { return std::tie(target, port, target_user, channel, originator); }
};

//   byte   104
//   bool   accepted
//   string message     refused: "host key for web1 (...) ...", shown to the user as it is
struct TargetHostKeyReply {
  static constexpr uint8_t kType = 104;
  bool accepted = false;
  std::string message;
  auto fields() { return std::tie(accepted, message); }
};
// The host key a target presented in its key exchange, for known_hosts. Once per target.
//   byte   103
//   u32    target_id
//   string host_key    K_S as the target sent it
struct TargetHostKeyRequest {
  static constexpr uint8_t kType = 103;
  using Reply = TargetHostKeyReply;
  uint32_t target_id = 0;
  Bytes host_key;
  auto fields() { return std::tie(target_id, host_key); }
};

//   byte   106
//   string certificate   the certificate blob
struct TargetCertReply {
  static constexpr uint8_t kType = 106;
  Bytes certificate;
  auto fields() { return std::tie(certificate); }
};
// credential "certificate": certify a public key sshd-bastion made for this target, principal
// the target user, from the role's template. Only after the target's host key was accepted;
// once per target.
//   byte   105
//   u32    target_id
//   string public_key    a plain public key blob (ed25519 or ecdsa)
struct TargetCertRequest {
  static constexpr uint8_t kType = 105;
  using Reply = TargetCertReply;
  uint32_t target_id = 0;
  Bytes public_key;
  auto fields() { return std::tie(target_id, public_key); }
};

//   byte   108
//   string signature
struct TargetSignReply {
  static constexpr uint8_t kType = 108;
  Bytes signature;
  auto fields() { return std::tie(signature); }
};
// credential "key:/path": the monitor signs the target's userauth data (RFC 4252 §7) with the
// stored key after checking it is a publickey request for this target's user and that key.
//   byte   107
//   u32    target_id
//   string algorithm
//   string data
struct TargetSignRequest {
  static constexpr uint8_t kType = 107;
  using Reply = TargetSignReply;
  uint32_t target_id = 0;
  std::string algorithm;
  Bytes data;
  auto fields() { return std::tie(target_id, algorithm, data); }
};

// ---- sshd-bastion → monitor: channels and events -----------------------------------------------

//   byte   110
//   bool   allowed
//   string message       refused: one line for the user
//   bool   observe_files allowed sftp or scp with `sftp` in the policy's `record`: report the
//                        channel's file operations as "file" events
struct ChannelDecisionReply {
  static constexpr uint8_t kType = 110;
  bool allowed = false;
  std::string message;
  bool observe_files = false;
  auto fields() { return std::tie(allowed, message, observe_files); }
};
// A channel (or session request) on a target the user is logged in to: shell, exec, sftp, scp,
// remote-forward, agent, x11, direct-tcpip (relayed to the target). Decided by the role, and an
// audit event either way.
//   byte   109
//   u32    target_id
//   u32    channel       the client's channel number (for the audit)
//   string kind
//   string detail        the command, the subsystem, host:port
struct ChannelDecisionRequest {
  static constexpr uint8_t kType = 109;
  using Reply = ChannelDecisionReply;
  uint32_t target_id = 0;
  uint32_t channel = 0;
  std::string kind;
  std::string detail;
  auto fields() { return std::tie(target_id, channel, kind, detail); }
};

// Something that happened, for the audit log: "channel-close" (bytes, exit status),
// "target-close", "target-auth" (detail: the method that logged in, or why it failed), "file"
// (a file operation on an observed sftp or scp channel: detail its description as
// file_event.h's describe() writes it, bytes_up the bytes written, bytes_down those read).
//   byte   111
//   string event
//   u32    target_id
//   u32    channel
//   u64    bytes_up, bytes_down   client → target, target → client
//   string exit_status           "" when none, else the number or "signal NAME"
//   string detail
struct BastionEvent {
  static constexpr uint8_t kType = 111;
  using Reply = NoReply;
  std::string event;
  uint32_t target_id = 0;
  uint32_t channel = 0;
  uint64_t bytes_up = 0;
  uint64_t bytes_down = 0;
  std::string exit_status;
  std::string detail;
  auto fields() {
    return std::tie(event, target_id, channel, bytes_up, bytes_down, exit_status, detail);
  }
};

// ---- sshd-bastion → monitor: machine-to-machine certificates ----------------------------------

//   byte   141
//   bool   issued
//   string message       refused: one line for the caller, the reason
//   string certificate   issued: the certificate blob
struct IssueCertReply {
  static constexpr uint8_t kType = 141;
  bool issued = false;
  std::string message;
  Bytes certificate;
  auto fields() { return std::tie(issued, message, certificate); }
};
// `ssh bastion certificate TARGETUSER@TARGET < id.pub` in jump mode: certify the caller's own
// public key for that target user (principal), from the role's template. Only a role that grants
// the target and user and has issue_certificates; only a plain, strong public key. Every answer
// is an audit event ("certificate-issued"); a bounded number per connection.
// Numbered apart from 112.. so that other doors' messages do not collide.
//   byte   140
//   string target        as typed (name, address or host name)
//   u32    port          0: the target's own
//   string target_user
//   string public_key    the key blob as the caller sent it (untrusted: may be anything)
struct IssueCertRequest {
  static constexpr uint8_t kType = 140;
  using Reply = IssueCertReply;
  std::string target;
  uint32_t port = 0;
  std::string target_user;
  Bytes public_key;
  auto fields() { return std::tie(target, port, target_user, public_key); }
};

// ---- sshd-bastion → monitor: recordings -------------------------------------------------------

//   byte   113
//   bool   recorded       the fd is the recording file (write-only, header written)
//   bool   refused        the policy wants a recording that cannot be made: refuse the channel
//   string message        refused: one line for the user
//   bool   record_input
//   u64    max_bytes      record_max_bytes
//   u64    header_bytes   bytes the header took
//   u64    start_unix_us  the header's timestamp, in microseconds (event times count from it)
//   fd     the recording (only when recorded)
struct RecordingOpenReply {
  static constexpr uint8_t kType = 113;
  bool recorded = false;
  bool refused = false;
  std::string message;
  bool record_input = false;
  uint64_t max_bytes = 0;
  uint64_t header_bytes = 0;
  uint64_t start_unix_us = 0;
  std::vector<UniqueFd> fds;
  auto fields() {
    return std::tie(recorded, refused, message, record_input, max_bytes, header_bytes,
                    start_unix_us);
  }
};
// A shell or exec was allowed on a session channel: the monitor decides from the policy's
// `record` whether it is recorded, creates the file (sshd-bastion never names one), writes the
// header and passes the descriptor. The channel-close event of that channel then carries the
// recording's path and SHA-256. Once per allowed channel.
//   byte   112
//   u32    target_id
//   u32    channel        the client's channel number (as in CHANNEL_DECISION)
//   string kind           "shell" | "exec"
//   u32    width, height  from pty-req (80x24 without one)
//   string command        exec: the command
//   string term           pty-req's TERM, "" without a pty
struct RecordingOpenRequest {
  static constexpr uint8_t kType = 112;
  using Reply = RecordingOpenReply;
  uint32_t target_id = 0;
  uint32_t channel = 0;
  std::string kind;
  uint32_t width = 80;
  uint32_t height = 24;
  std::string command;
  std::string term;
  auto fields() { return std::tie(target_id, channel, kind, width, height, command, term); }
};

}  // namespace postern::ipc
