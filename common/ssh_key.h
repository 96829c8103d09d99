// SSH public and private keys: the wire blob formats (RFC 4253 §6.6, RFC 5656, RFC 8709,
// RFC 8332, and OpenSSH's security keys of PROTOCOL.u2f for verification), OpenSSH's private key
// file format (PROTOCOL.key) and PEM, signing and verification through OpenSSL EVP. Certificates
// (PROTOCOL.certkeys) extend this in the authentication issue.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/ossl.h"
#include "common/result.h"

namespace postern {

class Reader;

// kSk*: FIDO security keys (PROTOCOL.u2f); they verify signatures, and a PrivateKey loaded from
// an sk key file signs through the SecurityKeyProvider its owner names (common/sk_provider.h).
// kDsa: "ssh-dss" (RFC 4253 §6.6), only for configurations that still name it.
// kMlDsa44Ed25519: OpenSSH 10.5's post-quantum hybrid "ssh-mldsa44-ed25519@openssh.com".
enum class KeyType {
  kEd25519,
  kEcdsaP256,
  kEcdsaP384,
  kEcdsaP521,
  kRsa,
  kSkEd25519,
  kSkEcdsaP256,
  kDsa,
  kMlDsa44Ed25519
};

// What a security key's signature asserts besides itself (PROTOCOL.u2f "SSH U2F signatures").
struct SkSignature {
  static constexpr uint8_t kUserPresent = 0x01;
  static constexpr uint8_t kUserVerified = 0x04;
  uint8_t flags = 0;
  uint32_t counter = 0;
};

class PublicKey {
 public:
  // Parses a public key blob ("string type, ..."); refuses unknown types and trailing bytes.
  static Result<PublicKey> from_blob(ByteView blob);
  // Parses "type base64 [comment]" as in authorized_keys or *.pub files (no options).
  static Result<PublicKey> from_openssh_text(std::string_view line);
  // Reads the fields that follow the type name in a `type_name` key blob (e.g. for "ssh-rsa":
  // mpint e, mpint n) from `r`, and makes the key whose blob is string type_name followed by
  // those fields, with every check from_blob applies. Certificates embed their key this way
  // (PROTOCOL.certkeys). Framing errors throw ProtocolError; bad key values are errors.
  static Result<PublicKey> read_fields(std::string_view type_name, Reader& r);

  KeyType type() const { return m_type; }
  // The blob's type name: "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", ...
  std::string_view type_name() const;
  // The name OpenSSH's logs use: "ED25519", "RSA", "ECDSA", "DSA".
  std::string_view log_name() const;
  size_t bits() const;
  const Bytes& blob() const { return m_blob; }
  // "SHA256:" + unpadded base64 of SHA-256(blob), as ssh-keygen -l prints it.
  std::string fingerprint_sha256() const;
  // "type base64"
  std::string to_openssh_text() const;

  // Signature algorithms this key can verify: ssh-ed25519; ecdsa-sha2-nistpN;
  // rsa-sha2-512, rsa-sha2-256, ssh-rsa; ssh-dss.
  std::vector<std::string> signature_algorithms() const;
  // Verifies an SSH signature blob (string alg, string sig) over data. If `alg_out` is given,
  // it receives the signature's algorithm name, so callers can check it against policy.
  // Security keys: `sk_out` receives the flags and counter for the caller to check (user
  // presence unless no-touch-required, user verification for verify-required); without it, a
  // signature that does not assert user presence fails, as sshd refuses it by default.
  bool verify(ByteView signature, ByteView data, std::string* alg_out = nullptr,
              SkSignature* sk_out = nullptr) const;

  bool is_security_key() const {
    return m_type == KeyType::kSkEd25519 || m_type == KeyType::kSkEcdsaP256;
  }
  // The FIDO application string of a security key ("ssh:" by default); empty otherwise.
  const std::string& sk_application() const { return m_sk_application; }

  bool operator==(const PublicKey& o) const { return m_blob == o.m_blob; }
  EVP_PKEY* pkey() const { return m_pkey.get(); }

 private:
  PublicKey() = default;
  KeyType m_type{};
  Bytes m_blob;
  std::string m_sk_application;
  std::shared_ptr<EVP_PKEY> m_pkey;
};

// "type base64 [comment]" (the key text of authorized_keys and *.pub lines, options already
// removed), split into the type name and the decoded blob; base64 longer than `max_base64` is
// refused. The caller checks that the blob's own type agrees with `type`.
struct OpensshPublicText {
  std::string type;
  Bytes blob;
};
Result<OpensshPublicText> split_openssh_public_text(std::string_view line, size_t max_base64);

// The private half of a security key as its key file holds it (PROTOCOL.u2f "SSH U2F private
// key format"): what the authenticator needs to find its credential again. The key itself never
// leaves the authenticator.
struct SkKeyHandle {
  std::string application;
  uint8_t flags = 0;  // SSH_SK_USER_PRESENCE_REQD (0x01), SSH_SK_USER_VERIFICATION_REQD (0x04)
  Bytes key_handle;
  Bytes reserved;
};

class PrivateKey {
 public:
  // Loads an unencrypted private key: OpenSSH format ("-----BEGIN OPENSSH PRIVATE KEY-----") or
  // PEM (PKCS#1, PKCS#8, SEC1). Errors name the file and what was wrong.
  static Result<PrivateKey> load_file(const std::string& path);
  static Result<PrivateKey> parse(std::string_view text);
  static Result<PrivateKey> generate(KeyType type, int rsa_bits = 3072);
  // A key whose private half another process holds (sshd_config HostKeyAgent): `sign` asks
  // `signer` for the SSH signature blob and accepts it only when it is of the algorithm asked
  // for and verifies with `pub`.
  using ExternalSigner =
      std::function<Result<Bytes>(const PublicKey& key, std::string_view algorithm, ByteView data)>;
  static PrivateKey held_elsewhere(PublicKey pub, ExternalSigner signer);
  // OpenSSH private key file text (unencrypted), as ssh-keygen writes it; "" for a key held
  // elsewhere.
  std::string to_openssh_text(std::string_view comment = "") const;

  KeyType type() const { return m_public.type(); }
  const PublicKey& public_key() const { return m_public; }
  // Signs `data` with the given algorithm ("rsa-sha2-512", "ssh-ed25519", ...) and returns the
  // SSH signature blob (string alg, string sig); a security key's ends with byte flags, uint32
  // counter (PROTOCOL.u2f) and is made by the provider set below.
  Result<Bytes> sign(std::string_view algorithm, ByteView data) const;

  // Security keys only: the key handle record, or null for every other key.
  const SkKeyHandle* security_key() const { return m_sk.get(); }
  // The SecurityKeyProvider middleware (sk-api) a security key signs through; without one, its
  // sign() fails.
  void set_security_key_provider(std::string path) { m_sk_provider = std::move(path); }

 private:
  PrivateKey(PublicKey pub, EvpPkeyPtr key);
  PrivateKey(PublicKey pub, SkKeyHandle sk);
  Result<Bytes> sign_with_security_key(ByteView data) const;
  PublicKey m_public;
  std::shared_ptr<EVP_PKEY> m_pkey;
  ExternalSigner m_external;  // set only for a key held elsewhere (then m_pkey is null)
  std::shared_ptr<const SkKeyHandle> m_sk;
  std::string m_sk_provider;
};

}  // namespace postern
