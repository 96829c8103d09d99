// Each cipher and MAC's open path (net/packet_cipher.h) on packets from the wire: the length
// decryption and the authenticated decryption, under fixed keys. The first byte picks the
// cipher, the second the MAC (for the non-AEAD ciphers); the rest is the packet as received.
// Every 4th input is first sealed under the same keys, so open() also runs past the tag check.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "net/packet_cipher.h"
#include "regress/fuzz/fuzz_input.h"

using namespace postern;
using namespace postern::net;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  static const std::vector<std::string> ciphers = supported_ciphers();
  static const std::vector<std::string> macs = supported_macs();
  const CipherInfo* cipher = find_cipher(ciphers[data[0] % ciphers.size()]);
  const MacInfo* mac = cipher->aead ? nullptr : find_mac(macs[data[1] % macs.size()]);
  bool seal_first = (data[0] & 0xc0) == 0xc0;
  static const Bytes key(64, 0x4b);
  static const Bytes iv(32, 0x17);
  static const Bytes mac_key(64, 0x6d);
  auto opener = make_packet_cipher(*cipher, mac, key, iv, mac_key, false);
  Bytes packet(data + 2, data + size);
  size_t tag_len = opener->tag_len();
  if (seal_first) {
    // A well-formed packet: [length][padding length][payload][padding], aligned, then a tag.
    size_t block = opener->block_size();
    size_t body = 5 + packet.size();
    size_t padding = block - ((body - opener->aad_len()) % block);
    if (padding < 4) padding += block;
    Bytes plain(4);
    uint32_t packet_length = static_cast<uint32_t>(1 + packet.size() + padding);
    plain[0] = packet_length >> 24, plain[1] = packet_length >> 16;
    plain[2] = packet_length >> 8, plain[3] = packet_length;
    plain.push_back(static_cast<uint8_t>(padding));
    plain.insert(plain.end(), packet.begin(), packet.end());
    plain.resize(plain.size() + padding, 0);
    auto sealer = make_packet_cipher(*cipher, mac, key, iv, mac_key, true);
    Bytes tag(tag_len);
    sealer->seal(7, plain, tag);
    plain.insert(plain.end(), tag.begin(), tag.end());
    packet = std::move(plain);
  }
  if (packet.size() < opener->length_head_len()) return 0;
  uint32_t length =
      opener->decrypt_length(7, MutableByteView(packet).first(opener->length_head_len()));
  // The transport refuses lengths beyond its maximum before reading that far (transport.cpp);
  // here the packet is what arrived.
  if (size_t{length} + 4 + tag_len != packet.size()) return 0;
  MutableByteView body(packet.data(), packet.size() - tag_len);
  ByteView tag(packet.data() + body.size(), tag_len);
  bool ok = opener->open(7, body, tag);
  if (seal_first) FUZZ_CHECK(ok);
  return 0;
}
