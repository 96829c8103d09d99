// ML-DSA-44 verification of hostile input (FIPS 204 Algorithm 3): a signature, message, context
// and optionally a public key, as fuzz_input.h frames. Without a fourth frame the key is a fixed
// one the seed corpus (make_corpus.py) signed with, so mutations start from real signatures.
// Verification must refuse every wrong length and over-long context, never read out of bounds
// (ASan) and give the same answer twice.
#include <cstddef>
#include <cstdint>

#include "common/mldsa44.h"
#include "regress/fuzz/fuzz_input.h"

using namespace postern;

namespace {

// The key of make_corpus.py's mldsa44_verify seeds: the seed 32 bytes of 0x42.
const Bytes& fixed_public_key() {
  static const Bytes pk = [] {
    Bytes pk(mldsa44::kPublicKeySize), sk(mldsa44::kSecretKeySize);
    mldsa44::keygen_from_seed(pk, sk, Bytes(mldsa44::kSeedSize, 0x42));
    return pk;
  }();
  return pk;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto frames = fuzz::split_frames(data, size);
  frames.resize(4);  // missing frames are empty
  ByteView sig = frames[0], message = frames[1], context = frames[2];
  ByteView pk = frames[3].empty() ? ByteView(fixed_public_key()) : frames[3];
  bool valid = mldsa44::verify(pk, message, context, sig);
  if (sig.size() != mldsa44::kSignatureSize || pk.size() != mldsa44::kPublicKeySize ||
      context.size() > mldsa44::kMaxContextSize)
    FUZZ_CHECK(!valid);
  FUZZ_CHECK(mldsa44::verify(pk, message, context, sig) == valid);
  return 0;
}
