// The SSH transport layer (RFC 4253), role-neutral. See transport.h for the contract.
//
// Input: received bytes are appended to one buffer; next_message() frames, decrypts (in place)
// and authenticates one packet at a time, so a NEWKEYS takes effect exactly at the next packet.
// Output: packets are framed and sealed in place at the end of one output buffer. Both buffers
// keep their capacity, so the data path does not allocate per packet.
#include "net/transport.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <stdexcept>

#include "common/join.h"
#include "common/log.h"
#include "common/ossl.h"
#include "common/protocol_error.h"
#include "common/ssh_key.h"
#include "common/wire.h"
#include "net/compression.h"
#include "net/ext_info.h"
#include "net/kex_driver.h"
#include "net/kexinit.h"
#include "net/messages.h"
#include "net/packet_cipher.h"
#include "net/transport_state.h"

namespace postern::net {

namespace {

// RFC 4253 §6.1 asks for at least 35000; OpenSSH accepts up to 256 KiB (PACKET_MAX_SIZE).
constexpr uint32_t kMaxPacketLength = 256 * 1024;
// RFC 4253 §4.2: the identification line is at most 255 characters including CR LF.
constexpr size_t kMaxVersionLine = 255;
// Lines a server may send before its identification (RFC 4253 §4.2); bounded so a peer cannot
// keep us reading forever.
constexpr size_t kMaxPreBannerLines = 1024;
// OpenSSH rekeys before 2^31 packets so sequence numbers never come near wrapping in one key.
constexpr uint64_t kMaxPacketsPerKey = uint64_t(1) << 31;
constexpr size_t kMinPadding = 4;  // RFC 4253 §6
// What a key exchange may hold back of the layers' messages. Legitimate senders stay far below
// it (channels stop reading at session/channel.h's kMaxQueuedOutput, counting output_backlog());
// past it a peer that never finishes an exchange is making us buffer for it: disconnect.
constexpr size_t kMaxQueuedDuringKex = 16 * 1024 * 1024;
// The largest PING we answer: OpenSSH's keystroke-timing chaff is a few dozen bytes, and a
// PONG must always fit in one packet.
constexpr size_t kMaxPingData = 4096;
// RFC 4252 §5.1. Only its position matters here: delayed compression starts right after it.
constexpr uint8_t kMsgUserauthSuccess = 52;

// Types that may be sent while our own key exchange runs (RFC 4253 §7.1): transport generic
// messages other than SERVICE_REQUEST/ACCEPT, and the key exchange messages.
bool is_kex_allowed_type(uint8_t t) {
  return (t >= kMsgDisconnect && t <= kMsgDebug) || (t >= kMsgKexInit && t <= kMsgKexLast);
}

// RFC 4344 §3.2, as OpenSSH applies it: ciphers with 128-bit blocks rekey after 2^32 blocks
// (2^(L/4) for L = 128), smaller ones after 1 GiB; RekeyLimit only lowers that.
uint64_t rekey_limit_bytes(size_t block_size, uint64_t configured) {
  uint64_t blocks =
      block_size >= 16 ? uint64_t(1) << (block_size * 2) : (uint64_t(1) << 30) / block_size;
  if (configured)
    blocks = std::min<uint64_t>(blocks, std::max<uint64_t>(1, configured / block_size));
  return blocks * block_size;
}

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

}  // namespace

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
  uint64_t now = 0;
  // 0: not armed yet; armed by the first tick() or next_timeout_seconds() after an exchange.
  mutable uint64_t rekey_deadline = 0;

  // ===================================================================== output
  void fill_padding(uint8_t* p, size_t n) {
    while (n) {
      if (pad_pool_left == 0) {
        if (RAND_bytes(pad_pool, sizeof pad_pool) != 1)
          throw std::runtime_error("RAND_bytes failed");
        pad_pool_left = sizeof pad_pool;
      }
      size_t k = std::min(n, pad_pool_left);
      std::memcpy(p, pad_pool + sizeof pad_pool - pad_pool_left, k);
      pad_pool_left -= k;
      p += k;
      n -= k;
    }
  }

  size_t padding_for(size_t payload_len) const {
    // RFC 4253 §6: packet_length || padding_length || payload || padding is a multiple of the
    // block size; for AEAD and EtM modes the length field is outside that (PROTOCOL §1.5).
    size_t block = tx->block_size();
    size_t unpadded = 4 + 1 + payload_len - tx->aad_len();
    size_t pad = block - unpadded % block;
    if (pad < kMinPadding) pad += block;
    return pad;
  }

  // begin_packet(): the payload goes straight into the output buffer, or while compressing
  // into tx_plain, whose contents commit() compresses into the output buffer.
  MutableByteView begin(size_t payload_len) {
    if (!tx_compressing) return begin_raw(payload_len);
    if (open_packet != SIZE_MAX) throw std::logic_error("begin_packet: a packet is already open");
    if (payload_len == 0 || payload_len > kMaxPacketLength - 64)
      throw std::logic_error("begin_packet: bad payload length");
    if (tx_plain.size() < payload_len) tx_plain.resize(payload_len);
    compact_output();
    open_packet = out.size();
    open_payload_len = payload_len;
    return MutableByteView(tx_plain.data(), payload_len);
  }

  void commit() {
    if (open_packet == SIZE_MAX) throw std::logic_error("commit_packet without begin_packet");
    if (!tx_compressing) {
      uint8_t type = out[open_packet + 5];
      commit_raw();
      packet_sent(type);
      return;
    }
    open_packet = SIZE_MAX;
    write_packet(ByteView(tx_plain.data(), open_payload_len));
  }

  // Frames one (already compressed, if compressing) payload in place at the end of the output.
  MutableByteView begin_raw(size_t payload_len) {
    if (open_packet != SIZE_MAX) throw std::logic_error("begin_packet: a packet is already open");
    if (payload_len == 0 || payload_len > kMaxPacketLength - 64)
      throw std::logic_error("begin_packet: bad payload length");
    size_t pad = padding_for(payload_len);
    size_t total = 4 + 1 + payload_len + pad + tx->tag_len();
    compact_output();
    open_packet = out.size();
    open_payload_len = payload_len;
    out.resize(out.size() + total);
    return MutableByteView(out.data() + open_packet + 5, payload_len);
  }

  void commit_raw() {
    size_t pad = padding_for(open_payload_len);
    uint8_t* p = out.data() + open_packet;
    uint32_t len = uint32_t(1 + open_payload_len + pad);
    p[0] = uint8_t(len >> 24);
    p[1] = uint8_t(len >> 16);
    p[2] = uint8_t(len >> 8);
    p[3] = uint8_t(len);
    p[4] = uint8_t(pad);
    fill_padding(p + 5 + open_payload_len, pad);
    tx->seal(tx_seq, MutableByteView(p, 4 + len), MutableByteView(p + 4 + len, tx->tag_len()));
    ++tx_seq;
    tx_bytes += 4 + len;
    ++tx_packets;
    open_packet = SIZE_MAX;
  }

  void write_packet(ByteView payload) {
    // RFC 4253 §6.2: only the payload is compressed; lengths, padding and MAC follow from the
    // compressed form, and encryption comes after compression.
    ByteView wire = tx_compressing ? deflater->compress(payload) : payload;
    MutableByteView dst = begin_raw(wire.size());
    std::memcpy(dst.data(), wire.data(), wire.size());
    commit_raw();
    packet_sent(payload[0]);
  }

  // The server's delayed compression starts with the packet after its USERAUTH_SUCCESS
  // (PROTOCOL §1.3). Watching the packets actually written (not send()) keeps that exact even
  // when the message waited for a key exchange to end.
  void packet_sent(uint8_t type) {
    if (server() && type == kMsgUserauthSuccess && !compression_started && tx_keys_installed)
      start_compression();
  }

  void start_compression() {
    compression_started = true;
    restart_tx_compression();
    // A USERAUTH_SUCCESS that waited for a key exchange went out after our NEWKEYS; the peer
    // sent its NEWKEYS on our reply, before it could see the success, so that one is not
    // compressed: its arrival (handle_newkeys) starts the receiving stream instead.
    if (!(kex_active && !newkeys_received)) restart_rx_compression();
  }

  // A fresh stream for the direction's current keys, or none.
  void restart_tx_compression() {
    tx_compressing = tx_zlib && compression_started;
    if (!tx_compressing) return;
    log_debug("Enabling compression at level 6.");  // OpenSSH's line, at the same moments
    if (deflater)
      deflater->reset();
    else
      deflater = std::make_unique<PacketCompressor>();
  }

  void restart_rx_compression() {
    rx_compressing = rx_zlib && compression_started;
    if (!rx_compressing) return;
    if (inflater)
      inflater->reset();
    else
      inflater = std::make_unique<PacketDecompressor>(kMaxPacketLength);
  }

  void compact_output() {
    if (out_start == 0) return;
    if (out_start == out.size()) {
      out.clear();
      out_start = 0;
    } else if (out_start >= 64 * 1024 && out_start * 2 >= out.size()) {
      out.erase(out.begin(), out.begin() + ptrdiff_t(out_start));
      out_start = 0;
    }
  }

  bool sending_blocked() const { return !tx_keys_installed || (our_kexinit_sent && !newkeys_sent); }

  void send(ByteView payload) {
    if (payload.empty()) throw std::logic_error("send: empty message");
    if (!is_kex_allowed_type(payload[0]) && sending_blocked()) {
      if (queued_bytes + payload.size() > kMaxQueuedDuringKex)
        throw ProtocolError("output queue exceeded during key exchange (" +
                            std::to_string(queued_bytes) + " bytes held back)");
      queued.emplace_back(payload.begin(), payload.end());
      queued_bytes += payload.size();
      return;
    }
    write_packet(payload);
    after_send();
  }

  void after_send() {
    if (authenticated && first_kex_done_flag && !kex_active &&
        (tx_bytes >= tx_limit || tx_packets >= kMaxPacketsPerKey)) {
      log_debug("rekeying: %llu bytes sent with the current key", (unsigned long long)tx_bytes);
      send_kexinit();
    }
  }

  // ===================================================================== version exchange
  void send_version() {
    out.insert(out.end(), cfg.version.begin(), cfg.version.end());
    out.push_back('\r');
    out.push_back('\n');
  }

  [[noreturn]] void version_error(const std::string& to_peer, const std::string& what,
                                  DisconnectReason reason = DisconnectReason::kProtocolError) {
    // No binary packets yet: the peer gets a plain line, as OpenSSH's sshd sends one.
    if (!to_peer.empty()) {
      out.insert(out.end(), to_peer.begin(), to_peer.end());
      out.push_back('\r');
      out.push_back('\n');
    }
    throw ProtocolError(what, reason);
  }

  // Consumes complete lines until the peer's identification; true once it is known.
  bool process_version_lines() {
    while (!version_done) {
      uint8_t* begin = in.data() + in_start;
      uint8_t* end = in.data() + in_end;
      uint8_t* lf = std::find(begin, end, uint8_t('\n'));
      if (lf == end) {
        if (size_t(end - begin) >= kMaxVersionLine)
          version_error("", "banner line too long", DisconnectReason::kProtocolError);
        return false;
      }
      size_t line_len = size_t(lf - begin) + 1;
      if (line_len > kMaxVersionLine) version_error("", "banner line too long");
      std::string_view line(reinterpret_cast<const char*>(begin), line_len - 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      in_start += line_len;
      if (line.find('\0') != std::string_view::npos)
        version_error("", "banner line contains invalid characters");
      if (line.substr(0, 4) != "SSH-") {
        // RFC 4253 §4.2: only a server may send other lines first.
        if (server()) {
          log_verbose("client sent invalid protocol identifier \"%.256s\"",
                      std::string(line).c_str());
          version_error("Invalid SSH identification string.",
                        "Bad protocol version identification");
        }
        if (++pre_banner_lines > kMaxPreBannerLines)
          version_error("", "banner exchange: too many lines before the version");
        continue;
      }
      parse_version(line);
    }
    return true;
  }

  void parse_version(std::string_view line) {
    // "SSH-protoversion-softwareversion SP comments" (RFC 4253 §4.2).
    std::string_view rest = line.substr(4);
    size_t dash = rest.find('-');
    if (dash == std::string_view::npos || dash == 0 || dash + 1 >= rest.size())
      version_error("Invalid SSH identification string.",
                    "Bad remote protocol version identification: '" + std::string(line) + "'");
    std::string_view proto = rest.substr(0, dash);
    // RFC 4253 §5.1: "1.99" is a server that also speaks 2.0.
    if (proto != "2.0" && proto != "1.99") {
      std::string major(proto.substr(0, proto.find('.')));
      version_error("Protocol major versions differ.",
                    "Protocol major versions differ: 2 vs. " + major,
                    DisconnectReason::kProtocolVersionNotSupported);
    }
    peer_version = std::string(line);
    version_done = true;
    log_debug("Remote protocol version %s, remote software version %s", std::string(proto).c_str(),
              std::string(rest.substr(dash + 1)).c_str());
    send_kexinit();
  }

  // ===================================================================== packets in
  void drop_returned() {
    in_start += returned_len;
    returned_len = 0;
    if (in_start == in_end) in_start = in_end = 0;
  }

  MutableByteView receive_space(size_t min_len) {
    drop_returned();
    if (in.size() - in_end < min_len) {
      // Move the unprocessed tail to the front before growing; a partially decrypted packet
      // head moves with it, which is fine since decryption state is in rx_len_known.
      if (in_start > 0) {
        std::memmove(in.data(), in.data() + in_start, in_end - in_start);
        in_end -= in_start;
        in_start = 0;
      }
      if (in.size() - in_end < min_len) in.resize(in_end + std::max(min_len, size_t(64 * 1024)));
    }
    return MutableByteView(in.data() + in_end, in.size() - in_end);
  }

  void commit_received(size_t n) {
    in_end += n;
    if (!version_done) process_version_lines();
  }

  // Frames one packet; returns its payload or nullopt if incomplete.
  std::optional<ByteView> read_packet() {
    size_t avail = in_end - in_start;
    uint8_t* p = in.data() + in_start;
    if (!rx_len_known) {
      size_t head = rx->length_head_len();
      if (avail < head) return std::nullopt;
      uint32_t len = rx->decrypt_length(rx_seq, MutableByteView(p, head));
      // RFC 4253 §6: at least one padding-length byte and 4 bytes of padding; alignment per
      // the mode. Checked before waiting for the body, so a bogus length cannot stall us.
      if (len < 1 + kMinPadding || len > kMaxPacketLength)
        throw ProtocolError("Bad packet length " + std::to_string(len));
      if ((4 + size_t(len) - rx->aad_len()) % rx->block_size() != 0 || 4 + size_t(len) < head)
        throw ProtocolError("padding error: need " + std::to_string(len) + " block " +
                            std::to_string(rx->block_size()));
      rx_len_known = true;
      rx_packet_len = len;
    }
    size_t total = 4 + size_t(rx_packet_len) + rx->tag_len();
    if (avail < total) return std::nullopt;
    if (!rx->open(rx_seq, MutableByteView(p, 4 + rx_packet_len),
                  ByteView(p + 4 + rx_packet_len, rx->tag_len())))
      throw ProtocolError("Corrupted MAC on input.", DisconnectReason::kMacError);
    uint8_t pad = p[4];
    if (pad < kMinPadding || size_t(pad) + 1 >= rx_packet_len)
      throw ProtocolError("invalid padding length " + std::to_string(pad));
    ByteView payload(p + 5, rx_packet_len - 1 - pad);
    // Bounded by the packet limit, so a small packet cannot inflate without end (zip bomb).
    if (rx_compressing) payload = inflater->decompress(payload);
    rx_len_known = false;
    returned_len = total;
    last_rx_seq = rx_seq;
    if (++rx_seq == 0 && strict && !first_kex_done_flag)
      throw ProtocolError("strict KEX violation: incoming sequence number wrapped");
    rx_bytes += 4 + rx_packet_len;
    ++rx_packets;
    // The client's delayed compression starts with the packet after USERAUTH_SUCCESS, both ways.
    if (!server() && payload[0] == kMsgUserauthSuccess && !compression_started &&
        first_kex_done_flag)
      start_compression();
    return payload;
  }

  std::optional<ByteView> next_message() {
    drop_returned();
    while (version_done) {
      std::optional<ByteView> payload = read_packet();
      if (!payload) return std::nullopt;
      if (handle_transport(*payload)) {
        drop_returned();
        continue;
      }
      return payload;
    }
    return std::nullopt;
  }

  // Returns true when the message was consumed here.
  bool handle_transport(ByteView m) {
    uint8_t t = m[0];
    // PROTOCOL §1.10: during the initial key exchange in strict mode, anything but the key
    // exchange itself ends the connection, even IGNORE and DEBUG.
    if (strict && !first_kex_done_flag && t != kMsgDisconnect &&
        !(t >= kMsgKexInit && t <= kMsgKexLast))
      throw ProtocolError("strict KEX violation: unexpected packet type " + std::to_string(t) +
                          " (seqnr " + std::to_string(last_rx_seq) + ")");
    switch (t) {
      case kMsgDisconnect: {
        auto d = decode<DisconnectMsg>(m);
        throw DisconnectReceived(d.reason, d.description);
      }
      case kMsgIgnore:
        return true;
      case kMsgUnimplemented: {
        auto u = decode<UnimplementedMsg>(m);
        log_debug("Received SSH2_MSG_UNIMPLEMENTED for %u", u.seqno);
        return true;
      }
      case kMsgDebug: {
        auto d = decode<DebugMsg>(m);
        log_debug("Remote: %.900s", d.message.c_str());
        return true;
      }
      case kMsgExtInfo:
        handle_ext_info(m);
        return true;
      case kMsgKexInit:
        handle_kexinit(m);
        return true;
      case kMsgNewKeys:
        handle_newkeys(m);
        return true;
      case kMsgPing: {
        auto ping = decode<PingMsg>(m);
        // OpenSSH PROTOCOL §1.9 (ping@openssh.com): like OpenSSH, answer only once the user is
        // authenticated and never during a key exchange, when the PONG could only be held back
        // (a peer streaming PINGs there would make us buffer without end, CVE-2025-26466's
        // class); an oversized PING is dropped rather than answered.
        if (!authenticated) {
          log_debug2("Won't reply to PING in preauth");
        } else if (kex_active) {
          log_debug2("Won't reply to PING during KEX");
        } else if (ping.data.size() > kMaxPingData) {
          log_debug2("Won't reply to PING of %zu bytes", ping.data.size());
        } else {
          send(encode(PongMsg{ping.data}));
        }
        return true;
      }
      case kMsgPong:
        return true;
      default:
        break;
    }
    if (t >= kMsgKexFirst && t <= kMsgKexLast) {
      handle_kex_message(m);
      return true;
    }
    // RFC 4253 §7.1: between the peer's KEXINIT and its NEWKEYS only transport generic and key
    // exchange messages may arrive.
    if (peer_kexinit_received && !newkeys_received)
      throw ProtocolError("unexpected message type " + std::to_string(t) + " during key exchange");
    if (!first_kex_done_flag)
      throw ProtocolError("unexpected message type " + std::to_string(t) + " before key exchange");
    if (t > kMsgNewKeys && t < kMsgKexFirst) {
      // 22..29: transport range with no meaning (RFC 4250 §4.1.2).
      send_unimplemented_for(last_rx_seq);
      return true;
    }
    return false;
  }

  void send_unimplemented_for(uint32_t seq) { write_packet(encode(UnimplementedMsg{seq})); }

  void handle_ext_info(ByteView m) {
    Extensions ext = parse_ext_info(m);
    if (server()) return;  // we do not offer ext-info-s; nothing the client says matters yet
    for (auto& e : ext) log_debug("kex_input_ext_info: %s", e.first.c_str());
    peer_ext = std::move(ext);
  }

  // ===================================================================== key exchange
  void send_kexinit() {
    if (our_kexinit_sent) return;
    my_kexinit = make_kexinit_offer(cfg, kex_count == 0).encode();
    write_packet(my_kexinit);
    our_kexinit_sent = true;
    kex_active = true;
    log_debug("SSH2_MSG_KEXINIT sent");
  }

  void handle_kexinit(ByteView m) {
    if (peer_kexinit_received) throw ProtocolError("unexpected KEXINIT during key exchange");
    KexInit peer = KexInit::parse(m);
    log_debug("SSH2_MSG_KEXINIT received");
    if (kex_count == 0) {
      strict = contains(peer.kex, server() ? kStrictKexClient : kStrictKexServer);
      if (strict && last_rx_seq != 0)
        throw ProtocolError("strict KEX violation: KEXINIT was not the first packet");
      if (server()) peer_ext_info_c = contains(peer.kex, kExtInfoClient);
    }
    peer_kexinit_received = true;
    send_kexinit();
    kex = std::make_unique<KexDriver>(
        cfg, KexTranscript{peer_version, my_kexinit, Bytes(m.begin(), m.end()), session_id}, peer);
    neg = kex->negotiated();
    run(kex->start());
  }

  // Sends what the key exchange asks for; once it has the keys, RFC 4253 §7.3: our NEWKEYS, then
  // everything we send uses them.
  void run(KexStep step) {
    if (!step.send.empty()) send(step.send);
    if (step.keys) install_keys(std::move(*step.keys));
  }

  void handle_kex_message(ByteView m) {
    if (!peer_kexinit_received) {
      // A stray key exchange message outside a key exchange: RFC 4253 §11.4 in the lenient
      // case, fatal under strict kex.
      if (strict && !first_kex_done_flag)
        throw ProtocolError("strict KEX violation: unexpected packet type " + std::to_string(m[0]));
      send_unimplemented_for(last_rx_seq);
      return;
    }
    run(kex->step(m));
  }

  void install_keys(KexKeys keys) {
    session_id = std::move(keys.session_id);
    next_rx = std::move(keys.rx);
    write_packet(encode(NewKeysMsg{}));
    log_debug("SSH2_MSG_NEWKEYS sent");
    tx = std::move(keys.tx);
    const CipherInfo* ci = find_cipher(server() ? neg.cipher_s2c : neg.cipher_c2s);
    tx_limit = rekey_limit_bytes(ci->block_size, cfg.rekey_bytes);
    tx_bytes = tx_packets = 0;
    tx_zlib = (server() ? neg.comp_s2c : neg.comp_c2s) == kCompressionZlibOpenssh;
    restart_tx_compression();
    // PROTOCOL §1.10: strict kex restarts the sequence numbers with every NEWKEYS.
    if (strict) tx_seq = 0;
    newkeys_sent = true;
    bool first = !tx_keys_installed;
    tx_keys_installed = true;
    // RFC 8308 §2.4: the server's EXT_INFO immediately follows its first NEWKEYS.
    if (first && server() && peer_ext_info_c) send_ext_info();
    while (!queued.empty()) {
      write_packet(queued.front());
      queued.pop_front();
    }
    queued_bytes = 0;
    maybe_finish_kex();
  }

  void send_ext_info() {
    static const std::vector<std::string> kDefaultSigAlgs = {
        "ssh-ed25519",         "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521", "rsa-sha2-512",        "rsa-sha2-256"};
    const auto& sig_algs = cfg.server_sig_algs.empty() ? kDefaultSigAlgs : cfg.server_sig_algs;
    write_packet(encode_ext_info({{"server-sig-algs", join(sig_algs, ",")},
                                  {"publickey-hostbound@openssh.com", "0"},
                                  {"ping@openssh.com", "0"}}));
  }

  void handle_newkeys(ByteView m) {
    decode<NewKeysMsg>(m);
    if (!newkeys_sent || newkeys_received) throw ProtocolError("unexpected NEWKEYS");
    log_debug("SSH2_MSG_NEWKEYS received");
    rx = std::move(next_rx);
    const CipherInfo* ci = find_cipher(server() ? neg.cipher_c2s : neg.cipher_s2c);
    rx_limit = rekey_limit_bytes(ci->block_size, cfg.rekey_bytes);
    rx_bytes = rx_packets = 0;
    rx_zlib = (server() ? neg.comp_c2s : neg.comp_s2c) == kCompressionZlibOpenssh;
    restart_rx_compression();
    if (strict) rx_seq = 0;
    newkeys_received = true;
    maybe_finish_kex();
  }

  void maybe_finish_kex() {
    if (!newkeys_sent || !newkeys_received) return;
    kex_active = false;
    our_kexinit_sent = peer_kexinit_received = newkeys_sent = newkeys_received = false;
    kex.reset();
    first_kex_done_flag = true;
    ++kex_count;
    rekey_deadline = 0;
  }

  void check_rekey_on_receive() {
    if (authenticated && first_kex_done_flag && !kex_active &&
        (rx_bytes >= rx_limit || rx_packets >= kMaxPacketsPerKey)) {
      log_debug("rekeying: %llu bytes received with the current key", (unsigned long long)rx_bytes);
      send_kexinit();
    }
  }

  // ===================================================================== state handoff
  SecretBytes export_state() const {
    if (kex_active || open_packet != SIZE_MAX || !first_kex_done_flag)
      throw std::logic_error("export_state: key exchange in progress");
    // A zlib stream's state (window, pending bits) cannot be carried to another process; the
    // handoff must happen before the first compressed packet either way, which it does when the
    // pre-auth child stops right after USERAUTH_SUCCESS. Refuse rather than corrupt the stream.
    if ((tx_compressing && deflater->packets() > 0) || (rx_compressing && inflater->packets() > 0))
      throw ProtocolError("transport handoff after compressed packets: zlib state cannot be moved",
                          DisconnectReason::kCompressionError);
    auto copy_of = [](const SecretBytes& s) { return Bytes(s.view().begin(), s.view().end()); };
    // Everything after the packet already handed out is still to be processed.
    size_t start = in_start + returned_len;
    HandoffState st{
        .role = uint8_t(server() ? 0 : 1),
        .version = cfg.version,
        .peer_version = peer_version,
        .session_id = session_id,
        .tx_seq = tx_seq,
        .rx_seq = rx_seq,
        .last_rx_seq = last_rx_seq,
        .tx_bytes = tx_bytes,
        .tx_packets = tx_packets,
        .tx_limit = tx_limit,
        .rx_bytes = rx_bytes,
        .rx_packets = rx_packets,
        .rx_limit = rx_limit,
        .strict = strict,
        .peer_ext_info_c = peer_ext_info_c,
        .kex_count = kex_count,
        .rekey_deadline = rekey_deadline,
        .compression_started = compression_started,
        .kex = neg.kex,
        .host_key = neg.host_key,
        .cipher_c2s = neg.cipher_c2s,
        .cipher_s2c = neg.cipher_s2c,
        .mac_c2s = neg.mac_c2s,
        .mac_s2c = neg.mac_s2c,
        .comp_c2s = neg.comp_c2s,
        .comp_s2c = neg.comp_s2c,
        .tx_cipher = copy_of(tx->export_state()),
        .rx_cipher = copy_of(rx->export_state()),
        .peer_ext_info = encode_ext_info(peer_ext),
        .rx_len_known = rx_len_known,
        .rx_packet_len = rx_packet_len,
        .pending_output = Bytes(out.begin() + ptrdiff_t(out_start), out.end()),
        .pending_input = Rest{Bytes(in.begin() + ptrdiff_t(start), in.begin() + ptrdiff_t(in_end))},
    };
    return encode_handoff(st);
  }

  void import_state(ByteView blob) {
    HandoffState st = decode_handoff(blob);
    if (st.role != (server() ? 0 : 1)) throw ProtocolError("transport state: role mismatch");
    for (const std::string* c : {&st.comp_c2s, &st.comp_s2c})
      if (!contains(supported_compression(), *c))
        throw ProtocolError("transport state: unknown compression " + *c);
    cfg.version = std::move(st.version);
    peer_version = std::move(st.peer_version);
    session_id = std::move(st.session_id);
    tx_seq = st.tx_seq;
    rx_seq = st.rx_seq;
    last_rx_seq = st.last_rx_seq;
    tx_bytes = st.tx_bytes;
    tx_packets = st.tx_packets;
    tx_limit = st.tx_limit;
    rx_bytes = st.rx_bytes;
    rx_packets = st.rx_packets;
    rx_limit = st.rx_limit;
    strict = st.strict;
    peer_ext_info_c = st.peer_ext_info_c;
    kex_count = st.kex_count;
    rekey_deadline = st.rekey_deadline;
    neg = Negotiated{st.kex,     st.host_key, st.cipher_c2s, st.cipher_s2c,
                     st.mac_c2s, st.mac_s2c,  st.comp_c2s,   st.comp_s2c};
    tx = import_packet_cipher(st.tx_cipher);
    rx = import_packet_cipher(st.rx_cipher);
    peer_ext = parse_ext_info(st.peer_ext_info);
    rx_len_known = st.rx_len_known;
    rx_packet_len = st.rx_packet_len;
    // Compression that has started continues with fresh streams: nothing was compressed yet.
    tx_zlib = (server() ? neg.comp_s2c : neg.comp_c2s) == kCompressionZlibOpenssh;
    rx_zlib = (server() ? neg.comp_c2s : neg.comp_s2c) == kCompressionZlibOpenssh;
    compression_started = st.compression_started;
    restart_tx_compression();
    restart_rx_compression();
    const Bytes& pending_in = st.pending_input.bytes;
    in.assign(pending_in.begin(), pending_in.end());
    in.resize(std::max<size_t>(in.size(), 64 * 1024));
    in_start = 0;
    in_end = pending_in.size();
    returned_len = 0;
    out.assign(st.pending_output.begin(), st.pending_output.end());
    out_start = 0;
    version_done = true;
    tx_keys_installed = true;
    first_kex_done_flag = true;
    authenticated = true;  // the handoff happens after authentication
  }
  bool process_kex() {
    drop_returned();
    while (kex_active) {
      std::optional<ByteView> payload = read_packet();
      if (!payload) break;
      if (!handle_transport(*payload))
        throw ProtocolError("unexpected message type " + std::to_string((*payload)[0]) +
                            " while finishing a key exchange");
      drop_returned();
    }
    return !kex_active;
  }
};

// ======================================================================= Transport

Transport::Transport(TransportConfig config) : m_impl(std::make_unique<Impl>()) {
  m_impl->cfg = std::move(config);
  m_impl->rx = make_null_cipher();
  m_impl->tx = make_null_cipher();
  m_impl->in.resize(64 * 1024);
  m_impl->out.reserve(64 * 1024);
  m_impl->send_version();
}

Transport::~Transport() = default;

void Transport::forget_secrets() {
  Impl& i = *m_impl;
  // The ciphers keep their keys in SecretBytes and OpenSSL contexts, both wiped on destruction.
  i.tx.reset();
  i.rx.reset();
  i.next_rx.reset();
  i.kex.reset();
  OPENSSL_cleanse(i.session_id.data(), i.session_id.size());
  // Received packets are decrypted in place; the payload being built may be plaintext too.
  OPENSSL_cleanse(i.in.data(), i.in.size());
  OPENSSL_cleanse(i.out.data(), i.out.size());
  OPENSSL_cleanse(i.tx_plain.data(), i.tx_plain.size());
  for (auto& m : i.queued) OPENSSL_cleanse(m.data(), m.size());
}

void Transport::received(ByteView data) {
  if (data.empty()) return;
  MutableByteView dst = m_impl->receive_space(data.size());
  std::memcpy(dst.data(), data.data(), data.size());
  m_impl->commit_received(data.size());
}

MutableByteView Transport::receive_buffer(size_t min_len) {
  return m_impl->receive_space(min_len);
}

void Transport::received_in_place(size_t n) {
  if (n > m_impl->in.size() - m_impl->in_end) throw std::logic_error("received_in_place: overrun");
  m_impl->commit_received(n);
}

std::optional<ByteView> Transport::next_message() {
  auto m = m_impl->next_message();
  m_impl->check_rekey_on_receive();
  return m;
}

void Transport::send(ByteView payload) {
  m_impl->send(payload);
}

MutableByteView Transport::begin_packet(size_t payload_len) {
  if (!can_send_direct()) throw std::logic_error("begin_packet during key exchange");
  return m_impl->begin(payload_len);
}

void Transport::commit_packet() {
  m_impl->commit();
  m_impl->after_send();
}

bool Transport::can_send_direct() const {
  return !m_impl->sending_blocked();
}

void Transport::send_unimplemented() {
  m_impl->send_unimplemented_for(m_impl->last_rx_seq);
}

void Transport::send_disconnect(uint32_t reason, std::string_view description) {
  // Before the version exchange completed the peer may not speak SSH-2 at all; the text line
  // already queued (e.g. "Protocol major versions differ.") is all it gets, as from OpenSSH.
  if (!m_impl->version_done) return;
  if (m_impl->open_packet != SIZE_MAX) {
    // An abandoned begin_packet(): nothing of it went into a compressed stream yet.
    m_impl->out.resize(m_impl->open_packet);
    m_impl->open_packet = SIZE_MAX;
  }
  m_impl->write_packet(encode(DisconnectMsg{reason, std::string(description), ""}));
}

size_t Transport::output_backlog() const {
  return pending_output().size() + m_impl->queued_bytes;
}

ByteView Transport::pending_output() const {
  const Impl& i = *m_impl;
  size_t end = i.open_packet == SIZE_MAX ? i.out.size() : i.open_packet;
  return ByteView(i.out.data() + i.out_start, end - i.out_start);
}

void Transport::consume_output(size_t n) {
  if (n > pending_output().size()) throw std::logic_error("consume_output: too much");
  m_impl->out_start += n;
  if (m_impl->open_packet == SIZE_MAX) m_impl->compact_output();
}

void Transport::start_rekey() {
  if (m_impl->first_kex_done_flag && !m_impl->kex_active) m_impl->send_kexinit();
}

void Transport::tick(uint64_t now_seconds) {
  Impl& i = *m_impl;
  i.now = now_seconds;
  if (!i.cfg.rekey_seconds || !i.authenticated || !i.first_kex_done_flag || i.kex_active) return;
  if (i.rekey_deadline == 0) {
    i.rekey_deadline = now_seconds + i.cfg.rekey_seconds;
  } else if (now_seconds >= i.rekey_deadline) {
    log_debug("rekeying: time limit reached");
    i.send_kexinit();
  }
}

int Transport::next_timeout_seconds(uint64_t now_seconds) const {
  const Impl& i = *m_impl;
  if (!i.cfg.rekey_seconds || !i.authenticated || !i.first_kex_done_flag || i.kex_active) return -1;
  if (i.rekey_deadline == 0) i.rekey_deadline = now_seconds + i.cfg.rekey_seconds;
  if (now_seconds >= i.rekey_deadline) return 0;
  return int(std::min<uint64_t>(i.rekey_deadline - now_seconds, INT32_MAX));
}

void Transport::set_authenticated() {
  m_impl->authenticated = true;
}

bool Transport::process_kex() {
  return m_impl->process_kex();
}

bool Transport::first_kex_done() const {
  return m_impl->first_kex_done_flag;
}
bool Transport::kex_in_progress() const {
  return m_impl->kex_active;
}
ByteView Transport::session_id() const {
  return m_impl->session_id;
}
const std::string& Transport::peer_version() const {
  return m_impl->peer_version;
}

std::string Transport::negotiated_summary() const {
  const Negotiated& n = m_impl->neg;
  auto mac = [](const std::string& m) { return m.empty() ? std::string("<implicit>") : m; };
  return "kex: " + n.kex + " host key: " + n.host_key + " c2s: " + n.cipher_c2s + " " +
         mac(n.mac_c2s) + " " + n.comp_c2s + " s2c: " + n.cipher_s2c + " " + mac(n.mac_s2c) + " " +
         n.comp_s2c;
}

const std::vector<std::pair<std::string, std::string>>& Transport::peer_extensions() const {
  return m_impl->peer_ext;
}

bool Transport::peer_wants_ext_info() const {
  return m_impl->peer_ext_info_c;
}

TransportState Transport::export_state() const {
  return TransportState{m_impl->export_state()};
}

std::unique_ptr<Transport> Transport::import_state(TransportConfig config,
                                                   const TransportState& state) {
  auto t = std::make_unique<Transport>(std::move(config));
  t->m_impl->out.clear();
  t->m_impl->import_state(state.bytes.view());
  return t;
}

}  // namespace postern::net
