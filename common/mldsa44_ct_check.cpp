// Constant-time check of ML-DSA-44's secret-handling code, run under valgrind's memcheck (the
// meson test mldsa44_constant_time): the seed, the secret key and rnd are marked undefined, so
// any branch, table index or address that depends on them (and was not declassified in
// common/mldsa44_declassify.h's sense) is reported as a use of uninitialised data and fails the
// run. Also checks that what it signed verifies, so the run exercises real signatures.
#include <openssl/rand.h>
#include <valgrind/memcheck.h>

#include <cstdio>

#include "common/bytes.h"
#include "common/mldsa44.h"

int main() {
  using namespace postern;
  using namespace postern::mldsa44;
  for (int round = 0; round < 3; ++round) {
    uint8_t seed[kSeedSize], rnd[kRandomizerSize];
    if (RAND_bytes(seed, sizeof seed) != 1 || RAND_bytes(rnd, sizeof rnd) != 1) return 2;
    (void)VALGRIND_MAKE_MEM_UNDEFINED(seed, sizeof seed);
    (void)VALGRIND_MAKE_MEM_UNDEFINED(rnd, sizeof rnd);
    Bytes pk(kPublicKeySize), sk(kSecretKeySize), sig(kSignatureSize);
    keygen_from_seed(pk, sk, seed);
    (void)VALGRIND_MAKE_MEM_DEFINED(pk.data(), pk.size());  // the public key is published
    Bytes message(100 * round, static_cast<uint8_t>(round));
    message.insert(message.begin(), {0, 0});  // M' of pure ML-DSA with an empty context
    sign_internal(sig, sk, message, rnd);
    if (!verify_internal(pk, message, sig)) {
      std::fprintf(stderr, "round %d: the signature does not verify\n", round);
      return 1;
    }
  }
  std::puts("keygen and signing ran on undefined secrets without a secret-dependent branch");
  return 0;
}
