// The SSH transport layer (RFC 4253), role-neutral and free of I/O (bytes in
// through received(), bytes out through pending_output()), so it runs the same in the pre-auth
// child, in the session process after the handoff, in the bastion's upstream client, and in
// tests over an in-memory pipe. Implemented by transport.cpp (framing), transport_kex.cpp (key
// exchanges, through net/kex_driver.h) and transport_state.cpp (the handoff).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/bytes.h"
#include "common/protocol_error.h"
#include "common/result.h"
#include "net/host_key_signer.h"
#include "net/kex_dh.h"

namespace postern::net {

// The peer sent SSH_MSG_DISCONNECT (RFC 4253 §11.1). The caller logs it in OpenSSH's form
// ("Received disconnect from A port P:REASON: DESCRIPTION").
class DisconnectReceived : public ConnectionClosed {
 public:
  DisconnectReceived(uint32_t reason, std::string description)
      : ConnectionClosed("Received disconnect: " + std::to_string(reason) + ": " + description),
        m_reason(reason),
        m_description(std::move(description)) {}
  uint32_t reason() const { return m_reason; }
  const std::string& description() const { return m_description; }

 private:
  uint32_t m_reason;
  std::string m_description;
};

enum class Role { kServer, kClient };

struct TransportConfig {
  Role role = Role::kServer;
  // Our identification string without CR LF, e.g. "SSH-2.0-postern_0.1".
  std::string version = "SSH-2.0-postern_0.1";
  std::vector<std::string> kex_algorithms;       // empty: supported defaults
  std::vector<std::string> host_key_algorithms;  // server: filtered by the signer's algorithms()
  std::vector<std::string> ciphers;
  std::vector<std::string> macs;
  // "zlib@openssh.com" (delayed until USERAUTH_SUCCESS, OpenSSH PROTOCOL §1.3) and/or "none".
  std::vector<std::string> compression = {"none"};
  uint64_t rekey_bytes = 0;                     // 0: the cipher's default (RFC 4344 §3.2)
  uint64_t rekey_seconds = 0;                   // 0: never by time
  std::string moduli_file = "/etc/ssh/moduli";  // server, group exchange
  // Server, group exchange: when set, chooses the group instead of reading moduli_file (the
  // sandboxed net child cannot open files: it asks the monitor or uses groups read earlier).
  std::function<Result<DhGroup>(uint32_t min, uint32_t wanted, uint32_t max)> choose_dh_group;
  // Server: the value of server-sig-algs in EXT_INFO (PubkeyAcceptedAlgorithms).
  std::vector<std::string> server_sig_algs;
  HostKeySigner* host_key_signer = nullptr;  // server
  // Client: accept or refuse the server's host key blob.
  std::function<bool(ByteView host_key_blob)> verify_host_key;
};

// Everything another process needs to continue this transport after the post-auth handoff.
struct TransportState {
  // Opaque to callers: net/transport_state.h's HandoffState as produced by export_state() and
  // consumed by Transport::import_state.
  SecretBytes bytes;
};

class Transport {
 public:
  explicit Transport(TransportConfig config);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Bytes from the peer. Throws ProtocolError on violations (bad MAC, oversized packet, bad
  // version line, kex failure); throws ConnectionClosed when the peer sent DISCONNECT.
  // After a ProtocolError the caller should still try to write pending_output() (it may hold a
  // text line for the peer, e.g. "Protocol major versions differ.") and then send_disconnect().
  void received(ByteView data);
  // The same without a copy: room for at least `min_len` bytes at the end of the input buffer;
  // read into it, then call received_in_place() with the number of bytes read.
  MutableByteView receive_buffer(size_t min_len);
  void received_in_place(size_t n);
  // The next message for the layers above (service request, userauth, connection protocol), or
  // nullopt when none is complete. Transport messages (KEXINIT..NEWKEYS, IGNORE, DEBUG,
  // UNIMPLEMENTED, EXT_INFO, PING/PONG) are handled inside. The view stays valid until the next
  // call to next_message() or received().
  std::optional<ByteView> next_message();
  // Queues a message. During a key exchange, non-transport messages wait until it completes.
  void send(ByteView payload);
  // Zero-copy send for bulk data: returns room for `payload_len` bytes of payload inside the
  // output buffer; fill it, then call commit_packet(). Only valid outside key exchange
  // (check can_send_direct()).
  MutableByteView begin_packet(size_t payload_len);
  void commit_packet();
  bool can_send_direct() const;
  // Replies to a message number we do not implement (RFC 4253 §11.4), for the layers above.
  void send_unimplemented();
  void send_disconnect(uint32_t reason, std::string_view description);

  ByteView pending_output() const;
  // Bytes waiting to go to the peer: pending_output() plus the messages a running key exchange
  // holds back. What back-pressure counts (a peer that stalls a rekey must not grow it).
  size_t output_backlog() const;
  void consume_output(size_t n);
  bool has_output() const { return !pending_output().empty(); }

  // For a forked child that will never use this transport (session/sftp_child.h): wipes the
  // keys, IVs, MAC keys, any key exchange's private half, the session identifier and the
  // buffered plaintext. The transport must not be used afterwards.
  void forget_secrets();
  // Starts a key re-exchange (RekeyLimit is checked internally; this is for explicit requests).
  void start_rekey();
  // Enables rekeying by volume and time (RekeyLimit). As in OpenSSH, a transport starts no
  // exchange of its own before the user is authenticated; an imported transport has it enabled.
  // A peer's KEXINIT is answered at any time.
  void set_authenticated();
  // For the handoff: handles only key exchange traffic until a running exchange completes, and
  // leaves every later byte unprocessed for export_state(). Returns true when no exchange runs
  // (call it again after more input when false). Throws ProtocolError if a message for the
  // layers above arrives first.
  bool process_kex();
  // Call periodically (e.g. once per poll wakeup) so time-based rekeying happens.
  void tick(uint64_t now_seconds);
  // Seconds until the next time-based deadline, or -1 when none (for poll timeouts).
  int next_timeout_seconds(uint64_t now_seconds) const;

  bool first_kex_done() const;
  // A key exchange is running (export_state() needs it finished).
  bool kex_in_progress() const;
  ByteView session_id() const;
  const std::string& peer_version() const;
  // Negotiated names, for logging ("kex: client->server cipher: ...").
  std::string negotiated_summary() const;
  // Client: the extensions of the server's EXT_INFO (RFC 8308), e.g. {"server-sig-algs", ...}.
  const std::vector<std::pair<std::string, std::string>>& peer_extensions() const;
  // Server: whether the client offered ext-info-c (so userauth may use server-sig-algs).
  bool peer_wants_ext_info() const;

  // Only between key exchanges (!kex_in_progress()); carries unprocessed input and unsent output
  // too, so the importer continues byte for byte. Throws std::logic_error during a kex.
  // Carries whether delayed compression has started; the importer begins fresh zlib streams, so
  // a transport that already compressed or decompressed a packet throws ProtocolError
  // (compression error) instead: hand over right after USERAUTH_SUCCESS, as sshd-net does.
  TransportState export_state() const;
  // The importer's config supplies what is not state (host key signer for later rekeys, rekey
  // limits, algorithm lists for later KEXINITs). Call next_message() before waiting for input:
  // bytes the exporter had received may already hold messages; write pending_output() too.
  static std::unique_ptr<Transport> import_state(TransportConfig config,
                                                 const TransportState& state);

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// Blocking helpers around a socket, for simple loops (the pre-auth child): write everything
// pending; read what is available (returns false on EOF; throws ConnectionClosed on errors).
void flush_blocking(Transport& t, int fd);
bool read_into(Transport& t, int fd);

}  // namespace postern::net
