// The transport's side of key exchange (RFC 4253 §7): when to send KEXINIT, handing messages
// 30..49 to the KexDriver and sending what it returns, NEWKEYS in both directions, and rekeying
// by volume and time. See transport_impl.h.
#include <openssl/crypto.h>

#include <algorithm>

#include "common/join.h"
#include "common/log.h"
#include "common/protocol_error.h"
#include "common/wire.h"
#include "net/transport_impl.h"

namespace postern::net {

namespace {

// OpenSSH rekeys before 2^31 packets so sequence numbers never come near wrapping in one key.
constexpr uint64_t kMaxPacketsPerKey = uint64_t(1) << 31;

// RFC 4344 §3.2, as OpenSSH applies it: ciphers with 128-bit blocks rekey after 2^32 blocks
// (2^(L/4) for L = 128), smaller ones after 1 GiB; RekeyLimit only lowers that.
uint64_t rekey_limit_bytes(size_t block_size, uint64_t configured) {
  uint64_t blocks =
      block_size >= 16 ? uint64_t(1) << (block_size * 2) : (uint64_t(1) << 30) / block_size;
  if (configured)
    blocks = std::min<uint64_t>(blocks, std::max<uint64_t>(1, configured / block_size));
  return blocks * block_size;
}

}  // namespace

void Transport::Impl::after_send() {
  if (authenticated && first_kex_done_flag && !kex_active &&
      (tx_bytes >= tx_limit || tx_packets >= kMaxPacketsPerKey)) {
    log_debug("rekeying: %llu bytes sent with the current key", (unsigned long long)tx_bytes);
    send_kexinit();
  }
}

void Transport::Impl::send_kexinit() {
  if (our_kexinit_sent) return;
  my_kexinit = make_kexinit_offer(cfg, kex_count == 0).encode();
  write_packet(my_kexinit);
  our_kexinit_sent = true;
  kex_active = true;
  log_debug("SSH2_MSG_KEXINIT sent");
}

void Transport::Impl::handle_kexinit(ByteView m) {
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
void Transport::Impl::run(KexStep step) {
  if (!step.send.empty()) send(step.send);
  if (step.keys) install_keys(std::move(*step.keys));
}

void Transport::Impl::handle_kex_message(ByteView m) {
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

void Transport::Impl::install_keys(KexKeys keys) {
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

void Transport::Impl::send_ext_info() {
  static const std::vector<std::string> kDefaultSigAlgs = {
      "ssh-ed25519",         "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
      "ecdsa-sha2-nistp521", "rsa-sha2-512",        "rsa-sha2-256"};
  const auto& sig_algs = cfg.server_sig_algs.empty() ? kDefaultSigAlgs : cfg.server_sig_algs;
  write_packet(encode_ext_info({{"server-sig-algs", join(sig_algs, ",")},
                                {"publickey-hostbound@openssh.com", "0"},
                                {"ping@openssh.com", "0"}}));
}

void Transport::Impl::handle_newkeys(ByteView m) {
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

void Transport::Impl::maybe_finish_kex() {
  if (!newkeys_sent || !newkeys_received) return;
  kex_active = false;
  our_kexinit_sent = peer_kexinit_received = newkeys_sent = newkeys_received = false;
  kex.reset();
  first_kex_done_flag = true;
  ++kex_count;
  rekey_deadline = 0;
}

void Transport::Impl::check_rekey_on_receive() {
  if (authenticated && first_kex_done_flag && !kex_active &&
      (rx_bytes >= rx_limit || rx_packets >= kMaxPacketsPerKey)) {
    log_debug("rekeying: %llu bytes received with the current key", (unsigned long long)rx_bytes);
    send_kexinit();
  }
}

bool Transport::Impl::process_kex() {
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

void Transport::start_rekey() {
  if (m_impl->first_kex_done_flag && !m_impl->kex_active) m_impl->send_kexinit();
}

void Transport::tick(uint64_t now_seconds) {
  Impl& i = *m_impl;
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

}  // namespace postern::net
