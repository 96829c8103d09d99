// One key exchange (RFC 4253 §7-§8) for either role, group exchange (RFC 4419) included: what we
// offer in KEXINIT, the negotiation, the method-specific messages 30..49, the exchange hash, the
// host key signature and the new keys (§7.2). It does no I/O and no framing: the transport hands
// it each decoded key exchange message and sends what it returns; once it returns keys, the
// transport sends NEWKEYS and switches to them (§7.3).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/bytes.h"
#include "net/kex_method.h"
#include "net/kexinit.h"
#include "net/packet_cipher.h"
#include "net/transport.h"

namespace postern::net {

// Our KEXINIT for `cfg`; the first one of a connection also carries the ext-info and strict-kex
// pseudo-algorithms (RFC 8308 §2.1, OpenSSH PROTOCOL §1.10).
KexInit make_kexinit_offer(const TransportConfig& cfg, bool first_kex);

// What the exchange hash covers besides the exchange's own messages (V_C, V_S, I_C, I_S), as our
// side saw it, and the session identifier the new keys derive from.
struct KexTranscript {
  std::string peer_version;
  Bytes our_kexinit, peer_kexinit;  // the KEXINIT payloads as sent and received
  Bytes session_id;                 // empty before the first exchange (RFC 4253 §7.2)
};

// The outcome: keys for both directions, and the session identifier (the first exchange's hash).
struct KexKeys {
  std::unique_ptr<PacketCipher> tx, rx;
  Bytes session_id;
};

// What one step asks of the transport: a message to send (empty: none), then, once the exchange
// is complete, the keys to take after our NEWKEYS.
struct KexStep {
  Bytes send;
  std::unique_ptr<KexKeys> keys;
};

class KexDriver {
 public:
  // Negotiates from both KEXINITs; throws ProtocolError (kKeyExchangeFailed) when nothing matches.
  // `cfg` must outlive the driver.
  KexDriver(const TransportConfig& cfg, KexTranscript transcript, const KexInit& peer);
  ~KexDriver();
  KexDriver(const KexDriver&) = delete;
  KexDriver& operator=(const KexDriver&) = delete;

  const Negotiated& negotiated() const { return m_neg; }
  // The client's first message (GEX_REQUEST or the method's INIT); nothing for a server.
  KexStep start();
  // One message numbered 30..49 from the peer. Throws ProtocolError when it is not the one
  // expected now or the exchange fails.
  KexStep step(ByteView message);

 private:
  enum class Await { kInit, kGexRequest, kGexInit, kGexGroup, kReply, kGexReply, kNewKeys };

  bool server() const { return m_cfg.role == Role::kServer; }
  KexStep server_gex_request(ByteView m);
  KexStep server_reply(ByteView m);
  KexStep client_gex_group(ByteView m);
  KexStep client_init();
  KexStep client_finish(ByteView m);
  Bytes exchange_hash(ByteView k_s, ByteView e, ByteView f, ByteView k) const;
  std::unique_ptr<KexKeys> derive_keys(const SecretBytes& k, const Bytes& h);

  const TransportConfig& m_cfg;
  KexTranscript m_tr;
  Negotiated m_neg;
  std::unique_ptr<KexMethod> m_method;
  Await m_await;
  bool m_ignore_guessed = false;
  bool m_gex = false;
  uint32_t m_gex_min = 0, m_gex_n = 0, m_gex_max = 0;
  Bytes m_gex_p, m_gex_g;  // unsigned magnitudes
  Bytes m_client_public;   // client: our e / Q_C
};

}  // namespace postern::net
