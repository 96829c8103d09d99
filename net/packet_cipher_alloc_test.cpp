// The data path must not allocate per packet (TEAM.md): count heap allocations, ours and
// OpenSSL's separately, while sealing and opening packets with ciphers that are already set up.
// The one known exception is inside OpenSSL 3.0: restarting an HMAC (or any digest) context
// duplicates the provider's digest state on the heap, twice per tag. OpenSSH pays the same.
#include <gtest/gtest.h>
#include <openssl/crypto.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "net/heap_counter_test_support.h"
#include "net/packet_cipher.h"

namespace {

std::atomic<long> g_ossl_allocs{0};  // OpenSSL's allocator

void* counting_malloc(size_t n, const char*, int) {
  ++g_ossl_allocs;
  return std::malloc(n);
}
void* counting_realloc(void* p, size_t n, const char*, int) {
  ++g_ossl_allocs;
  return std::realloc(p, n);
}
void counting_free(void* p, const char*, int) {
  std::free(p);
}

// Must run before OpenSSL allocates anything, so it is a static initialiser.
const bool g_hooked = CRYPTO_set_mem_functions(counting_malloc, counting_realloc, counting_free);

}  // namespace

namespace postern::net {
namespace {

TEST(PacketCipherAlloc, NoHeapAllocationPerPacket) {
  ASSERT_TRUE(g_hooked);
  std::vector<std::pair<const CipherInfo*, const MacInfo*>> combos;
  for (const auto& c : supported_ciphers()) {
    const CipherInfo* ci = find_cipher(c);
    if (ci->aead)
      combos.push_back({ci, nullptr});
    else
      for (const auto& m : supported_macs()) combos.push_back({ci, find_mac(m)});
  }
  for (auto [cipher, mac] : combos) {
    SCOPED_TRACE(std::string(cipher->name) + (mac ? " " + std::string(mac->name) : ""));
    Bytes key(cipher->key_len, 1), iv(cipher->iv_len, 2), mac_key(64, 3);
    auto tx = make_packet_cipher(*cipher, mac, key, iv, mac_key, true);
    auto rx = make_packet_cipher(*cipher, mac, key, iv, mac_key, false);
    // Whole cipher blocks after the associated data, as the transport pads (CBC insists).
    Bytes pkt(tx->aad_len() + 2048, 0);
    Bytes tag(tx->tag_len());
    uint32_t len = uint32_t(pkt.size() - 4);
    auto one = [&](uint32_t seq) {
      pkt[0] = uint8_t(len >> 24), pkt[1] = uint8_t(len >> 16), pkt[2] = uint8_t(len >> 8),
      pkt[3] = uint8_t(len);
      tx->seal(seq, pkt, tag);
      rx->decrypt_length(seq, MutableByteView(pkt).first(rx->length_head_len()));
      ASSERT_TRUE(rx->open(seq, pkt, tag));
    };
    one(0);  // lets lazily created state appear before counting
    long before = test_support::g_heap_allocations.load(), ossl_before = g_ossl_allocs.load();
    const long packets = 49;
    for (uint32_t seq = 1; seq <= packets; ++seq) one(seq);
    EXPECT_EQ(test_support::g_heap_allocations.load() - before, 0);
    bool hmac = mac != nullptr && std::string_view(mac->name).starts_with("hmac-");
    EXPECT_LE(g_ossl_allocs.load() - ossl_before, hmac ? 2 * 2 * packets : 0);
  }
}

}  // namespace
}  // namespace postern::net
