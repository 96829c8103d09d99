// The algorithm tables, the factory and the handoff format for packet ciphers.
#include "net/packet_cipher.h"

#include <array>
#include <stdexcept>
#include <string>

#include "common/protocol_error.h"
#include "common/wire.h"
#include "net/packet_cipher_impl.h"

namespace postern::net {

namespace {

// OpenSSH 9.2's default cipher order (ssh_config(5) Ciphers); then the CBC modes it still
// supports but never offers unless configured (`ssh -Q cipher`; RFC 4253 §6.3 names, key and
// IV lengths); then "none", which exists only as the initial state and is never offered.
constexpr std::array<CipherInfo, 11> kCiphers = {{
    {"chacha20-poly1305@openssh.com", 64, 0, 8, true},
    {"aes128-ctr", 16, 16, 16, false},
    {"aes192-ctr", 24, 16, 16, false},
    {"aes256-ctr", 32, 16, 16, false},
    {"aes128-gcm@openssh.com", 16, 12, 16, true},
    {"aes256-gcm@openssh.com", 32, 12, 16, true},
    {"aes128-cbc", 16, 16, 16, false},
    {"aes192-cbc", 24, 16, 16, false},
    {"aes256-cbc", 32, 16, 16, false},
    {"3des-cbc", 24, 8, 8, false},
    {"none", 0, 0, 8, false},
}};
constexpr size_t kDefaultCiphers = 6;
constexpr size_t kSupportedCiphers = 10;

// OpenSSH 9.2's default MAC order (ssh_config(5) MACs) first; then the MACs it still accepts when
// configured (RFC 4253 §6.4's -96 and MD5 forms), which are never offered by default.
constexpr std::array<MacInfo, 16> kMacs = {{
    {"umac-64-etm@openssh.com", 16, 8, true},
    {"umac-128-etm@openssh.com", 16, 16, true},
    {"hmac-sha2-256-etm@openssh.com", 32, 32, true},
    {"hmac-sha2-512-etm@openssh.com", 64, 64, true},
    {"hmac-sha1-etm@openssh.com", 20, 20, true},
    {"umac-64@openssh.com", 16, 8, false},
    {"umac-128@openssh.com", 16, 16, false},
    {"hmac-sha2-256", 32, 32, false},
    {"hmac-sha2-512", 64, 64, false},
    {"hmac-sha1", 20, 20, false},
    {"hmac-sha1-96", 20, 12, false},
    {"hmac-md5", 16, 16, false},
    {"hmac-md5-96", 16, 12, false},
    {"hmac-sha1-96-etm@openssh.com", 20, 12, true},
    {"hmac-md5-etm@openssh.com", 16, 16, true},
    {"hmac-md5-96-etm@openssh.com", 16, 12, true},
}};
constexpr size_t kDefaultMacs = 10;
constexpr size_t kMacCount = kMacs.size();

constexpr std::string_view kStateMagic = "postern-packet-cipher-v1";

}  // namespace

const CipherInfo* find_cipher(std::string_view name) {
  for (const auto& c : kCiphers)
    if (c.name == name) return &c;
  return nullptr;
}

const MacInfo* find_mac(std::string_view name) {
  for (size_t i = 0; i < kMacCount; ++i)
    if (kMacs[i].name == name) return &kMacs[i];
  return nullptr;
}

std::vector<std::string> supported_ciphers() {
  std::vector<std::string> out;
  for (size_t i = 0; i < kSupportedCiphers; ++i) out.emplace_back(kCiphers[i].name);
  return out;
}

std::vector<std::string> default_macs() {
  std::vector<std::string> out;
  for (size_t i = 0; i < kDefaultMacs; ++i) out.emplace_back(kMacs[i].name);
  return out;
}

std::vector<std::string> default_ciphers() {
  std::vector<std::string> out;
  for (size_t i = 0; i < kDefaultCiphers; ++i) out.emplace_back(kCiphers[i].name);
  return out;
}

std::vector<std::string> supported_macs() {
  std::vector<std::string> out;
  for (size_t i = 0; i < kMacCount; ++i) out.emplace_back(kMacs[i].name);
  return out;
}

std::unique_ptr<PacketCipher> make_packet_cipher(const CipherInfo& cipher, const MacInfo* mac,
                                                 ByteView key, ByteView iv, ByteView mac_key,
                                                 bool encrypt) {
  const CipherInfo* known = find_cipher(cipher.name);
  if (known == nullptr)
    throw std::invalid_argument("unsupported cipher " + std::string(cipher.name));
  if (key.size() < known->key_len || iv.size() < known->iv_len)
    throw std::invalid_argument("cipher key or IV too short");
  key = key.first(known->key_len);
  iv = iv.first(known->iv_len);
  if (known->name == "chacha20-poly1305@openssh.com")
    return detail::make_chacha20_poly1305(*known, key, encrypt);
  if (known->aead) return detail::make_aes_gcm(*known, key, iv, encrypt);
  // PROTOCOL §1.6 and PROTOCOL.chacha20poly1305: the MAC is ignored for AEAD ciphers; for the
  // others one was negotiated (only the unprotected initial state has none).
  const MacInfo* known_mac = nullptr;
  if (mac != nullptr) {
    known_mac = find_mac(mac->name);
    if (known_mac == nullptr)
      throw std::invalid_argument("unsupported MAC " + std::string(mac->name));
    if (mac_key.size() < known_mac->key_len) throw std::invalid_argument("MAC key too short");
    mac_key = mac_key.first(known_mac->key_len);
  } else if (known->name != "none") {
    throw std::invalid_argument("a non-AEAD cipher needs a MAC");
  }
  if (detail::is_cbc(*known))
    return detail::make_cbc_mac(*known, *known_mac, key, iv, mac_key, encrypt);
  return detail::make_cipher_mac(*known, known_mac, key, iv, mac_key, encrypt, 0);
}

std::unique_ptr<PacketCipher> make_null_cipher() {
  return detail::make_cipher_mac(*find_cipher("none"), nullptr, {}, {}, {}, true, 0);
}

SecretBytes detail::encode_state(const CipherInfo& cipher, const MacInfo* mac, bool encrypt,
                                 ByteView key, ByteView iv, ByteView mac_key, uint32_t skip) {
  SecretBytes out;
  SecretWriter w(out);
  w.string(kStateMagic)
      .string(cipher.name)
      .string(mac ? mac->name : std::string_view())
      .boolean(encrypt)
      .string(key)
      .string(iv)
      .string(mac_key)
      .u32(skip);
  return out;
}

std::unique_ptr<PacketCipher> import_packet_cipher(ByteView state) {
  Reader r(state);
  if (r.text(64) != kStateMagic) throw ProtocolError("packet cipher state: bad version");
  const CipherInfo* cipher = find_cipher(r.text(64));
  if (cipher == nullptr) throw ProtocolError("packet cipher state: unknown cipher");
  std::string_view mac_name = r.text(64);
  const MacInfo* mac = nullptr;
  if (!mac_name.empty()) {
    mac = find_mac(mac_name);
    if (mac == nullptr) throw ProtocolError("packet cipher state: unknown MAC");
  }
  bool encrypt = r.boolean();
  ByteView key = r.string(64);
  ByteView iv = r.string(16);
  ByteView mac_key = r.string(64);
  uint32_t skip = r.u32();
  r.expect_done("packet cipher state");

  if (key.size() != cipher->key_len || iv.size() != cipher->iv_len)
    throw ProtocolError("packet cipher state: bad key or IV length");
  if (cipher->name == "chacha20-poly1305@openssh.com") {
    if (mac != nullptr || !mac_key.empty() || skip != 0)
      throw ProtocolError("packet cipher state: malformed");
    return detail::make_chacha20_poly1305(*cipher, key, encrypt);
  }
  if (cipher->aead) {
    if (mac != nullptr || !mac_key.empty() || skip != 0)
      throw ProtocolError("packet cipher state: malformed");
    return detail::make_aes_gcm(*cipher, key, iv, encrypt);
  }
  if (mac == nullptr ? (!mac_key.empty() || cipher->name != "none")
                     : mac_key.size() != mac->key_len)
    throw ProtocolError("packet cipher state: bad MAC");
  if (detail::is_cbc(*cipher)) {
    // The chaining value sits in the IV; there is no position inside a block.
    if (skip != 0) throw ProtocolError("packet cipher state: bad stream position");
    return detail::make_cbc_mac(*cipher, *mac, key, iv, mac_key, encrypt);
  }
  if (skip >= 16 || (skip != 0 && cipher->name == "none"))
    throw ProtocolError("packet cipher state: bad stream position");
  return detail::make_cipher_mac(*cipher, mac, key, iv, mac_key, encrypt, skip);
}

}  // namespace postern::net
