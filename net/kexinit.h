// SSH_MSG_KEXINIT (RFC 4253 §7.1): encoding, parsing and algorithm negotiation.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"

namespace postern::net {

struct KexInit {
  std::array<uint8_t, 16> cookie{};
  std::vector<std::string> kex;
  std::vector<std::string> host_key;
  std::vector<std::string> cipher_c2s, cipher_s2c;
  std::vector<std::string> mac_c2s, mac_s2c;
  std::vector<std::string> comp_c2s, comp_s2c;
  std::vector<std::string> lang_c2s, lang_s2c;
  bool first_kex_packet_follows = false;

  // The whole payload, message number included (it enters the exchange hash as I_C/I_S).
  Bytes encode() const;
  // Throws ProtocolError on malformed input (trailing bytes, overlong lists).
  static KexInit parse(ByteView payload);
};

// Pseudo-algorithms that only signal support and are never negotiated.
inline constexpr const char* kExtInfoClient = "ext-info-c";  // RFC 8308 §2.1
inline constexpr const char* kExtInfoServer = "ext-info-s";
inline constexpr const char* kStrictKexClient = "kex-strict-c-v00@openssh.com";  // PROTOCOL §1.10
inline constexpr const char* kStrictKexServer = "kex-strict-s-v00@openssh.com";

struct Negotiated {
  std::string kex;
  std::string host_key;
  std::string cipher_c2s, cipher_s2c;
  std::string mac_c2s, mac_s2c;  // empty when the cipher is an AEAD
  std::string comp_c2s, comp_s2c;
  // RFC 4253 §7.1: the peer's guessed packet must be ignored when its guess was wrong.
  bool ignore_guessed_packet = false;
};

bool contains(const std::vector<std::string>& list, std::string_view name);

// Negotiates every category (the first client name the server also lists). Throws ProtocolError
// (kKeyExchangeFailed) naming the category when nothing matches, in OpenSSH's words
// ("no matching cipher found: client X server Y").
// `is_aead` tells which ciphers imply their MAC, whose MAC lists are then not negotiated.
Negotiated negotiate(const KexInit& client, const KexInit& server,
                     bool (*is_aead)(std::string_view cipher));

}  // namespace postern::net
