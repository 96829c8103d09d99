// SSH message numbers, the one place they are defined: RFC 4250 §4.1 for the transport,
// userauth and connection protocols, the key-exchange method numbers from the RFC of each
// method, and OpenSSH's PING/PONG. Every process that reads or writes a message names it here.
#pragma once

#include <cstdint>

namespace postern {

// Transport layer generic (RFC 4250 §4.1.2, RFC 4253 §11, §12).
inline constexpr uint8_t kMsgDisconnect = 1;
inline constexpr uint8_t kMsgIgnore = 2;
inline constexpr uint8_t kMsgUnimplemented = 3;
inline constexpr uint8_t kMsgDebug = 4;
inline constexpr uint8_t kMsgServiceRequest = 5;
inline constexpr uint8_t kMsgServiceAccept = 6;
inline constexpr uint8_t kMsgExtInfo = 7;  // RFC 8308 §2.3

// Algorithm negotiation (RFC 4253 §7).
inline constexpr uint8_t kMsgKexInit = 20;
inline constexpr uint8_t kMsgNewKeys = 21;

// 30..49 belong to the key-exchange method in use (RFC 4250 §4.1.2), so the same number means
// different messages per method.
inline constexpr uint8_t kMsgKexFirst = 30;
inline constexpr uint8_t kMsgKexLast = 49;
// ECDH (RFC 5656 §7.1), and with the same numbers DH (RFC 4253 §8), curve25519 (RFC 8731 §3)
// and the hybrid methods.
inline constexpr uint8_t kMsgKexEcdhInit = 30;
inline constexpr uint8_t kMsgKexEcdhReply = 31;
// Diffie-Hellman group exchange (RFC 4419 §5).
inline constexpr uint8_t kMsgKexGexGroup = 31;
inline constexpr uint8_t kMsgKexGexInit = 32;
inline constexpr uint8_t kMsgKexGexReply = 33;
inline constexpr uint8_t kMsgKexGexRequest = 34;

// User authentication (RFC 4252 §6).
inline constexpr uint8_t kMsgUserauthRequest = 50;
inline constexpr uint8_t kMsgUserauthFailure = 51;
inline constexpr uint8_t kMsgUserauthSuccess = 52;
inline constexpr uint8_t kMsgUserauthBanner = 53;
// 60..79 belong to the authentication method: publickey's PK_OK (RFC 4252 §7) and
// keyboard-interactive's INFO_REQUEST (RFC 4256 §3.2) share 60.
inline constexpr uint8_t kMsgUserauthPkOk = 60;
inline constexpr uint8_t kMsgUserauthInfoRequest = 60;
inline constexpr uint8_t kMsgUserauthInfoResponse = 61;  // RFC 4256 §3.4

// Connection protocol (RFC 4254 §9).
inline constexpr uint8_t kMsgGlobalRequest = 80;
inline constexpr uint8_t kMsgRequestSuccess = 81;
inline constexpr uint8_t kMsgRequestFailure = 82;
inline constexpr uint8_t kMsgChannelOpen = 90;
inline constexpr uint8_t kMsgChannelOpenConfirmation = 91;
inline constexpr uint8_t kMsgChannelOpenFailure = 92;
inline constexpr uint8_t kMsgChannelWindowAdjust = 93;
inline constexpr uint8_t kMsgChannelData = 94;
inline constexpr uint8_t kMsgChannelExtendedData = 95;
inline constexpr uint8_t kMsgChannelEof = 96;
inline constexpr uint8_t kMsgChannelClose = 97;
inline constexpr uint8_t kMsgChannelRequest = 98;
inline constexpr uint8_t kMsgChannelSuccess = 99;
inline constexpr uint8_t kMsgChannelFailure = 100;

// Transport keepalive and traffic analysis resistance (OpenSSH PROTOCOL §2.4).
inline constexpr uint8_t kMsgPing = 192;
inline constexpr uint8_t kMsgPong = 193;

}  // namespace postern
