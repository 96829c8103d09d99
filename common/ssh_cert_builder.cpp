#include "common/ssh_cert_builder.h"

#include <openssl/rand.h>

#include <algorithm>

#include "common/wire.h"

namespace postern {
namespace {

constexpr size_t kNonceSize = 32;
constexpr std::string_view kCertSuffix = "-cert-v01@openssh.com";
constexpr std::string_view kSkSuffix = "@openssh.com";

// "string name, string data" for each option, sorted by name; a repeated name is an error, as
// the parser refuses it too.
Result<Bytes> encode_options(std::vector<CertOption> options, const char* what) {
  std::sort(options.begin(), options.end(),
            [](const CertOption& a, const CertOption& b) { return a.name < b.name; });
  Writer w;
  for (size_t i = 0; i < options.size(); ++i) {
    if (options[i].name.empty()) return Unexpected(std::string("empty name in ") + what);
    if (i > 0 && options[i].name == options[i - 1].name)
      return Unexpected(std::string(what) + " name \"" + options[i].name + "\" given twice");
    w.string(options[i].name).string(ByteView(options[i].data));
  }
  return w.take();
}

}  // namespace

std::string certificate_type_name(const PublicKey& key) {
  // PROTOCOL.certkeys and PROTOCOL.u2f: the plain name with "-cert-v01@openssh.com" in place of
  // the security keys' "@openssh.com".
  std::string_view plain = key.type_name();
  if (plain.size() > kSkSuffix.size() && plain.ends_with(kSkSuffix))
    plain.remove_suffix(kSkSuffix.size());
  return std::string(plain) + std::string(kCertSuffix);
}

Result<Certificate> build_certificate(const PublicKey& key, const CertificateFields& fields,
                                      const PrivateKey& ca, std::string_view signature_algorithm) {
  if (fields.valid_after >= fields.valid_before)
    return Unexpected("certificate validity: valid_after is not before valid_before");
  std::string algorithm(signature_algorithm);
  if (algorithm.empty()) {
    auto algs = ca.public_key().signature_algorithms();
    if (algs.empty()) return Unexpected("the CA key cannot sign");
    algorithm = algs.front();
  }
  auto critical = encode_options(fields.critical_options, "critical options");
  if (!critical) return Unexpected(critical.error());
  auto extensions = encode_options(fields.extensions, "extensions");
  if (!extensions) return Unexpected(extensions.error());

  Bytes nonce(kNonceSize);
  if (RAND_bytes(nonce.data(), int(nonce.size())) != 1)
    return Unexpected("certificate nonce: RAND_bytes failed");

  Writer principals;
  for (const auto& p : fields.principals) principals.string(p);

  // The certified key's fields are its blob after the type name, in the same order the
  // certificate embeds them (PROTOCOL.certkeys for each certificate type).
  ByteView key_fields;
  try {
    Reader r(key.blob());
    r.text(64);
    key_fields = r.rest();
  } catch (const ProtocolError& e) {
    return Unexpected(std::string("certified key: ") + e.what());
  }

  Writer w;
  w.string(certificate_type_name(key))
      .string(ByteView(nonce))
      .raw(key_fields)
      .u64(fields.serial)
      .u32(uint32_t(fields.type))
      .string(fields.key_id)
      .string(ByteView(principals.buffer()))
      .u64(fields.valid_after)
      .u64(fields.valid_before)
      .string(ByteView(*critical))
      .string(ByteView(*extensions))
      .string(std::string_view())  // reserved
      .string(ByteView(ca.public_key().blob()));
  // The signature covers everything before it (PROTOCOL.certkeys).
  auto signature = ca.sign(algorithm, w.buffer());
  if (!signature) return Unexpected("signing the certificate: " + signature.error().message);
  w.string(ByteView(*signature));

  auto cert = Certificate::from_blob(w.buffer());
  if (!cert) return Unexpected("the certificate made does not parse: " + cert.error().message);
  return cert;
}

}  // namespace postern
