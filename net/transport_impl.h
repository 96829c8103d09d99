// The transport's state and internals, shared by the files that implement net/transport.h:
// transport.cpp (the version exchange and framing: packets in and out, ciphers, compression, the
// transport's own messages), transport_kex.cpp (running key exchanges, rekeying) and
// transport_state.cpp (the handoff). Private to these files.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/protocol_error.h"
#include "net/compression.h"
#include "net/ext_info.h"
#include "net/kex_driver.h"
#include "net/kexinit.h"
#include "net/messages.h"
#include "net/packet_cipher.h"
#include "net/transport.h"

namespace postern::net {

// Growing the packet buffers must not zero-fill what is about to be overwritten by a packet
// (that would touch every byte of the bulk data path once more).
template <typename T>
struct DefaultInitAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  DefaultInitAllocator() = default;
  template <typename U>
  DefaultInitAllocator(const DefaultInitAllocator<U>&) {}
  template <typename U>
  void construct(U* p) {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
using Buffer = std::vector<uint8_t, DefaultInitAllocator<uint8_t>>;

struct Transport::Impl {
  TransportConfig cfg;
  bool server() const { return cfg.role == Role::kServer; }

  // ---- version exchange
  std::string peer_version;
  bool version_done = false;
  size_t pre_banner_lines = 0;

  // ---- input: unprocessed bytes are in[in_start, in_end)
  Buffer in;
  size_t in_start = 0, in_end = 0;
  size_t returned_len = 0;  // the packet handed out by next_message(), dropped on the next call
  bool rx_len_known = false;
  uint32_t rx_packet_len = 0;
  uint32_t rx_seq = 0;
  uint32_t last_rx_seq = 0;  // of the last packet returned to the layers above
  uint64_t rx_bytes = 0, rx_packets = 0, rx_limit = UINT64_MAX;
  std::unique_ptr<PacketCipher> rx;

  // ---- output: pending bytes are out[out_start, out.size())
  Buffer out;
  size_t out_start = 0;
  size_t open_packet = SIZE_MAX;  // offset of the packet begun by begin_packet()
  size_t open_payload_len = 0;
  uint32_t tx_seq = 0;
  uint64_t tx_bytes = 0, tx_packets = 0, tx_limit = UINT64_MAX;
  std::unique_ptr<PacketCipher> tx;
  bool tx_keys_installed = false;  // our first NEWKEYS went out
  std::deque<Bytes> queued;        // layer-above messages held back during key exchange
  size_t queued_bytes = 0;         // their total size, bounded by kMaxQueuedDuringKex
  uint8_t pad_pool[256];
  size_t pad_pool_left = 0;

  // ---- key exchange
  bool kex_active = false;
  bool our_kexinit_sent = false, peer_kexinit_received = false;
  bool newkeys_sent = false, newkeys_received = false;
  bool first_kex_done_flag = false;
  uint32_t kex_count = 0;
  bool strict = false;
  bool peer_ext_info_c = false;
  Bytes my_kexinit;
  Negotiated neg;
  std::unique_ptr<KexDriver> kex;  // the running exchange, from the peer's KEXINIT to NEWKEYS
  Bytes session_id;
  std::unique_ptr<PacketCipher> next_rx;  // taken when the peer's NEWKEYS arrives
  Extensions peer_ext;

  // ---- compression: zlib@openssh.com (OpenSSH PROTOCOL §1.3) runs the RFC 4253 §6.2 "zlib"
  // method, but only from the first packet after the server's USERAUTH_SUCCESS. Each direction
  // compresses when its current keys negotiated zlib@openssh.com and that point has passed;
  // each NEWKEYS starts that direction's stream afresh (§6.2: "initialized after each key
  // exchange"), as OpenSSH does. The objects are kept so a rekey does not allocate.
  bool tx_zlib = false, rx_zlib = false;  // negotiated for the keys in use
  bool compression_started = false;       // USERAUTH_SUCCESS sent (server) or received (client)
  bool tx_compressing = false, rx_compressing = false;
  std::unique_ptr<PacketCompressor> deflater;
  std::unique_ptr<PacketDecompressor> inflater;
  Buffer tx_plain;  // begin_packet()'s payload, before compression

  // ---- rekeying by volume and time: like OpenSSH, only once the user is authenticated, so the
  // pre-auth child never starts an exchange of its own and its handoff stays simple.
  bool authenticated = false;
  // 0: not armed yet; armed by the first tick() or next_timeout_seconds() after an exchange.
  mutable uint64_t rekey_deadline = 0;

  bool sending_blocked() const { return !tx_keys_installed || (our_kexinit_sent && !newkeys_sent); }

  void send_unimplemented_for(uint32_t seq) { write_packet(encode(UnimplementedMsg{seq})); }

  // ---- version exchange and framing (transport.cpp)
  void fill_padding(uint8_t* p, size_t n);
  size_t padding_for(size_t payload_len) const;
  MutableByteView begin(size_t payload_len);
  void commit();
  MutableByteView begin_raw(size_t payload_len);
  void commit_raw();
  void write_packet(ByteView payload);
  void packet_sent(uint8_t type);
  void start_compression();
  void restart_tx_compression();
  void restart_rx_compression();
  void compact_output();
  void send(ByteView payload);
  void send_version();
  [[noreturn]] void version_error(const std::string& to_peer, const std::string& what,
                                  DisconnectReason reason = DisconnectReason::kProtocolError);
  bool process_version_lines();
  void parse_version(std::string_view line);
  void drop_returned();
  MutableByteView receive_space(size_t min_len);
  void commit_received(size_t n);
  std::optional<ByteView> read_packet();
  std::optional<ByteView> next_message();
  bool handle_transport(ByteView m);
  void handle_ext_info(ByteView m);

  // ---- key exchange and rekeying (transport_kex.cpp)
  void after_send();
  void send_kexinit();
  void handle_kexinit(ByteView m);
  void run(KexStep step);
  void handle_kex_message(ByteView m);
  void install_keys(KexKeys keys);
  void send_ext_info();
  void handle_newkeys(ByteView m);
  void maybe_finish_kex();
  void check_rekey_on_receive();
  bool process_kex();

  // ---- handoff (transport_state.cpp)
  SecretBytes export_state() const;
  void import_state(ByteView blob);
};

}  // namespace postern::net
