// The transport's handoff state. See transport_state.h.
#include "net/transport_state.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/protocol_error.h"
#include "net/transport_impl.h"

namespace postern::net {

namespace {
// RFC 4253 §4.2: an identification line is at most 255 characters.
constexpr size_t kMaxVersion = 255;
constexpr size_t kMaxAlgorithmName = 256;
constexpr size_t kMaxCipherState = 4096;

void check(bool ok, const char* what) {
  if (!ok) throw ProtocolError(std::string("transport state: ") + what);
}
}  // namespace

HandoffState::~HandoffState() {
  OPENSSL_cleanse(tx_cipher.data(), tx_cipher.size());
  OPENSSL_cleanse(rx_cipher.data(), rx_cipher.size());
}

SecretBytes encode_handoff(HandoffState& state) {
  Bytes plain = encode(state);
  SecretBytes out(ByteView{plain});
  OPENSSL_cleanse(plain.data(), plain.size());
  return out;
}

HandoffState decode_handoff(ByteView blob) {
  check(!blob.empty() && blob[0] == HandoffState::kType, "unknown format");
  HandoffState s = decode<HandoffState>(blob);
  check(s.role <= 1, "bad role");
  check(s.version.size() <= kMaxVersion && s.peer_version.size() <= kMaxVersion, "bad version");
  check(s.session_id.size() <= EVP_MAX_MD_SIZE, "bad session id");
  for (const std::string* n : {&s.kex, &s.host_key, &s.cipher_c2s, &s.cipher_s2c, &s.mac_c2s,
                               &s.mac_s2c, &s.comp_c2s, &s.comp_s2c})
    check(n->size() <= kMaxAlgorithmName, "algorithm name too long");
  check(s.tx_cipher.size() <= kMaxCipherState && s.rx_cipher.size() <= kMaxCipherState,
        "cipher state too long");
  return s;
}

SecretBytes Transport::Impl::export_state() const {
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

void Transport::Impl::import_state(ByteView blob) {
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
