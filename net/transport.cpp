// The SSH transport layer (RFC 4253), role-neutral. See transport.h for the contract. This file
// holds the version exchange and the framing; key exchanges run in transport_kex.cpp, the
// handoff in transport_state.cpp (both share transport_impl.h).
//
// Input: received bytes are appended to one buffer; next_message() frames, decrypts (in place)
// and authenticates one packet at a time, so a NEWKEYS takes effect exactly at the next packet.
// Output: packets are framed and sealed in place at the end of one output buffer. Both buffers
// keep their capacity, so the data path does not allocate per packet.
#include "net/transport_impl.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "common/log.h"
#include "common/protocol_error.h"
#include "common/wire.h"

namespace postern::net {

namespace {

// RFC 4253 §6.1 asks for at least 35000; OpenSSH accepts up to 256 KiB (PACKET_MAX_SIZE).
constexpr uint32_t kMaxPacketLength = 256 * 1024;
// RFC 4253 §4.2: the identification line is at most 255 characters including CR LF.
constexpr size_t kMaxVersionLine = 255;
// Lines a server may send before its identification (RFC 4253 §4.2); bounded so a peer cannot
// keep us reading forever.
constexpr size_t kMaxPreBannerLines = 1024;
constexpr size_t kMinPadding = 4;  // RFC 4253 §6
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

}  // namespace

void Transport::Impl::fill_padding(uint8_t* p, size_t n) {
  while (n) {
    if (pad_pool_left == 0) {
      if (RAND_bytes(pad_pool, sizeof pad_pool) != 1) throw std::runtime_error("RAND_bytes failed");
      pad_pool_left = sizeof pad_pool;
    }
    size_t k = std::min(n, pad_pool_left);
    std::memcpy(p, pad_pool + sizeof pad_pool - pad_pool_left, k);
    pad_pool_left -= k;
    p += k;
    n -= k;
  }
}

size_t Transport::Impl::padding_for(size_t payload_len) const {
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
MutableByteView Transport::Impl::begin(size_t payload_len) {
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

void Transport::Impl::commit() {
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
MutableByteView Transport::Impl::begin_raw(size_t payload_len) {
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

void Transport::Impl::commit_raw() {
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

void Transport::Impl::write_packet(ByteView payload) {
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
void Transport::Impl::packet_sent(uint8_t type) {
  if (server() && type == kMsgUserauthSuccess && !compression_started && tx_keys_installed)
    start_compression();
}

void Transport::Impl::start_compression() {
  compression_started = true;
  restart_tx_compression();
  // A USERAUTH_SUCCESS that waited for a key exchange went out after our NEWKEYS; the peer
  // sent its NEWKEYS on our reply, before it could see the success, so that one is not
  // compressed: its arrival (handle_newkeys) starts the receiving stream instead.
  if (!(kex_active && !newkeys_received)) restart_rx_compression();
}

// A fresh stream for the direction's current keys, or none.
void Transport::Impl::restart_tx_compression() {
  tx_compressing = tx_zlib && compression_started;
  if (!tx_compressing) return;
  log_debug("Enabling compression at level 6.");  // OpenSSH's line, at the same moments
  if (deflater)
    deflater->reset();
  else
    deflater = std::make_unique<PacketCompressor>();
}

void Transport::Impl::restart_rx_compression() {
  rx_compressing = rx_zlib && compression_started;
  if (!rx_compressing) return;
  if (inflater)
    inflater->reset();
  else
    inflater = std::make_unique<PacketDecompressor>(kMaxPacketLength);
}

void Transport::Impl::compact_output() {
  if (out_start == 0) return;
  if (out_start == out.size()) {
    out.clear();
    out_start = 0;
  } else if (out_start >= 64 * 1024 && out_start * 2 >= out.size()) {
    out.erase(out.begin(), out.begin() + ptrdiff_t(out_start));
    out_start = 0;
  }
}

void Transport::Impl::send(ByteView payload) {
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

void Transport::Impl::send_version() {
  out.insert(out.end(), cfg.version.begin(), cfg.version.end());
  out.push_back('\r');
  out.push_back('\n');
}

void Transport::Impl::version_error(const std::string& to_peer, const std::string& what,
                                    DisconnectReason reason) {
  // No binary packets yet: the peer gets a plain line, as OpenSSH's sshd sends one.
  if (!to_peer.empty()) {
    out.insert(out.end(), to_peer.begin(), to_peer.end());
    out.push_back('\r');
    out.push_back('\n');
  }
  throw ProtocolError(what, reason);
}

// Consumes complete lines until the peer's identification; true once it is known.
bool Transport::Impl::process_version_lines() {
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
    // A PROXY protocol header (v1 text, or v2's signature, whose first line is empty) from a
    // peer the monitor did not read one from: said so in the log (ProxyProtocolFrom).
    static constexpr char kProxyV2Signature[] = "\r\n\r\n\0\r\nQUIT\n";
    size_t avail = std::min<size_t>(size_t(end - begin), sizeof kProxyV2Signature - 1);
    bool proxy_header = (avail >= 5 && std::memcmp(begin, kProxyV2Signature, avail) == 0) ||
                        (line_len > 6 && std::memcmp(begin, "PROXY ", 6) == 0);
    std::string_view line(reinterpret_cast<const char*>(begin), line_len - 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    in_start += line_len;
    if (line.find('\0') != std::string_view::npos)
      version_error("", "banner line contains invalid characters");
    if (line.substr(0, 4) != "SSH-") {
      // RFC 4253 §4.2: only a server may send other lines first.
      if (server()) {
        if (proxy_header)
          version_error("Invalid SSH identification string.",
                        "PROXY protocol header from an address not in ProxyProtocolFrom");
        log_verbose("client sent invalid protocol identifier \"%.256s\"",
                    std::string(line).c_str());
        version_error("Invalid SSH identification string.", "Bad protocol version identification");
      }
      if (++pre_banner_lines > kMaxPreBannerLines)
        version_error("", "banner exchange: too many lines before the version");
      continue;
    }
    parse_version(line);
  }
  return true;
}

void Transport::Impl::parse_version(std::string_view line) {
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

void Transport::Impl::drop_returned() {
  in_start += returned_len;
  returned_len = 0;
  if (in_start == in_end) in_start = in_end = 0;
}

MutableByteView Transport::Impl::receive_space(size_t min_len) {
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

void Transport::Impl::commit_received(size_t n) {
  in_end += n;
  if (!version_done) process_version_lines();
}

// Frames one packet; returns its payload or nullopt if incomplete.
std::optional<ByteView> Transport::Impl::read_packet() {
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
  if (!server() && payload[0] == kMsgUserauthSuccess && !compression_started && first_kex_done_flag)
    start_compression();
  return payload;
}

std::optional<ByteView> Transport::Impl::next_message() {
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
bool Transport::Impl::handle_transport(ByteView m) {
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

void Transport::Impl::handle_ext_info(ByteView m) {
  Extensions ext = parse_ext_info(m);
  if (server()) return;  // we do not offer ext-info-s; nothing the client says matters yet
  for (auto& e : ext) log_debug("kex_input_ext_info: %s", e.first.c_str());
  peer_ext = std::move(ext);
}

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

const std::string& Transport::peer_version() const {
  return m_impl->peer_version;
}

}  // namespace postern::net
