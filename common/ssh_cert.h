// OpenSSH certificates (PROTOCOL.certkeys): a public key, identity and usage options signed by a
// certificate authority key. Used for TrustedUserCAKeys / cert-authority user authentication and
// for HostCertificate. A Certificate object only exists once its CA signature has verified; the
// policy checks that depend on the connection (type, validity window, principal, source-address,
// CASignatureAlgorithms) are check_certificate()'s business, so the monitor can log OpenSSH's
// reason for each refusal.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "common/ssh_key.h"

namespace postern {

// PROTOCOL.certkeys: SSH_CERT_TYPE_USER and SSH_CERT_TYPE_HOST.
enum class CertType : uint32_t { kUser = 1, kHost = 2 };

// One critical option or extension: "string name, string data" (PROTOCOL.certkeys).
struct CertOption {
  std::string name;
  Bytes data;
  bool operator==(const CertOption&) const = default;
};

// The permit-* and no-touch-required extensions (PROTOCOL.certkeys "Extensions"); absent means
// not permitted.
struct CertPermissions {
  bool permit_x11_forwarding = false;
  bool permit_agent_forwarding = false;
  bool permit_port_forwarding = false;
  bool permit_pty = false;
  bool permit_user_rc = false;
  bool no_touch_required = false;
  bool operator==(const CertPermissions&) const = default;
};

class Certificate {
 public:
  // Parses a certificate blob and verifies the CA's signature over it (any signature algorithm
  // the CA key supports; CASignatureAlgorithms is applied by check_certificate). Refuses unknown
  // certificate types, chained certificates, trailing bytes, malformed or duplicated options.
  static Result<Certificate> from_blob(ByteView blob);
  // Parses "type base64 [comment]", as in *-cert.pub files and HostCertificate.
  static Result<Certificate> from_openssh_text(std::string_view line);
  // True for the key type names of certificates ("...-cert-v01@openssh.com"), including the
  // rsa-sha2-256/512 algorithm names that only appear in negotiation and userauth requests.
  static bool is_certificate_name(std::string_view name);
  // Loads a certificate file (one line; e.g. HostCertificate). Errors name the file.
  static Result<Certificate> load_file(const std::string& path);

  // "ssh-ed25519-cert-v01@openssh.com", ...
  std::string_view type_name() const;
  // As OpenSSH's logs print it: "ED25519-CERT", "RSA-CERT", "ECDSA-CERT".
  std::string log_name() const;
  const Bytes& blob() const { return m_blob; }
  // The certified key (a plain key, e.g. ssh-ed25519): user signatures verify against it.
  const PublicKey& key() const { return *m_key; }

  const Bytes& nonce() const { return m_nonce; }
  uint64_t serial() const { return m_serial; }
  CertType cert_type() const { return m_cert_type; }
  const std::string& key_id() const { return m_key_id; }
  // An empty list means "any principal" to the format; sshd refuses such user certificates
  // from TrustedUserCAKeys ("Certificate lacks principal list").
  const std::vector<std::string>& principals() const { return m_principals; }
  bool has_principal(std::string_view name) const;
  uint64_t valid_after() const { return m_valid_after; }
  uint64_t valid_before() const { return m_valid_before; }
  // In blob order, as signed.
  const std::vector<CertOption>& critical_options() const { return m_critical; }
  const std::vector<CertOption>& extensions() const { return m_extensions; }

  // Decoded critical options (PROTOCOL.certkeys "Critical options"; verify-required is an
  // OpenSSH 8.9 addition for FIDO keys).
  const std::optional<std::string>& force_command() const { return m_force_command; }
  const std::optional<std::string>& source_address() const { return m_source_address; }
  bool verify_required() const { return m_verify_required; }
  // Critical options this implementation does not know; a user certificate carrying any is
  // refused by check_certificate.
  const std::vector<std::string>& unknown_critical_options() const { return m_unknown_critical; }
  const CertPermissions& permissions() const { return m_permissions; }

  const PublicKey& signature_key() const { return *m_ca; }
  // The CA signature's algorithm ("ssh-ed25519", "rsa-sha2-512", ...).
  const std::string& signature_algorithm() const { return m_sig_alg; }
  const Bytes& signature() const { return m_signature; }

  // SHA256 fingerprint of the certified key, as OpenSSH prints for certificates.
  std::string fingerprint_sha256() const { return m_key->fingerprint_sha256(); }
  // "type base64"
  std::string to_openssh_text() const;
  // "ED25519-CERT SHA256:... ID key-id (serial N) CA ED25519 SHA256:...", the form sshd's
  // "Accepted/Failed publickey ... ssh2: " lines use for certificates.
  std::string log_description() const;
  // Public key algorithm names this certificate can be offered or used with: for RSA
  // "rsa-sha2-512-cert-v01@openssh.com", "rsa-sha2-256-cert-v01@openssh.com",
  // "ssh-rsa-cert-v01@openssh.com"; otherwise just type_name().
  std::vector<std::string> algorithms() const;

  bool operator==(const Certificate& o) const { return m_blob == o.m_blob; }

 private:
  Certificate() = default;
  std::string m_type_name;
  Bytes m_blob;
  Bytes m_nonce;
  std::optional<PublicKey> m_key;  // always set once parsed
  uint64_t m_serial = 0;
  CertType m_cert_type{};
  std::string m_key_id;
  std::vector<std::string> m_principals;
  uint64_t m_valid_after = 0, m_valid_before = 0;
  std::vector<CertOption> m_critical, m_extensions;
  std::optional<std::string> m_force_command, m_source_address;
  bool m_verify_required = false;
  std::vector<std::string> m_unknown_critical;
  CertPermissions m_permissions;
  std::optional<PublicKey> m_ca;
  std::string m_sig_alg;
  Bytes m_signature;
};

// The signature algorithm a certificate public key algorithm name signs with:
// "rsa-sha2-512-cert-v01@openssh.com" → "rsa-sha2-512", "ssh-rsa-cert-v01@openssh.com" →
// "ssh-rsa", "ssh-ed25519-cert-v01@openssh.com" → "ssh-ed25519". Empty when not a certificate
// algorithm.
std::string_view certificate_signature_algorithm(std::string_view cert_algorithm);
// The certificate type name for a public key algorithm name ("rsa-sha2-256-cert-v01@..." →
// "ssh-rsa-cert-v01@openssh.com"); empty when not a certificate algorithm.
std::string_view certificate_type_for_algorithm(std::string_view cert_algorithm);

// Why check_certificate refused a certificate.
enum class CertFailure {
  kNone,
  kSignatureAlgorithm,     // CA signature algorithm not in CASignatureAlgorithms
  kWrongType,              // user certificate where a host one was needed, or the reverse
  kNotYetValid,            // now < valid_after
  kExpired,                // now >= valid_before
  kNoPrincipals,           // empty principal list where one is required
  kPrincipal,              // the name is not a listed principal
  kUnknownCriticalOption,  // an unrecognised critical option (PROTOCOL.certkeys: refuse)
  kSourceAddressInvalid,   // source-address is not a CIDR list
  kSourceAddress,          // the client's address is not in source-address
};

struct CertCheck {
  CertType type = CertType::kUser;
  uint64_t now = 0;  // seconds since the epoch
  // The name that must be a listed principal (the user, or the host name). nullopt skips the
  // principal check, as when AuthorizedPrincipalsFile or a principals="" option decides instead.
  std::optional<std::string> principal;
  // Refuse certificates with an empty principal list, as sshd does for TrustedUserCAKeys. When
  // false (authorized_keys cert-authority), an empty list is valid for any principal.
  bool require_principals = true;
  // The client's address for the source-address critical option; nullopt skips that check.
  std::optional<std::string> client_address;
  // The user, only for the text of the source-address message.
  std::string user;
  // CASignatureAlgorithms; nullptr accepts any algorithm the CA key supports.
  const std::vector<std::string>* ca_signature_algorithms = nullptr;
};

struct CertVerdict {
  CertFailure failure = CertFailure::kNone;
  // The line sshd logs for this failure, e.g. "Certificate invalid: expired", "Certificate
  // lacks principal list", "Authentication tried for root with valid certificate but not from a
  // permitted source address (127.0.0.1)." (sshd prefixes that one with "cert: " and follows it
  // with "Refused by certificate options").
  std::string message;
  bool ok() const { return failure == CertFailure::kNone; }
};

// Checks, in sshd's order: CA signature algorithm, certificate type, validity window
// (valid_after <= now < valid_before), principals, unknown critical options (user certificates),
// source-address.
CertVerdict check_certificate(const Certificate& cert, const CertCheck& check);

}  // namespace postern
