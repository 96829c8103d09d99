// PublicKey and PrivateKey (common/ssh_key.h) over the key type table (ssh_key_family.h): the
// checks and framing every key type shares, with the per-type formats left to the families.
#include "common/ssh_key.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cctype>
#include <cstring>
#include <fstream>

#include "common/private_key_formats.h"
#include "common/sk_provider.h"
#include "common/ssh_key_family.h"
#include "common/ssh_key_openssl.h"
#include "common/wire.h"

namespace postern {

using keys::info;
using keys::KeyTypeInfo;

namespace {

// Bounds the FIDO application string of security keys (typically "ssh:").
constexpr size_t kMaxSkApplication = 1024;

std::string_view trim(std::string_view s) {
  while (!s.empty() && isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

// ---- PublicKey -------------------------------------------------------------------------------

Result<PublicKey> PublicKey::from_blob(ByteView blob) {
  try {
    Reader r(blob);
    std::string_view name = r.text(64);
    auto key = read_fields(name, r);
    if (key) r.expect_done("public key blob");
    return key;
  } catch (const ProtocolError& e) {
    ERR_clear_error();
    return Unexpected(std::string("malformed public key blob: ") + e.what());
  }
}

Result<PublicKey> PublicKey::read_fields(std::string_view type_name, Reader& r) {
  const KeyTypeInfo* ki = keys::info_by_name(type_name);
  if (!ki) return Unexpected("unknown key type " + std::string(type_name));
  // The fields are kept verbatim for the blob: a copy of the reader marks where they start.
  const Reader start = r;
  PublicKey key;
  auto pkey = ki->family->read_public(*ki, r);
  if (!pkey) return Unexpected(pkey.error());
  // PROTOCOL.u2f: a security key's fields end with string application.
  if (ki->security_key) key.m_sk_application = std::string(r.text(kMaxSkApplication));
  if (!*pkey) return Unexpected(ossl_error("invalid public key"));
  Reader fields = start;
  Writer w;
  w.string(ki->name).raw(fields.raw(start.remaining() - r.remaining()));
  key.m_type = ki->type;
  key.m_blob = w.take();
  key.m_pkey = std::shared_ptr<EVP_PKEY>(pkey->release(), EVP_PKEY_free);
  return key;
}

Result<OpensshPublicText> split_openssh_public_text(std::string_view line, size_t max_base64) {
  line = trim(line);
  size_t sp = line.find_first_of(" \t");
  if (sp == line.npos) return Unexpected("no key data after the key type");
  std::string_view rest = trim(line.substr(sp));
  std::string_view b64 = rest.substr(0, rest.find_first_of(" \t"));
  OpensshPublicText out;
  out.type = std::string(line.substr(0, sp));
  if (b64.size() > max_base64 || !base64_decode(b64, out.blob))
    return Unexpected("invalid base64 key data");
  return out;
}

Result<PublicKey> PublicKey::from_openssh_text(std::string_view line) {
  auto text = split_openssh_public_text(line, 4 * kMaxWireString / 3);
  if (!text) return Unexpected("public key line: " + text.error().message);
  auto key = from_blob(text->blob);
  if (!key) return key;
  if (key->type_name() != text->type)
    return Unexpected("key type " + text->type + " does not match the key data (" +
                      std::string(key->type_name()) + ")");
  return key;
}

std::string_view PublicKey::type_name() const {
  return info(m_type).name;
}
std::string_view PublicKey::log_name() const {
  return info(m_type).log_name;
}

size_t PublicKey::bits() const {
  if (size_t fixed = info(m_type).fixed_bits) return fixed;
  return m_pkey ? size_t(EVP_PKEY_get_bits(m_pkey.get())) : 0;
}

std::string PublicKey::fingerprint_sha256() const {
  uint8_t md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(m_blob.data(), m_blob.size(), md, &len, EVP_sha256(), nullptr);
  return "SHA256:" + base64_encode(ByteView(md, len), false);
}

std::string PublicKey::to_openssh_text() const {
  return std::string(type_name()) + " " + base64_encode(m_blob);
}

std::vector<std::string> PublicKey::signature_algorithms() const {
  const KeyTypeInfo& ki = info(m_type);
  return ki.family->signature_algorithms(ki);
}

bool PublicKey::verify(ByteView signature, ByteView data, std::string* alg_out,
                       SkSignature* sk_out) const {
  if (!m_pkey) return false;
  const KeyTypeInfo& ki = info(m_type);
  try {
    Reader r(signature);
    std::string_view alg = r.text(64);
    ByteView sig = r.string(keys::kMaxMpint + 1024);
    SkSignature sk;
    if (ki.security_key) {
      // PROTOCOL.u2f: security key signatures append byte flags, uint32 counter.
      sk.flags = r.u8();
      sk.counter = r.u32();
    }
    r.expect_done("signature");
    if (alg_out) *alg_out = std::string(alg);
    if (!keys::algorithm_fits_key(ki, alg)) return false;
    if (!ki.family->verify(ki, {m_pkey.get(), alg, sig, data, m_sk_application, sk})) return false;
    if (!ki.security_key) return true;
    if (sk_out) {
      *sk_out = sk;
      return true;
    }
    return (sk.flags & SkSignature::kUserPresent) != 0;
  } catch (const ProtocolError&) {
  }
  return false;
}

// ---- PrivateKey ------------------------------------------------------------------------------

PrivateKey::PrivateKey(PublicKey pub, EvpPkeyPtr key)
    : m_public(std::move(pub)), m_pkey(key.release(), EVP_PKEY_free) {}

PrivateKey::PrivateKey(PublicKey pub, SkKeyHandle sk)
    : m_public(std::move(pub)), m_sk(std::make_shared<const SkKeyHandle>(std::move(sk))) {}

Result<PrivateKey> PrivateKey::parse(std::string_view text) {
  Result<EvpPkeyPtr> key = EvpPkeyPtr();
  if (keys::is_openssh_private(text)) {
    auto container = keys::parse_openssh_private(text);
    if (!container) return Unexpected(container.error());
    // PROTOCOL.u2f: a security key's file holds its public key and key handle only.
    if (container->sk)
      return PrivateKey(std::move(container->sk->public_key), std::move(container->sk->handle));
    key = std::move(container->key);
  } else {
    key = keys::parse_pem_private(text);
  }
  if (!key) return Unexpected(key.error());
  KeyType kt{};
  auto blob = keys::public_blob_of(key->get(), kt);
  if (!blob) return Unexpected(blob.error());
  // from_blob applies the public checks (RSA size, EC point) to keys from every format.
  auto pub = PublicKey::from_blob(*blob);
  if (!pub) return Unexpected(pub.error());
  if (!keys::pair_consistent(key->get())) return Unexpected("private key is inconsistent");
  return PrivateKey(std::move(*pub), std::move(*key));
}

Result<PrivateKey> PrivateKey::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Unexpected(path + ": " + std::strerror(errno));
  std::string text;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, size_t(in.gcount()));
    if (text.size() > 4 * keys::kMaxPrivateBlob) return Unexpected(path + ": file too large");
  }
  auto key = parse(text);
  OPENSSL_cleanse(text.data(), text.size());
  if (!key) return Unexpected(path + ": " + key.error().message);
  return key;
}

Result<PrivateKey> PrivateKey::generate(KeyType type, int rsa_bits) {
  const KeyTypeInfo& ki = info(type);
  auto generated = ki.family->generate(ki, rsa_bits);
  if (!generated) return Unexpected(generated.error());
  if (!*generated) return Unexpected(ossl_error("key generation failed"));
  EvpPkeyPtr key = std::move(*generated);
  KeyType kt{};
  auto blob = keys::public_blob_of(key.get(), kt);
  if (!blob) return Unexpected(blob.error());
  auto pub = PublicKey::from_blob(*blob);
  if (!pub) return Unexpected(pub.error());
  return PrivateKey(std::move(*pub), std::move(key));
}

PrivateKey PrivateKey::held_elsewhere(PublicKey pub, ExternalSigner signer) {
  PrivateKey key(std::move(pub), EvpPkeyPtr());
  key.m_external = std::move(signer);
  return key;
}

std::string PrivateKey::to_openssh_text(std::string_view comment) const {
  if (m_external) return "";  // a key held elsewhere (HostKeyAgent) has no private half here
  return keys::write_openssh_private(info(type()), m_pkey.get(), m_public, m_sk.get(), comment);
}

Result<Bytes> PrivateKey::sign(std::string_view algorithm, ByteView data) const {
  const KeyTypeInfo& ki = info(type());
  if (!keys::algorithm_fits_key(ki, algorithm))
    return Unexpected("signature algorithm " + std::string(algorithm) + " does not fit a " +
                      std::string(m_public.type_name()) + " key");
  if (m_external) {
    // The holder is another process: its answer is checked as a peer's would be, so a confused
    // agent cannot make us send a signature the client rejects or one of another algorithm.
    Result<Bytes> blob = m_external(m_public, algorithm, data);
    if (!blob) return blob;
    std::string alg;
    if (!m_public.verify(*blob, data, &alg) || alg != algorithm)
      return Unexpected("the key holder's " + std::string(algorithm) +
                        " signature does not verify");
    return blob;
  }
  if (m_sk) return sign_with_security_key(data);
  Result<Bytes> sig = ki.family->sign(ki, m_pkey.get(), algorithm, data);
  if (!sig) return sig;
  Writer w;
  w.string(algorithm).string(ByteView(*sig));
  return w.take();
}

Result<Bytes> PrivateKey::sign_with_security_key(ByteView data) const {
  bool ed25519 = type() == KeyType::kSkEd25519;
  auto got = sk_provider_sign(m_sk_provider, ed25519, data, *m_sk);
  if (!got) return Unexpected(got.error());
  // PROTOCOL.u2f "SSH U2F signatures": Ed25519's is the raw 64 bytes, ECDSA's the mpints r and
  // s (RFC 5656 §3.1.2) in a string, each followed by byte flags, uint32 counter.
  Writer inner;
  if (ed25519) {
    if (!got->sig_s.empty() || got->sig_r.size() != 64)
      return Unexpected("security key provider returned a malformed Ed25519 signature");
    inner.raw(ByteView(got->sig_r));
  } else {
    if (got->sig_r.empty() || got->sig_s.empty())
      return Unexpected("security key provider returned a malformed ECDSA signature");
    inner.mpint_unsigned(ByteView(got->sig_r)).mpint_unsigned(ByteView(got->sig_s));
  }
  Writer w;
  w.string(m_public.type_name()).string(inner.buffer()).u8(got->flags).u32(got->counter);
  Bytes blob = w.take();
  // A provider that signed with another credential, or signed something else, must not get a
  // bad host signature onto the wire: check it as the client will.
  SkSignature asserted;
  if (!m_public.verify(blob, data, nullptr, &asserted))
    return Unexpected("security key provider's signature does not verify");
  return blob;
}

}  // namespace postern
