// OpenSSH's private key container "openssh-key-v1" (PROTOCOL.key), unencrypted only: the
// armour, the header, the check values and padding of the private section. The record of the
// key itself is its family's (ssh_key_family.h).
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cctype>

#include "common/private_key_formats.h"
#include "common/ssh_key_openssl.h"
#include "common/wire.h"

namespace postern::keys {
namespace {

constexpr std::string_view kOpensshBegin = "-----BEGIN OPENSSH PRIVATE KEY-----";
constexpr std::string_view kOpensshEnd = "-----END OPENSSH PRIVATE KEY-----";
constexpr std::string_view kOpensshMagic{"openssh-key-v1\0", 15};

// The base64 body between the armour lines, whitespace removed.
Result<Bytes> dearmour(std::string_view text) {
  size_t begin = text.find(kOpensshBegin);
  size_t end = text.find(kOpensshEnd);
  if (begin == text.npos || end == text.npos || end < begin)
    return Unexpected("missing OpenSSH private key armour");
  std::string b64;
  for (char c : text.substr(begin + kOpensshBegin.size(), end - begin - kOpensshBegin.size()))
    if (!isspace(static_cast<unsigned char>(c))) b64 += c;
  Bytes out;
  if (b64.size() > kMaxPrivateBlob * 2 || !base64_decode(b64, out))
    return Unexpected("invalid base64 in OpenSSH private key");
  return out;
}

// Reads one private key record of the decrypted section (PROTOCOL.key "private keys"; the
// per-type fields are those OpenSSH writes: the public fields followed by the secret ones) and
// checks it against the container's public key.
Result<OpensshPrivate> read_private_record(Reader& r, ByteView pub_blob) {
  std::string_view type = r.text(64);
  const KeyTypeInfo* ki = info_by_name(type);
  if (!ki) return Unexpected("unsupported key type " + std::string(type));
  OpensshPrivate out;
  Bytes derived;
  if (ki->security_key) {
    // PROTOCOL.u2f: the secret stays in the authenticator; the record names it.
    auto sk = read_sk_private(*ki, r);
    if (!sk) return Unexpected(sk.error());
    derived = sk->public_key.blob();
    out.sk = std::move(*sk);
  } else {
    auto key = ki->family->read_private(*ki, r);
    if (!key) return Unexpected(key.error());
    KeyType kt{};
    auto blob = public_blob_of(key->get(), kt);
    if (!blob) return Unexpected(blob.error());
    if (!pair_consistent(key->get())) return Unexpected("private key is inconsistent");
    derived = std::move(*blob);
    out.key = std::move(*key);
  }
  if (derived != Bytes(pub_blob.begin(), pub_blob.end()))
    return Unexpected("public key does not match the private key");
  return out;
}

void append_wrapped(std::string& out, std::string_view b64, size_t width) {
  for (size_t i = 0; i < b64.size(); i += width) {
    out += b64.substr(i, width);
    out += '\n';
  }
}

}  // namespace

bool is_openssh_private(std::string_view text) {
  return text.find(kOpensshBegin) != text.npos;
}

Result<OpensshPrivate> parse_openssh_private(std::string_view text) {
  auto raw = dearmour(text);
  if (!raw) return Unexpected(raw.error());
  try {
    Reader r(*raw);
    if (r.remaining() < kOpensshMagic.size() ||
        as_string(r.raw(kOpensshMagic.size())) != kOpensshMagic)
      return Unexpected("not an openssh-key-v1 private key");
    std::string_view cipher = r.text(64), kdf = r.text(64);
    r.string(1024);  // kdfoptions
    if (cipher != "none" || kdf != "none")
      return Unexpected("key is encrypted (cipher " + std::string(cipher) +
                        "): passphrase-protected host keys are not supported");
    uint32_t nkeys = r.u32();
    if (nkeys != 1) return Unexpected("expected exactly one key in the file");
    ByteView pub_blob = r.string(kMaxPrivateBlob);
    ByteView priv = r.string(kMaxPrivateBlob);
    r.expect_done("OpenSSH private key");
    // With cipher "none" the block size is 8 (PROTOCOL.key).
    if (priv.size() % 8) return Unexpected("private key section has bad padding length");
    Reader pr(priv);
    uint32_t check1 = pr.u32(), check2 = pr.u32();
    if (check1 != check2) return Unexpected("private key check values differ (corrupt key)");
    auto key = read_private_record(pr, pub_blob);
    if (!key) return key;
    pr.string(kMaxPrivateBlob);  // comment
    // Padding is 1, 2, 3, ... up to the block size.
    for (uint8_t i = 1; !pr.done(); ++i)
      if (pr.u8() != i) return Unexpected("private key section has bad padding");
    return key;
  } catch (const ProtocolError& e) {
    return Unexpected(std::string("malformed OpenSSH private key: ") + e.what());
  }
}

std::string write_openssh_private(const KeyTypeInfo& ki, EVP_PKEY* pkey, const PublicKey& pub,
                                  const SkKeyHandle* sk, std::string_view comment) {
  // PROTOCOL.key: the private section, padded to the cipher block size (8 for "none").
  SecretWriter pw;
  uint32_t check = 0;
  RAND_bytes(reinterpret_cast<uint8_t*>(&check), sizeof check);
  pw.u32(check).u32(check);
  if (sk) {
    write_sk_private(pub, *sk, pw);
  } else {
    pw.string(ki.name);
    ki.family->write_private(ki, pkey, pw);
  }
  pw.string(comment);
  for (uint8_t pad = 1; pw.size() % 8; ++pad) pw.u8(pad);

  SecretWriter w;
  w.raw(as_bytes(kOpensshMagic)).string("none").string("none").string("").u32(1);
  w.string(ByteView(pub.blob())).string(pw.buffer().view());
  std::string b64 = base64_encode(w.buffer().view());
  std::string out(kOpensshBegin);
  out += '\n';
  append_wrapped(out, b64, 70);
  OPENSSL_cleanse(b64.data(), b64.size());
  out += kOpensshEnd;
  out += '\n';
  return out;
}

}  // namespace postern::keys
