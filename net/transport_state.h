// The transport's handoff (docs/architecture.md: sshd-net hands its transport to the session
// process through the monitor): every field export_state() carries, in the order the wire codec
// (common/wire.h) writes and reads them. The importer gets it from the unprivileged child, so
// decoding bounds every field before the transport uses it.
#pragma once

#include <cstdint>
#include <string>
#include <tuple>

#include "common/bytes.h"
#include "common/wire.h"

namespace postern::net {

struct HandoffState {
  // The format's version: a blob from a build that writes another format is refused.
  static constexpr uint8_t kType = 3;
  uint8_t role = 0;  // 0 server, 1 client: must match the importer's
  std::string version, peer_version;
  Bytes session_id;
  uint32_t tx_seq = 0, rx_seq = 0, last_rx_seq = 0;
  uint64_t tx_bytes = 0, tx_packets = 0, tx_limit = 0;
  uint64_t rx_bytes = 0, rx_packets = 0, rx_limit = 0;
  bool strict = false, peer_ext_info_c = false;
  uint32_t kex_count = 0;
  uint64_t rekey_deadline = 0;
  bool compression_started = false;
  // The negotiated names (net/kexinit.h's Negotiated).
  std::string kex, host_key, cipher_c2s, cipher_s2c, mac_c2s, mac_s2c, comp_c2s, comp_s2c;
  Bytes tx_cipher, rx_cipher;  // PacketCipher::export_state(): keys, wiped with the struct
  Bytes peer_ext_info;         // the peer's extensions as an EXT_INFO (net/ext_info.h)
  // Unprocessed input (a packet whose length was already decrypted, then the rest) and unsent
  // output, so the importer continues byte for byte.
  bool rx_len_known = false;
  uint32_t rx_packet_len = 0;
  Bytes pending_output;
  Rest pending_input;  // last: it is the one that can be large

  auto fields() {
    return std::tie(role, version, peer_version, session_id, tx_seq, rx_seq, last_rx_seq, tx_bytes,
                    tx_packets, tx_limit, rx_bytes, rx_packets, rx_limit, strict, peer_ext_info_c,
                    kex_count, rekey_deadline, compression_started, kex, host_key, cipher_c2s,
                    cipher_s2c, mac_c2s, mac_s2c, comp_c2s, comp_s2c, tx_cipher, rx_cipher,
                    peer_ext_info, rx_len_known, rx_packet_len, pending_output, pending_input);
  }
  ~HandoffState();
};

// Into a buffer that wipes itself, as common/ipc.h encodes the messages that carry it.
SecretBytes encode_handoff(HandoffState& state);
// Throws ProtocolError on a malformed blob or a field longer than the transport ever makes it.
HandoffState decode_handoff(ByteView blob);

}  // namespace postern::net
