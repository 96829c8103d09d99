// Transport-layer message structs (RFC 4253 §11, §12; RFC 8308; RFC 4419; OpenSSH PROTOCOL §2.4),
// encoded and decoded by common/wire.h. KEXINIT has a fixed-size cookie and lives in kexinit.h.
#pragma once

#include <cstdint>
#include <string>

#include "common/ssh_msg.h"
#include "common/wire.h"

namespace postern::net {

struct DisconnectMsg {
  static constexpr uint8_t kType = kMsgDisconnect;
  uint32_t reason;
  std::string description;
  std::string language;
  auto fields() { return std::tie(reason, description, language); }
};

struct UnimplementedMsg {
  static constexpr uint8_t kType = kMsgUnimplemented;
  uint32_t seqno;
  auto fields() { return std::tie(seqno); }
};

struct DebugMsg {
  static constexpr uint8_t kType = kMsgDebug;
  bool always_display;
  std::string message;
  std::string language;
  auto fields() { return std::tie(always_display, message, language); }
};

struct ServiceRequestMsg {
  static constexpr uint8_t kType = kMsgServiceRequest;
  std::string service;
  auto fields() { return std::tie(service); }
};

struct ServiceAcceptMsg {
  static constexpr uint8_t kType = kMsgServiceAccept;
  std::string service;
  auto fields() { return std::tie(service); }
};

struct NewKeysMsg {
  static constexpr uint8_t kType = kMsgNewKeys;
  auto fields() { return std::tie(); }
};

// RFC 4419 §3: the client's group size request.
struct GexRequestMsg {
  static constexpr uint8_t kType = kMsgKexGexRequest;
  uint32_t min;
  uint32_t n;
  uint32_t max;
  auto fields() { return std::tie(min, n, max); }
};

// RFC 4419 §3: the server's group (p, g), for a key exchange like RFC 4253 §8's.
struct GexGroupMsg {
  static constexpr uint8_t kType = kMsgKexGexGroup;
  Mpint p;
  Mpint g;
  auto fields() { return std::tie(p, g); }
};

// RFC 4419 §3: the client's e over the group just received.
struct GexInitMsg {
  static constexpr uint8_t kType = kMsgKexGexInit;
  Mpint e;
  auto fields() { return std::tie(e); }
};

// RFC 4419 §3: the server's host key, its f and its signature over the exchange hash.
struct GexReplyMsg {
  static constexpr uint8_t kType = kMsgKexGexReply;
  Bytes host_key;
  Mpint f;
  Bytes signature;
  auto fields() { return std::tie(host_key, f, signature); }
};

// RFC 5656 §7.1 ECDH_INIT; curve25519 (RFC 8731 §3) and the hybrid post-quantum methods use the
// same message with their own public value in Q_C.
struct KexEcdhInitMsg {
  static constexpr uint8_t kType = kMsgKexEcdhInit;
  Bytes q_c;
  auto fields() { return std::tie(q_c); }
};

// RFC 5656 §7.1 ECDH_REPLY (likewise for curve25519 and the hybrid methods).
struct KexEcdhReplyMsg {
  static constexpr uint8_t kType = kMsgKexEcdhReply;
  Bytes host_key;
  Bytes q_s;
  Bytes signature;
  auto fields() { return std::tie(host_key, q_s, signature); }
};

// RFC 4253 §8 KEXDH_INIT: the number of ECDH_INIT, with e an mpint.
struct KexDhInitMsg {
  static constexpr uint8_t kType = kMsgKexEcdhInit;
  Mpint e;
  auto fields() { return std::tie(e); }
};

// RFC 4253 §8 KEXDH_REPLY: the number of ECDH_REPLY, with f an mpint.
struct KexDhReplyMsg {
  static constexpr uint8_t kType = kMsgKexEcdhReply;
  Bytes host_key;
  Mpint f;
  Bytes signature;
  auto fields() { return std::tie(host_key, f, signature); }
};

struct PingMsg {
  static constexpr uint8_t kType = kMsgPing;
  Bytes data;
  auto fields() { return std::tie(data); }
};

struct PongMsg {
  static constexpr uint8_t kType = kMsgPong;
  Bytes data;
  auto fields() { return std::tie(data); }
};

}  // namespace postern::net
