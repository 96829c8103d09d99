// Test support for the sntrup761 known-answer tests: the entries of net/sntrup761_kat.rsp and the
// deterministic randombytes() of NIST's PQC KAT harness, so the published values can be
// reproduced through the normal key generation and encapsulation.
#pragma once

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/ossl.h"
#include "net/sntrup761.h"

namespace postern::net::sntrup761 {

// NIST's PQC KAT randombytes(): AES-256 CTR_DRBG without derivation function (SP 800-90A
// 10.2.1), instantiated with a 48-byte seed and no personalisation; each request is followed by
// an update with no additional input.
class NistDrbg final : public RandomSource {
 public:
  explicit NistDrbg(ByteView seed) {
    EXPECT_EQ(seed.size(), 48u);
    std::memset(m_key, 0, sizeof m_key);
    std::memset(m_v, 0, sizeof m_v);
    update(seed.data());
  }

  void fill(MutableByteView out) override {
    size_t pos = 0;
    while (pos < out.size()) {
      uint8_t block[16];
      increment_v();
      encrypt(m_v, block);
      size_t n = std::min<size_t>(16, out.size() - pos);
      std::memcpy(out.data() + pos, block, n);
      pos += n;
    }
    update(nullptr);
  }

 private:
  void increment_v() {
    for (int j = 15; j >= 0; --j) {
      if (++m_v[j] != 0) break;
    }
  }

  void encrypt(const uint8_t in[16], uint8_t out[16]) {
    EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    int len = 0;
    ASSERT_TRUE(ctx);
    ASSERT_EQ(EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_ecb(), nullptr, m_key, nullptr), 1);
    EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
    ASSERT_EQ(EVP_EncryptUpdate(ctx.get(), out, &len, in, 16), 1);
    ASSERT_EQ(len, 16);
  }

  void update(const uint8_t* provided) {
    uint8_t temp[48];
    for (int i = 0; i < 3; ++i) {
      increment_v();
      encrypt(m_v, temp + 16 * i);
    }
    if (provided) {
      for (int i = 0; i < 48; ++i) temp[i] ^= provided[i];
    }
    std::memcpy(m_key, temp, 32);
    std::memcpy(m_v, temp + 32, 16);
  }

  uint8_t m_key[32];
  uint8_t m_v[16];
};

struct Kat {
  Bytes seed, pk, sk, ct, ss;
};

inline std::vector<Kat> load_kats() {
  const char* root = std::getenv("POSTERN_SOURCE_ROOT");
  std::string path = std::string(root ? root : ".") + "/net/sntrup761_kat.rsp";
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<Kat> kats;
  std::map<std::string, Bytes> fields;
  std::string line;
  auto flush = [&] {
    if (fields.empty()) return;
    kats.push_back({fields["seed"], fields["pk"], fields["sk"], fields["ct"], fields["ss"]});
    fields.clear();
  };
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t eq = line.find(" = ");
    if (eq == std::string::npos) continue;
    std::string name = line.substr(0, eq);
    if (name == "count") {
      flush();
      continue;
    }
    fields[name] = from_hex(line.substr(eq + 3));
  }
  flush();
  return kats;
}

}  // namespace postern::net::sntrup761
