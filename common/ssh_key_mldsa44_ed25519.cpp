// ssh-mldsa44-ed25519@openssh.com, OpenSSH 10.5's post-quantum hybrid key type
// (draft-miller-sshm-mldsa44-ed25519-composite-sigs-00): the MLDSA44-Ed25519-SHA512 composite of
// the LAMPS composite ML-DSA draft (draft-ietf-lamps-pq-composite-sigs). ML-DSA-44 (FIPS 204,
// common/mldsa44.h) and Ed25519 (RFC 8032, OpenSSL) each sign one message representative M', and
// a signature verifies only if both halves do.
//
// OpenSSL 3.0 cannot hold an ML-DSA key, so a key of this family is its Ed25519 half as an
// EVP_PKEY carrying the ML-DSA half (MlDsaHalf) as ex_data, freed with it: PublicKey, PrivateKey
// and the table's operations keep passing one EVP_PKEY*, and `holds` tells public_blob_of that
// this Ed25519 key is the composite's.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <memory>
#include <stdexcept>
#include <string_view>

#include "common/mldsa44.h"
#include "common/ssh_key_family.h"
#include "common/ssh_key_openssl.h"

namespace postern::keys {
namespace {

constexpr size_t kEd25519Len = 32;     // public key and seed (RFC 8032 §5.1.5)
constexpr size_t kEd25519SigLen = 64;  // RFC 8032 §5.1.6
// The draft's "Public Key Format": string type, string (ML-DSA-44 pk || Ed25519 pk).
constexpr size_t kPublicLen = mldsa44::kPublicKeySize + kEd25519Len;
// The draft's signature: string type, string (ML-DSA-44 signature || Ed25519 signature).
constexpr size_t kSignatureLen = mldsa44::kSignatureSize + kEd25519SigLen;
// The openssh-key-v1 record (PROTOCOL.key, shaped as ssh-ed25519's: the public string, then the
// secret string): string (ML-DSA-44 pk || Ed25519 pk), string (ML-DSA-44 seed xi || Ed25519
// seed). Both halves are kept as their seeds, ML-DSA first as in the public key; the expanded
// ML-DSA key (FIPS 204 Algorithm 6) is derived on load and never written.
constexpr size_t kSeedsLen = mldsa44::kSeedSize + kEd25519Len;

// LAMPS composite ML-DSA, "Prefix" and the MLDSA44-Ed25519-SHA512 row of its label table.
constexpr std::string_view kPrefix = "CompositeAlgorithmSignatures2025";
constexpr std::string_view kLabel = "COMPSIG-MLDSA44-Ed25519-SHA512";

struct MlDsaHalf {
  Bytes public_key;        // pk (FIPS 204 Algorithm 22 encoding)
  SecretBytes seed;        // xi; empty in a public key
  SecretBytes secret_key;  // sk expanded from xi; empty in a public key
};

void free_half(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<MlDsaHalf*>(ptr);
}

int half_index() {
  static const int index = EVP_PKEY_get_ex_new_index(0, nullptr, nullptr, nullptr, free_half);
  return index;
}

const MlDsaHalf* half_of(EVP_PKEY* pkey) {
  if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519) return nullptr;
  return static_cast<const MlDsaHalf*>(EVP_PKEY_get_ex_data(pkey, half_index()));
}

// Hands `half` to `ed25519` (which then owns it); a null key without an error if that fails.
Result<EvpPkeyPtr> joined(EvpPkeyPtr ed25519, std::unique_ptr<MlDsaHalf> half) {
  if (!ed25519) return Unexpected(ossl_error("bad Ed25519 key"));
  if (half_index() < 0 || !EVP_PKEY_set_ex_data(ed25519.get(), half_index(), half.get()))
    return EvpPkeyPtr();
  half.release();
  return ed25519;
}

// M' = Prefix || Label || len(ctx) || ctx || SHA512(M) (LAMPS composite ML-DSA, "Sign"); SSH
// signs with an empty composite context, so len(ctx) is the one byte 0.
Bytes representative(ByteView message) {
  uint8_t digest[SHA512_DIGEST_LENGTH];
  SHA512(message.data(), message.size(), digest);
  Writer w;
  w.raw(as_bytes(kPrefix)).raw(as_bytes(kLabel)).u8(0).raw(ByteView(digest, sizeof digest));
  return w.take();
}

Result<EvpPkeyPtr> read_public(const KeyTypeInfo&, Reader& r) {
  ByteView pk = r.string(2 * kPublicLen);
  if (pk.size() != kPublicLen) return Unexpected("bad ML-DSA-44/Ed25519 public key length");
  auto half = std::make_unique<MlDsaHalf>();
  half->public_key.assign(pk.begin(), pk.begin() + mldsa44::kPublicKeySize);
  ByteView ed = pk.subspan(mldsa44::kPublicKeySize);
  return joined(
      EvpPkeyPtr(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, ed.data(), ed.size())),
      std::move(half));
}

// ML-DSA-44 pk || Ed25519 pk of a key this family holds.
Result<Bytes> public_fields(EVP_PKEY* pkey) {
  const MlDsaHalf* half = half_of(pkey);
  if (!half) return Unexpected("not an ML-DSA-44/Ed25519 key");
  Bytes out = half->public_key;
  out.resize(kPublicLen);
  size_t len = kEd25519Len;
  if (!EVP_PKEY_get_raw_public_key(pkey, out.data() + mldsa44::kPublicKeySize, &len) ||
      len != kEd25519Len)
    return Unexpected(ossl_error("cannot read Ed25519 public key"));
  return out;
}

Result<Bytes> public_blob(EVP_PKEY* pkey, KeyType& type_out) {
  auto fields = public_fields(pkey);
  if (!fields) return fields;
  type_out = KeyType::kMlDsa44Ed25519;
  Writer w;
  w.string(info(KeyType::kMlDsa44Ed25519).name).string(ByteView(*fields));
  return w.take();
}

bool holds(EVP_PKEY* pkey) {
  return half_of(pkey) != nullptr;
}

// The key pair both seeds make (ML-DSA-44 KeyGen_internal from xi, Ed25519 from its seed).
Result<EvpPkeyPtr> from_seeds(ByteView seeds) {
  auto half = std::make_unique<MlDsaHalf>();
  half->seed = SecretBytes(seeds.first(mldsa44::kSeedSize));
  half->public_key.resize(mldsa44::kPublicKeySize);
  half->secret_key.resize(mldsa44::kSecretKeySize);
  mldsa44::keygen_from_seed(half->public_key, half->secret_key.mutable_view(), half->seed);
  ByteView ed = seeds.subspan(mldsa44::kSeedSize);
  return joined(
      EvpPkeyPtr(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, ed.data(), ed.size())),
      std::move(half));
}

Result<EvpPkeyPtr> read_private(const KeyTypeInfo&, Reader& r) {
  ByteView pk = r.string(2 * kPublicLen), seeds = r.string(2 * kSeedsLen);
  if (pk.size() != kPublicLen || seeds.size() != kSeedsLen)
    return Unexpected("bad ML-DSA-44/Ed25519 private key lengths");
  auto key = from_seeds(seeds);
  if (!key || !*key) return key;
  // Both public halves follow from the seeds: a record whose public string differs is corrupt.
  auto derived = public_fields(key->get());
  if (!derived) return Unexpected(derived.error());
  if (!equal_ct(*derived, pk))
    return Unexpected("ML-DSA-44/Ed25519 private key does not match its public half");
  return key;
}

void write_private(const KeyTypeInfo&, EVP_PKEY* pkey, SecretWriter& w) {
  const MlDsaHalf* half = half_of(pkey);
  auto pk = public_fields(pkey);
  // Never reached otherwise: PrivateKey holds this family's keys only as from_seeds/generate
  // made them, each with its seeds.
  if (!half || !pk || half->seed.size() != mldsa44::kSeedSize)
    throw std::logic_error("ML-DSA-44/Ed25519 key without its seeds");
  SecretBytes seeds(kSeedsLen);
  std::copy(half->seed.view().begin(), half->seed.view().end(), seeds.data());
  size_t len = kEd25519Len;
  EVP_PKEY_get_raw_private_key(pkey, seeds.data() + mldsa44::kSeedSize, &len);
  w.string(ByteView(*pk)).string(seeds.view());
}

bool verify(const KeyTypeInfo&, const VerifyInput& in) {
  const MlDsaHalf* half = half_of(in.pkey);
  if (!half || in.signature.size() != kSignatureLen) return false;
  Bytes m = representative(in.data);
  // Composite verification: the ML-DSA half with the label as its FIPS 204 context, the Ed25519
  // half over M' itself; both must hold.
  bool pq = mldsa44::verify(half->public_key, m, as_bytes(kLabel),
                            in.signature.first(mldsa44::kSignatureSize));
  bool classical = evp_verify(in.pkey, nullptr, in.signature.subspan(mldsa44::kSignatureSize), m);
  return pq && classical;
}

Result<Bytes> sign(const KeyTypeInfo&, EVP_PKEY* pkey, std::string_view, ByteView data) {
  const MlDsaHalf* half = half_of(pkey);
  if (!half || half->secret_key.size() != mldsa44::kSecretKeySize)
    return Unexpected("not an ML-DSA-44/Ed25519 private key");
  Bytes m = representative(data);
  Bytes sig(mldsa44::kSignatureSize);
  if (!mldsa44::sign(sig, half->secret_key, m, as_bytes(kLabel)))
    return Unexpected("ML-DSA-44 signing failed");
  auto ed = evp_sign(pkey, nullptr, m);
  if (!ed) return ed;
  if (ed->size() != kEd25519SigLen) return Unexpected("Ed25519 signing failed");
  sig.insert(sig.end(), ed->begin(), ed->end());
  return sig;
}

Result<EvpPkeyPtr> generate(const KeyTypeInfo&, int) {
  // Both halves are their seeds (ML-DSA.KeyGen, FIPS 204 Algorithm 1, is KeyGen_internal of 32
  // random bytes; an Ed25519 private key is 32 random bytes, RFC 8032 §5.1.5).
  SecretBytes seeds(kSeedsLen);
  if (RAND_bytes(seeds.data(), int(seeds.size())) != 1)
    return Unexpected(ossl_error("RAND_bytes failed"));
  return from_seeds(seeds);
}

}  // namespace

const KeyFamily kMlDsa44Ed25519Family = {
    .evp_id = EVP_PKEY_ED25519,
    .read_public = read_public,
    .public_blob = public_blob,
    .read_private = read_private,
    .write_private = write_private,
    .signature_algorithms = type_name_algorithm,
    .verify = verify,
    .sign = sign,
    .generate = generate,
    .holds = holds,
};

}  // namespace postern::keys
