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

#include "common/log.h"
#include "common/ossl.h"
#include "common/protocol_error.h"
#include "common/ssh_key.h"
#include "common/join.h"
#include "common/wire.h"
#include "net/compression.h"
#include "net/kex_method.h"
#include "net/kexinit.h"
#include "net/messages.h"
#include "net/moduli.h"
#include "net/packet_cipher.h"

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
constexpr size_t kMaxExtensions = 64;
// What a key exchange may hold back of the layers' messages. Legitimate senders stay far below
// it (channels stop reading at session/channel.h's kMaxQueuedOutput, counting output_backlog());
// past it a peer that never finishes an exchange is making us buffer for it: disconnect.
constexpr size_t kMaxQueuedDuringKex = 16 * 1024 * 1024;
// The largest PING we answer: OpenSSH's keystroke-timing chaff is a few dozen bytes, and a
// PONG must always fit in one packet.
constexpr size_t kMaxPingData = 4096;

// Types that may be sent while our own key exchange runs (RFC 4253 §7.1): transport generic
// messages other than SERVICE_REQUEST/ACCEPT, and the key exchange messages.
bool is_kex_allowed_type(uint8_t t) {
  return (t >= kMsgDisconnect && t <= kMsgDebug) || (t >= kMsgKexInit && t <= kMsgKexLast);
}

bool cipher_is_aead(std::string_view name) {
  const CipherInfo* c = find_cipher(name);
  return c && c->aead;
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

// OpenSSH 9.2's HostKeyAlgorithms without certificates and security keys (sshd -T).
const std::vector<std::string>& default_host_key_algorithms() {
  static const std::vector<std::string> v = {"ssh-ed25519",         "ecdsa-sha2-nistp256",
                                             "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
                                             "rsa-sha2-512",        "rsa-sha2-256"};
  return v;
}

// Configured names we implement, in the configured order; the default offer when unset (never
// everything supported: that would offer CBC or SHA-1 methods nobody asked for).
std::vector<std::string> filter_supported(const std::vector<std::string>& configured,
                                          const std::vector<std::string>& supported,
                                          const std::vector<std::string>& defaults) {
  if (configured.empty()) return defaults;
  std::vector<std::string> out;
  for (const auto& n : configured)
    if (contains(supported, n) && !contains(out, n)) out.push_back(n);
  return out;
}

Bytes digest(const EVP_MD* md, ByteView data) {
  Bytes out(EVP_MD_get_size(md));
  unsigned int len = 0;
  if (!EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr))
    throw ProtocolError(ossl_error("EVP_Digest"), DisconnectReason::kKeyExchangeFailed);
  out.resize(len);
  return out;
}

// RFC 4253 §7.2: K1 = HASH(K || H || X || session_id), Kn = HASH(K || H || K1 || ... || Kn-1).
// K arrives already encoded (mpint or string) and is hashed as is.
SecretBytes derive_key(const EVP_MD* md, ByteView k, ByteView h, char letter, ByteView session_id,
                       size_t need) {
  SecretBytes out;
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  uint8_t buf[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  auto fail = [] {
    throw ProtocolError(ossl_error("key derivation"), DisconnectReason::kKeyExchangeFailed);
  };
  if (!ctx || !EVP_DigestInit_ex(ctx.get(), md, nullptr) ||
      !EVP_DigestUpdate(ctx.get(), k.data(), k.size()) ||
      !EVP_DigestUpdate(ctx.get(), h.data(), h.size()) ||
      !EVP_DigestUpdate(ctx.get(), &letter, 1) ||
      !EVP_DigestUpdate(ctx.get(), session_id.data(), session_id.size()) ||
      !EVP_DigestFinal_ex(ctx.get(), buf, &len))
    fail();
  out.append(ByteView(buf, len));
  while (out.size() < need) {
    if (!EVP_DigestInit_ex(ctx.get(), md, nullptr) ||
        !EVP_DigestUpdate(ctx.get(), k.data(), k.size()) ||
        !EVP_DigestUpdate(ctx.get(), h.data(), h.size()) ||
        !EVP_DigestUpdate(ctx.get(), out.data(), out.size()) ||
        !EVP_DigestFinal_ex(ctx.get(), buf, &len))
      fail();
    out.append(ByteView(buf, len));
  }
  OPENSSL_cleanse(buf, sizeof buf);
  return out;
}

const char* kStateMagic = "postern-transport-state-v2";

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
  bool ignore_guessed = false;
  Bytes my_kexinit, peer_kexinit;
  Negotiated neg;
  std::unique_ptr<KexMethod> method;
  enum class Step {
    kNone,
    kServerAwaitInit,
    kServerAwaitGexRequest,
    kServerAwaitGexInit,
    kClientAwaitReply,
    kClientAwaitGexGroup,
    kClientAwaitGexReply,
    kAwaitNewKeys
  };
  Step step = Step::kNone;
  bool gex = false;
  uint32_t gex_min = 0, gex_n = 0, gex_max = 0;
  Bytes gex_p, gex_g;   // unsigned magnitudes
  Bytes client_public;  // client: our e / Q_C
  Bytes session_id;
  std::unique_ptr<PacketCipher> next_tx, next_rx;
  std::vector<std::pair<std::string, std::string>> peer_ext;

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
    // RFC 8308 §2.3: uint32 nr-extensions, then name/value string pairs.
    Reader r(m);
    r.u8();
    uint32_t n = r.u32();
    if (n > kMaxExtensions) throw ProtocolError("too many extensions in EXT_INFO");
    std::vector<std::pair<std::string, std::string>> ext;
    for (uint32_t i = 0; i < n; ++i) {
      std::string name(r.text(1024));
      std::string value(as_string(r.string()));
      ext.emplace_back(std::move(name), std::move(value));
    }
    r.expect_done("EXT_INFO");
    if (server()) return;  // we do not offer ext-info-s; nothing the client says matters yet
    for (auto& e : ext) log_debug("kex_input_ext_info: %s", e.first.c_str());
    peer_ext = std::move(ext);
  }

  // ===================================================================== key exchange
  KexInit build_kexinit() {
    KexInit k;
    if (RAND_bytes(k.cookie.data(), int(k.cookie.size())) != 1)
      throw std::runtime_error("RAND_bytes failed");
    k.kex = filter_supported(cfg.kex_algorithms, supported_kex_methods(), default_kex_methods());
    if (server()) {
      if (!cfg.host_key_signer) throw std::logic_error("server transport without host key signer");
      std::vector<std::string> have = cfg.host_key_signer->algorithms();
      const auto& wanted =
          cfg.host_key_algorithms.empty() ? default_host_key_algorithms() : cfg.host_key_algorithms;
      for (const auto& a : wanted)
        if (contains(have, a)) k.host_key.push_back(a);
      if (k.host_key.empty()) throw std::logic_error("no usable host key algorithms");
    } else {
      k.host_key =
          cfg.host_key_algorithms.empty() ? default_host_key_algorithms() : cfg.host_key_algorithms;
    }
    k.cipher_c2s = k.cipher_s2c =
        filter_supported(cfg.ciphers, supported_ciphers(), default_ciphers());
    k.mac_c2s = k.mac_s2c = filter_supported(cfg.macs, supported_macs(), default_macs());
    // Configured names we implement (zlib@openssh.com, none), in the configured order.
    k.comp_c2s = k.comp_s2c =
        filter_supported(cfg.compression, supported_compression(), {std::string(kCompressionNone)});
    // The pseudo-algorithms go into the first KEXINIT only (RFC 8308 §2.1, PROTOCOL §1.10).
    if (kex_count == 0) {
      if (server()) {
        k.kex.push_back(kStrictKexServer);
      } else {
        k.kex.push_back(kExtInfoClient);
        k.kex.push_back(kStrictKexClient);
      }
    }
    return k;
  }

  void send_kexinit() {
    if (our_kexinit_sent) return;
    my_kexinit = build_kexinit().encode();
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
    peer_kexinit.assign(m.begin(), m.end());
    peer_kexinit_received = true;
    send_kexinit();
    KexInit mine = KexInit::parse(my_kexinit);
    const KexInit& client = server() ? peer : mine;
    const KexInit& srv = server() ? mine : peer;
    neg = negotiate(client, srv, &cipher_is_aead);
    ignore_guessed = peer.first_kex_packet_follows && neg.ignore_guessed_packet;
    log_debug("kex: algorithm: %s", neg.kex.c_str());
    log_debug("kex: host key algorithm: %s", neg.host_key.c_str());
    log_debug("kex: client->server cipher: %s MAC: %s compression: %s", neg.cipher_c2s.c_str(),
              neg.mac_c2s.empty() ? "<implicit>" : neg.mac_c2s.c_str(), neg.comp_c2s.c_str());
    log_debug("kex: server->client cipher: %s MAC: %s compression: %s", neg.cipher_s2c.c_str(),
              neg.mac_s2c.empty() ? "<implicit>" : neg.mac_s2c.c_str(), neg.comp_s2c.c_str());

    gex = is_group_exchange(neg.kex);
    if (!gex) {
      method = make_kex_method(neg.kex);
      if (!method)
        throw ProtocolError("unsupported kex method " + neg.kex,
                            DisconnectReason::kKeyExchangeFailed);
    }
    if (server()) {
      step = gex ? Step::kServerAwaitGexRequest : Step::kServerAwaitInit;
    } else if (gex) {
      // RFC 4419 §3 with the group size NIST SP 800-57 pairs with our strongest cipher/MAC.
      gex_min = 2048;
      gex_n = gex_bits_for(key_strength_bits());
      gex_max = 8192;
      send(encode(GexRequestMsg{gex_min, gex_n, gex_max}));
      step = Step::kClientAwaitGexGroup;
      log_debug("SSH2_MSG_KEX_DH_GEX_REQUEST(%u<%u<%u) sent", gex_min, gex_n, gex_max);
    } else {
      client_public = method->client_public();
      Writer w;
      w.u8(kMsgKexEcdhInit).string(ByteView(client_public));
      send(w.buffer());
      step = Step::kClientAwaitReply;
    }
  }

  size_t key_strength_bits() const {
    size_t need = 0;
    for (const std::string* c : {&neg.cipher_c2s, &neg.cipher_s2c})
      if (const CipherInfo* ci = find_cipher(*c))
        need = std::max({need, ci->key_len, ci->block_size});
    for (const std::string* m : {&neg.mac_c2s, &neg.mac_s2c})
      if (const MacInfo* mi = find_mac(*m)) need = std::max(need, mi->key_len);
    return need * 8;
  }

  static uint32_t gex_bits_for(size_t bits) {
    // Equivalent strengths from NIST SP 800-57 Part 1 Table 2.
    if (bits <= 112) return 2048;
    if (bits <= 128) return 3072;
    if (bits <= 192) return 7680;
    return 8192;
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
    if (ignore_guessed) {
      // RFC 4253 §7.1: the peer's guessed first packet is discarded when the guess was wrong.
      ignore_guessed = false;
      return;
    }
    uint8_t t = m[0];
    switch (step) {
      case Step::kServerAwaitInit:
        if (t != kMsgKexEcdhInit) break;
        server_kex_init(m, kMsgKexEcdhReply);
        return;
      case Step::kServerAwaitGexRequest:
        if (t != kMsgKexGexRequest) break;
        server_gex_request(m);
        return;
      case Step::kServerAwaitGexInit:
        if (t != kMsgKexGexInit) break;
        server_kex_init(m, kMsgKexGexReply);
        return;
      case Step::kClientAwaitGexGroup:
        if (t != kMsgKexGexGroup) break;
        client_gex_group(m);
        return;
      case Step::kClientAwaitReply:
        if (t != kMsgKexEcdhReply) break;
        client_kex_reply(m);
        return;
      case Step::kClientAwaitGexReply:
        if (t != kMsgKexGexReply) break;
        client_kex_reply(m);
        return;
      default:
        break;
    }
    throw ProtocolError("unexpected key exchange message type " + std::to_string(t),
                        DisconnectReason::kProtocolError);
  }

  ByteView read_public(Reader& r, bool mpint) { return mpint ? r.mpint() : r.string(16 * 1024); }

  void server_gex_request(ByteView m) {
    auto req = decode<GexRequestMsg>(m);
    gex_min = req.min;
    gex_n = req.n;
    gex_max = req.max;
    // RFC 4419 §3; choose_group clamps to [2048, 8192] (RFC 8270) and refuses min > n > max.
    // The hash below uses the values as the client sent them.
    Result<DhGroup> group = cfg.choose_dh_group
                                ? cfg.choose_dh_group(req.min, req.n, req.max)
                                : choose_group(cfg.moduli_file, req.min, req.n, req.max);
    if (!group)
      throw ProtocolError("DH_GEX group out of range: " + group.error().message,
                          DisconnectReason::kKeyExchangeFailed);
    gex_p = group->p;
    gex_g = group->g;
    method = make_dh_kex(neg.kex, group_exchange_hash(neg.kex), gex_p, gex_g);
    if (!method) throw ProtocolError("DH group rejected", DisconnectReason::kKeyExchangeFailed);
    Writer w;
    w.u8(kMsgKexGexGroup).mpint_unsigned(gex_p).mpint_unsigned(gex_g);
    send(w.buffer());
    step = Step::kServerAwaitGexInit;
  }

  void client_gex_group(ByteView m) {
    Reader r(m);
    r.u8();
    ByteView p = r.mpint(8192 / 8 + 1);
    ByteView g = r.mpint(8192 / 8 + 1);
    r.expect_done("KEX_DH_GEX_GROUP");
    auto strip = [](ByteView v) {
      while (!v.empty() && v[0] == 0) v = v.subspan(1);
      return Bytes(v.begin(), v.end());
    };
    gex_p = strip(p);
    gex_g = strip(g);
    size_t bits = gex_p.empty() ? 0 : gex_p.size() * 8 - size_t(__builtin_clz(gex_p[0]) - 24);
    if (bits < gex_min || bits > gex_max)
      throw ProtocolError("DH_GEX group out of range: " + std::to_string(bits) + " bits",
                          DisconnectReason::kKeyExchangeFailed);
    method = make_dh_kex(neg.kex, group_exchange_hash(neg.kex), gex_p, gex_g);
    if (!method) throw ProtocolError("DH group rejected", DisconnectReason::kKeyExchangeFailed);
    client_public = method->client_public();
    Writer w;
    w.u8(kMsgKexGexInit).string(ByteView(client_public));
    send(w.buffer());
    step = Step::kClientAwaitGexReply;
  }

  // H = HASH(V_C || V_S || I_C || I_S || K_S || [gex params] || e || f || K): RFC 4253 §8,
  // RFC 5656 §4, RFC 8731 §3, RFC 4419 §3.
  Bytes exchange_hash(ByteView k_s, ByteView e, ByteView f, ByteView k) {
    const std::string& v_c = server() ? peer_version : cfg.version;
    const std::string& v_s = server() ? cfg.version : peer_version;
    const Bytes& i_c = server() ? peer_kexinit : my_kexinit;
    const Bytes& i_s = server() ? my_kexinit : peer_kexinit;
    Writer w;
    w.string(v_c).string(v_s).string(ByteView(i_c)).string(ByteView(i_s)).string(k_s);
    if (gex) {
      w.u32(gex_min).u32(gex_n).u32(gex_max);
      w.mpint_unsigned(gex_p).mpint_unsigned(gex_g);
    }
    w.string(e).string(f).raw(k);
    Bytes h = digest(method->hash(), w.buffer());
    OPENSSL_cleanse(w.buffer().data(), w.buffer().size());
    return h;
  }

  void server_kex_init(ByteView m, uint8_t reply_type) {
    Reader r(m);
    r.u8();
    ByteView e = read_public(r, method->public_is_mpint());
    r.expect_done("KEX_INIT");
    auto res = method->server_respond(e);
    if (!res)
      throw ProtocolError("key exchange failed: " + res.error().message,
                          DisconnectReason::kKeyExchangeFailed);
    HostKeySigner& signer = *cfg.host_key_signer;
    Bytes k_s = signer.public_key_blob(neg.host_key);
    Bytes h = exchange_hash(k_s, e, res->server_public, res->shared_secret);
    if (session_id.empty()) session_id = h;
    auto sig = signer.sign(neg.host_key, h);
    if (!sig)
      throw ProtocolError("host key signing failed: " + sig.error().message,
                          DisconnectReason::kKeyExchangeFailed);
    Writer w;
    w.u8(reply_type)
        .string(ByteView(k_s))
        .string(ByteView(res->server_public))
        .string(ByteView(*sig));
    send(w.buffer());
    install_keys(res->shared_secret, h);
  }

  void client_kex_reply(ByteView m) {
    Reader r(m);
    r.u8();
    ByteView k_s = r.string(16 * 1024);
    ByteView f = read_public(r, method->public_is_mpint());
    ByteView sig = r.string(16 * 1024);
    r.expect_done("KEX_REPLY");
    auto key = PublicKey::from_blob(k_s);
    if (!key)
      throw ProtocolError("bad server host key: " + key.error().message,
                          DisconnectReason::kKeyExchangeFailed);
    if (!contains(key->signature_algorithms(), neg.host_key))
      throw ProtocolError("type mismatch for decoded server host key",
                          DisconnectReason::kKeyExchangeFailed);
    auto secret = method->client_finish(f);
    if (!secret)
      throw ProtocolError("key exchange failed: " + secret.error().message,
                          DisconnectReason::kKeyExchangeFailed);
    Bytes h = exchange_hash(k_s, client_public, f, *secret);
    std::string alg;
    if (!key->verify(sig, h, &alg) || alg != neg.host_key)
      throw ProtocolError("signature verification failed", DisconnectReason::kKeyExchangeFailed);
    if (!cfg.verify_host_key || !cfg.verify_host_key(k_s))
      throw ProtocolError("Host key verification failed.", DisconnectReason::kHostKeyNotVerifiable);
    if (session_id.empty()) session_id = h;
    install_keys(*secret, h);
  }

  // RFC 4253 §7.2: derives both directions' keys, then sends our NEWKEYS.
  void install_keys(const SecretBytes& k, const Bytes& h) {
    const EVP_MD* md = method->hash();
    auto make = [&](bool c2s) {
      const std::string& cname = c2s ? neg.cipher_c2s : neg.cipher_s2c;
      const std::string& mname = c2s ? neg.mac_c2s : neg.mac_s2c;
      const CipherInfo* ci = find_cipher(cname);
      const MacInfo* mi = mname.empty() ? nullptr : find_mac(mname);
      if (!ci || (!ci->aead && !mi))
        throw ProtocolError("unsupported cipher or MAC", DisconnectReason::kKeyExchangeFailed);
      SecretBytes iv = derive_key(md, k, h, c2s ? 'A' : 'B', session_id, ci->iv_len);
      SecretBytes key = derive_key(md, k, h, c2s ? 'C' : 'D', session_id, ci->key_len);
      SecretBytes mkey;
      if (mi) mkey = derive_key(md, k, h, c2s ? 'E' : 'F', session_id, mi->key_len);
      bool encrypt = server() ? !c2s : c2s;
      return make_packet_cipher(*ci, mi, key, iv, mkey, encrypt);
    };
    std::unique_ptr<PacketCipher> c2s = make(true);
    std::unique_ptr<PacketCipher> s2c = make(false);
    next_tx = std::move(server() ? s2c : c2s);
    next_rx = std::move(server() ? c2s : s2c);
    method.reset();
    step = Step::kAwaitNewKeys;

    write_packet(encode(NewKeysMsg{}));
    log_debug("SSH2_MSG_NEWKEYS sent");
    tx = std::move(next_tx);
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
    Writer w;
    w.u8(kMsgExtInfo).u32(3);
    w.string("server-sig-algs")
        .string(join(cfg.server_sig_algs.empty() ? kDefaultSigAlgs : cfg.server_sig_algs, ","));
    w.string("publickey-hostbound@openssh.com").string("0");
    w.string("ping@openssh.com").string("0");
    write_packet(w.buffer());
  }

  void handle_newkeys(ByteView m) {
    decode<NewKeysMsg>(m);
    if (step != Step::kAwaitNewKeys || !newkeys_sent || newkeys_received)
      throw ProtocolError("unexpected NEWKEYS");
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
    step = Step::kNone;
    first_kex_done_flag = true;
    ++kex_count;
    rekey_deadline = 0;
    ignore_guessed = false;
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
    SecretBytes buf;
    SecretWriter w(buf);
    w.string(kStateMagic);
    w.u8(server() ? 0 : 1);
    w.string(cfg.version).string(peer_version);
    w.string(ByteView(session_id));
    w.u32(tx_seq).u32(rx_seq).u32(last_rx_seq);
    w.u64(tx_bytes).u64(tx_packets).u64(tx_limit);
    w.u64(rx_bytes).u64(rx_packets).u64(rx_limit);
    w.boolean(strict).boolean(peer_ext_info_c).u32(kex_count).u64(rekey_deadline);
    w.boolean(compression_started);
    for (const std::string* s : {&neg.kex, &neg.host_key, &neg.cipher_c2s, &neg.cipher_s2c,
                                 &neg.mac_c2s, &neg.mac_s2c, &neg.comp_c2s, &neg.comp_s2c})
      w.string(*s);
    w.string(tx->export_state().view());
    w.string(rx->export_state().view());
    w.u32(uint32_t(peer_ext.size()));
    for (const auto& e : peer_ext) w.string(e.first).string(e.second);
    // Unprocessed input (after any packet already handed out) and unsent output.
    size_t start = in_start + returned_len;
    w.boolean(rx_len_known).u32(rx_packet_len);
    w.string(ByteView(in.data() + start, in_end - start));
    w.string(ByteView(out.data() + out_start, out.size() - out_start));
    return buf;
  }

  void import_state(ByteView state) {
    Reader r(state);
    constexpr size_t kBig = 64 * 1024 * 1024;
    if (r.text() != kStateMagic) throw ProtocolError("transport state: bad magic");
    if (r.u8() != (server() ? 0 : 1)) throw ProtocolError("transport state: role mismatch");
    cfg.version = std::string(r.text(kMaxVersionLine));
    peer_version = std::string(r.text(kMaxVersionLine));
    auto sid = r.string(EVP_MAX_MD_SIZE);
    session_id.assign(sid.begin(), sid.end());
    tx_seq = r.u32();
    rx_seq = r.u32();
    last_rx_seq = r.u32();
    tx_bytes = r.u64();
    tx_packets = r.u64();
    tx_limit = r.u64();
    rx_bytes = r.u64();
    rx_packets = r.u64();
    rx_limit = r.u64();
    strict = r.boolean();
    peer_ext_info_c = r.boolean();
    kex_count = r.u32();
    rekey_deadline = r.u64();
    bool comp_started = r.boolean();
    for (std::string* s : {&neg.kex, &neg.host_key, &neg.cipher_c2s, &neg.cipher_s2c, &neg.mac_c2s,
                           &neg.mac_s2c, &neg.comp_c2s, &neg.comp_s2c})
      *s = std::string(r.text(256));
    tx = import_packet_cipher(r.string(4096));
    rx = import_packet_cipher(r.string(4096));
    uint32_t n = r.u32();
    if (n > kMaxExtensions) throw ProtocolError("transport state: too many extensions");
    peer_ext.clear();
    for (uint32_t i = 0; i < n; ++i) {
      std::string name(r.text());
      std::string value(r.text());
      peer_ext.emplace_back(std::move(name), std::move(value));
    }
    rx_len_known = r.boolean();
    rx_packet_len = r.u32();
    ByteView pending_in = r.string(kBig);
    ByteView pending_out = r.string(kBig);
    r.expect_done("transport state");
    for (const std::string* c : {&neg.comp_c2s, &neg.comp_s2c})
      if (!contains(supported_compression(), *c))
        throw ProtocolError("transport state: unknown compression " + *c);
    // Compression that has started continues with fresh streams: nothing was compressed yet.
    tx_zlib = (server() ? neg.comp_s2c : neg.comp_c2s) == kCompressionZlibOpenssh;
    rx_zlib = (server() ? neg.comp_c2s : neg.comp_s2c) == kCompressionZlibOpenssh;
    compression_started = comp_started;
    restart_tx_compression();
    restart_rx_compression();
    in.assign(pending_in.begin(), pending_in.end());
    in.resize(std::max<size_t>(in.size(), 64 * 1024));
    in_start = 0;
    in_end = pending_in.size();
    returned_len = 0;
    out.assign(pending_out.begin(), pending_out.end());
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
  i.next_tx.reset();
  i.next_rx.reset();
  i.method.reset();
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
