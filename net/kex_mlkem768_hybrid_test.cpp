// mlkem768x25519-sha256 and mlkem768nistp256-sha256: both roles against each other, and each role
// against a peer assembled in the test from ML-KEM-768 and OpenSSL directly, so the wire layout
// (C_INIT = ek || classical, S_REPLY = ciphertext || classical) and K = string(SHA-256(K_PQ ||
// K_CL)) are pinned, not just self-consistent. Then the refusals: wrong lengths, a key failing
// FIPS 203's modulus check, off-curve and low-order classical values.
#include "net/kex_mlkem768_hybrid.h"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "common/bytes.h"
#include "common/ossl.h"
#include "net/mlkem768.h"

namespace postern::net {
namespace {

struct Variant {
  std::string_view name;
  size_t classical_size;  // public value
};
constexpr Variant kVariants[] = {{kMlkem768X25519Name, 32}, {kMlkem768NistP256Name, 65}};

Bytes concat(ByteView a, ByteView b) {
  Bytes out(a.begin(), a.end());
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

// The test's own classical key, made and used through OpenSSL directly.
struct Classical {
  EvpPkeyPtr key;
  explicit Classical(const Variant& v)
      : key(v.classical_size == 32 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519")
                                   : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")) {}
  Bytes public_value(const Variant& v) const {
    Bytes out(v.classical_size);
    size_t len = out.size();
    if (v.classical_size == 32)
      EVP_PKEY_get_raw_public_key(key.get(), out.data(), &len);
    else
      EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, out.data(),
                                      out.size(), &len);
    return out;
  }
  Bytes agree(const Variant& v, ByteView peer_public) const {
    EvpPkeyPtr peer;
    if (v.classical_size == 32) {
      peer.reset(EVP_PKEY_new_raw_public_key_ex(nullptr, "X25519", nullptr, peer_public.data(),
                                                peer_public.size()));
    } else {
      peer.reset(EVP_PKEY_new());
      EVP_PKEY_copy_parameters(peer.get(), key.get());
      EVP_PKEY_set1_encoded_public_key(peer.get(), peer_public.data(), peer_public.size());
    }
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
    Bytes out(32);
    size_t len = out.size();
    EXPECT_EQ(EVP_PKEY_derive_init(ctx.get()), 1);
    EXPECT_EQ(EVP_PKEY_derive_set_peer(ctx.get(), peer.get()), 1);
    EXPECT_EQ(EVP_PKEY_derive(ctx.get(), out.data(), &len), 1);
    EXPECT_EQ(len, 32u);
    return out;
  }
};

// string K: u32 32 || SHA-256(ML-KEM shared secret || classical shared secret).
std::string expected_k(ByteView post_quantum, ByteView classical) {
  Bytes input = concat(post_quantum, classical);
  Bytes digest(32);
  EVP_Digest(input.data(), input.size(), digest.data(), nullptr, EVP_sha256(), nullptr);
  return "00000020" + hex(digest);
}

TEST(KexMlkem768Hybrid, NamesAndHash) {
  for (const auto& v : kVariants) {
    auto kex = make_mlkem768_hybrid_kex(v.name);
    ASSERT_TRUE(kex);
    EXPECT_EQ(kex->name(), v.name);
    EXPECT_EQ(kex->hash(), EVP_sha256());
    EXPECT_FALSE(kex->public_is_mpint());
    EXPECT_EQ(make_kex_method(v.name)->name(), v.name);
  }
  EXPECT_FALSE(make_mlkem768_hybrid_kex("mlkem768x25519-sha512"));
  EXPECT_FALSE(make_mlkem768_hybrid_kex("sntrup761x25519-sha512"));
}

TEST(KexMlkem768Hybrid, ClientAndServerAgree) {
  for (const auto& v : kVariants) {
    for (int trial = 0; trial < 3; ++trial) {
      auto client = make_mlkem768_hybrid_kex(v.name);
      auto server = make_mlkem768_hybrid_kex(v.name);
      Bytes c_init = client->client_public();
      ASSERT_EQ(c_init.size(), 1184 + v.classical_size) << v.name;
      auto reply = server->server_respond(c_init);
      ASSERT_TRUE(reply) << reply.error().message;
      EXPECT_EQ(reply->server_public.size(), 1088 + v.classical_size) << v.name;
      ASSERT_EQ(reply->shared_secret.size(), 36u);
      EXPECT_EQ(hex(reply->shared_secret.view().first(4)), "00000020");
      auto k = client->client_finish(reply->server_public);
      ASSERT_TRUE(k) << k.error().message;
      EXPECT_EQ(hex(*k), hex(reply->shared_secret)) << v.name;
    }
  }
}

// The server against a client built here: its S_REPLY decapsulates and agrees to the K it
// returned.
TEST(KexMlkem768Hybrid, ServerMatchesIndependentClient) {
  for (const auto& v : kVariants) {
    Bytes ek(mlkem768::kEncapsulationKeySize), dk(mlkem768::kDecapsulationKeySize);
    mlkem768::keygen(ek, dk);
    Classical ours(v);
    auto server = make_mlkem768_hybrid_kex(v.name);
    auto reply = server->server_respond(concat(ek, ours.public_value(v)));
    ASSERT_TRUE(reply) << reply.error().message;
    ByteView s_reply = reply->server_public;
    Bytes pq(32);
    mlkem768::decapsulate(pq, dk, s_reply.first(1088));
    Bytes classical = ours.agree(v, s_reply.subspan(1088));
    EXPECT_EQ(hex(reply->shared_secret), expected_k(pq, classical)) << v.name;
  }
}

// The client against a server built here.
TEST(KexMlkem768Hybrid, ClientMatchesIndependentServer) {
  for (const auto& v : kVariants) {
    auto client = make_mlkem768_hybrid_kex(v.name);
    Bytes c_init = client->client_public();
    ByteView view = c_init;
    Bytes ct(1088), pq(32);
    ASSERT_TRUE(mlkem768::encapsulate(ct, pq, view.first(1184)));
    Classical ours(v);
    Bytes classical = ours.agree(v, view.subspan(1184));
    auto k = client->client_finish(concat(ct, ours.public_value(v)));
    ASSERT_TRUE(k) << k.error().message;
    EXPECT_EQ(hex(*k), expected_k(pq, classical)) << v.name;
  }
}

TEST(KexMlkem768Hybrid, WrongLengthsAreErrors) {
  for (const auto& v : kVariants) {
    auto client = make_mlkem768_hybrid_kex(v.name);
    auto server = make_mlkem768_hybrid_kex(v.name);
    Bytes c_init = client->client_public();
    for (size_t n : {size_t{0}, size_t{32}, size_t{1184}, c_init.size() - 1, c_init.size() + 1}) {
      Bytes bad(c_init.begin(), c_init.begin() + std::min(n, c_init.size()));
      bad.resize(n, 0x04);
      EXPECT_FALSE(server->server_respond(bad)) << v.name << " " << n;
    }
    auto reply = server->server_respond(c_init);
    ASSERT_TRUE(reply);
    Bytes short_reply(reply->server_public.begin(), reply->server_public.end() - 1);
    EXPECT_FALSE(client->client_finish(short_reply)) << v.name;
    EXPECT_FALSE(make_mlkem768_hybrid_kex(v.name)->client_finish(reply->server_public));
  }
}

// FIPS 203 §7.2: an encapsulation key with a coefficient >= q is refused with an error.
TEST(KexMlkem768Hybrid, NonCanonicalEncapsulationKeyRefused) {
  for (const auto& v : kVariants) {
    Bytes c_init = make_mlkem768_hybrid_kex(v.name)->client_public();
    c_init[0] = 0xff;
    c_init[1] |= 0x0f;
    auto r = make_mlkem768_hybrid_kex(v.name)->server_respond(c_init);
    ASSERT_FALSE(r) << v.name;
    EXPECT_NE(r.error().message.find("modulus check"), std::string::npos) << r.error().message;
  }
}

TEST(KexMlkem768Hybrid, BadClassicalValuesRefused) {
  // X25519 u = 0 is of low order: the all-zero secret is refused.
  Bytes c_init = make_mlkem768_hybrid_kex(kMlkem768X25519Name)->client_public();
  std::fill(c_init.end() - 32, c_init.end(), 0);
  EXPECT_FALSE(make_mlkem768_hybrid_kex(kMlkem768X25519Name)->server_respond(c_init));
  // P-256: a point off the curve, and a compressed-form prefix.
  Bytes p_init = make_mlkem768_hybrid_kex(kMlkem768NistP256Name)->client_public();
  Bytes off_curve = p_init;
  off_curve.back() ^= 0x01;
  EXPECT_FALSE(make_mlkem768_hybrid_kex(kMlkem768NistP256Name)->server_respond(off_curve));
  Bytes compressed = p_init;
  compressed[1184] = 0x02;
  EXPECT_FALSE(make_mlkem768_hybrid_kex(kMlkem768NistP256Name)->server_respond(compressed));
}

// A tampered ciphertext is not detected by the KEM (implicit rejection): the keys differ and the
// exchange hash's signature check fails later.
TEST(KexMlkem768Hybrid, TamperedCiphertextGivesDifferentKey) {
  for (const auto& v : kVariants) {
    auto client = make_mlkem768_hybrid_kex(v.name);
    auto server = make_mlkem768_hybrid_kex(v.name);
    auto reply = server->server_respond(client->client_public());
    ASSERT_TRUE(reply);
    Bytes tampered = reply->server_public;
    tampered[100] ^= 0x80;
    auto k = client->client_finish(tampered);
    ASSERT_TRUE(k);
    EXPECT_NE(hex(*k), hex(reply->shared_secret)) << v.name;
  }
}

// Whatever a peer sends, each role answers with a result or an error, never a crash: random
// bytes of every length near the real ones, and real messages with random bytes overwritten.
TEST(KexMlkem768Hybrid, RandomPeerValuesAreAnsweredNotFatal) {
  uint32_t state = 12345;
  auto next = [&state] {
    state = state * 1103515245u + 12345u;
    return static_cast<uint8_t>(state >> 16);
  };
  for (const auto& v : kVariants) {
    auto donor = make_mlkem768_hybrid_kex(v.name);
    Bytes real_init = donor->client_public();
    auto real_reply = make_mlkem768_hybrid_kex(v.name)->server_respond(real_init);
    ASSERT_TRUE(real_reply);
    for (int i = 0; i < 60; ++i) {
      Bytes init = real_init;
      if (i % 2) init.resize(1184 + v.classical_size - 2 + i % 5);
      for (int j = 0; j < 1 + i; ++j) init[next() * init.size() / 256] = next();
      auto r = make_mlkem768_hybrid_kex(v.name)->server_respond(init);
      if (r) {
        EXPECT_EQ(r->server_public.size(), 1088 + v.classical_size);
      }

      Bytes reply = real_reply->server_public;
      if (i % 2) reply.resize(1088 + v.classical_size - 2 + i % 5);
      for (int j = 0; j < 1 + i; ++j) reply[next() * reply.size() / 256] = next();
      auto client = make_mlkem768_hybrid_kex(v.name);
      client->client_public();
      auto k = client->client_finish(reply);
      if (k) {
        EXPECT_EQ(k->size(), 36u);
      }
    }
  }
}

}  // namespace
}  // namespace postern::net
