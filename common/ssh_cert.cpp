#include "common/ssh_cert.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

#include "common/authorized_keys.h"
#include "common/wire.h"

namespace postern {
namespace {

// Bounds for the variable fields, so a hostile certificate never drives a large allocation.
// 256 principals is OpenSSH's published limit (ssh-keygen refuses more).
constexpr size_t kMaxNonce = 1024;
constexpr size_t kMaxKeyId = 4096;
constexpr size_t kMaxPrincipal = 1024;
constexpr size_t kMaxPrincipals = 256;
constexpr size_t kMaxOptions = 64 * 1024;
constexpr size_t kMaxCertText = 64 * 1024;

// Each certificate type embeds the fields of one plain key type after its nonce
// (PROTOCOL.certkeys; PROTOCOL.u2f for security keys). ssh-dss certificates are parsed like the
// others; whether they are accepted is PubkeyAcceptedAlgorithms' / HostKeyAlgorithms' business,
// whose defaults leave DSA out, as OpenSSH's do.
struct CertTypeInfo {
  const char* name;        // certificate key type
  const char* plain_name;  // the certified key's own type
};

constexpr CertTypeInfo kCertTypes[] = {
    {"ssh-ed25519-cert-v01@openssh.com", "ssh-ed25519"},
    {"ecdsa-sha2-nistp256-cert-v01@openssh.com", "ecdsa-sha2-nistp256"},
    {"ecdsa-sha2-nistp384-cert-v01@openssh.com", "ecdsa-sha2-nistp384"},
    {"ecdsa-sha2-nistp521-cert-v01@openssh.com", "ecdsa-sha2-nistp521"},
    {"ssh-rsa-cert-v01@openssh.com", "ssh-rsa"},
    {"ssh-dss-cert-v01@openssh.com", "ssh-dss"},
    {"sk-ssh-ed25519-cert-v01@openssh.com", "sk-ssh-ed25519@openssh.com"},
    {"sk-ecdsa-sha2-nistp256-cert-v01@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"},
    {"ssh-mldsa44-ed25519-cert-v01@openssh.com", "ssh-mldsa44-ed25519@openssh.com"},
};

const CertTypeInfo* cert_info(std::string_view name) {
  for (const auto& i : kCertTypes)
    if (name == i.name) return &i;
  return nullptr;
}

// The algorithm names that exist only in negotiation and userauth (PROTOCOL.certkeys): they
// name an RSA certificate and the SHA-2 signature it will carry.
struct CertAlgorithm {
  const char* algorithm;
  const char* cert_type;
  const char* signature;
};

constexpr CertAlgorithm kCertAlgorithms[] = {
    {"rsa-sha2-512-cert-v01@openssh.com", "ssh-rsa-cert-v01@openssh.com", "rsa-sha2-512"},
    {"rsa-sha2-256-cert-v01@openssh.com", "ssh-rsa-cert-v01@openssh.com", "rsa-sha2-256"},
    {"ssh-rsa-cert-v01@openssh.com", "ssh-rsa-cert-v01@openssh.com", "ssh-rsa"},
    {"ssh-ed25519-cert-v01@openssh.com", "ssh-ed25519-cert-v01@openssh.com", "ssh-ed25519"},
    {"ecdsa-sha2-nistp256-cert-v01@openssh.com", "ecdsa-sha2-nistp256-cert-v01@openssh.com",
     "ecdsa-sha2-nistp256"},
    {"ecdsa-sha2-nistp384-cert-v01@openssh.com", "ecdsa-sha2-nistp384-cert-v01@openssh.com",
     "ecdsa-sha2-nistp384"},
    {"ecdsa-sha2-nistp521-cert-v01@openssh.com", "ecdsa-sha2-nistp521-cert-v01@openssh.com",
     "ecdsa-sha2-nistp521"},
    {"ssh-dss-cert-v01@openssh.com", "ssh-dss-cert-v01@openssh.com", "ssh-dss"},
    {"sk-ssh-ed25519-cert-v01@openssh.com", "sk-ssh-ed25519-cert-v01@openssh.com",
     "sk-ssh-ed25519@openssh.com"},
    {"sk-ecdsa-sha2-nistp256-cert-v01@openssh.com", "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
     "sk-ecdsa-sha2-nistp256@openssh.com"},
    {"ssh-mldsa44-ed25519-cert-v01@openssh.com", "ssh-mldsa44-ed25519-cert-v01@openssh.com",
     "ssh-mldsa44-ed25519@openssh.com"},
};

const CertAlgorithm* cert_algorithm(std::string_view name) {
  for (const auto& a : kCertAlgorithms)
    if (name == a.algorithm) return &a;
  return nullptr;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Reads a "string name, string data" sequence (critical options or extensions). Each name may
// appear once (PROTOCOL.certkeys); a repeated one could smuggle a second source-address past a
// reader that looks only at the first, so it is refused.
std::vector<CertOption> read_options(ByteView buf, const char* what) {
  std::vector<CertOption> out;
  std::set<std::string, std::less<>> seen;
  Reader r(buf);
  while (!r.done()) {
    CertOption o;
    o.name = std::string(r.text(1024));
    ByteView data = r.string(kMaxOptions);
    o.data.assign(data.begin(), data.end());
    if (o.name.empty() || !seen.insert(o.name).second)
      throw ProtocolError(std::string("repeated or empty name in certificate ") + what);
    out.push_back(std::move(o));
  }
  return out;
}

// The option's data holds one string (force-command, source-address).
std::string option_string(const CertOption& o) {
  Reader r(o.data);
  std::string s(r.text(kMaxOptions));
  r.expect_done("certificate option");
  return s;
}

void option_flag(const CertOption& o) {
  if (!o.data.empty()) throw ProtocolError("certificate flag option " + o.name + " has data");
}

bool valid_cidr_list(std::string_view list) {
  if (list.empty()) return false;
  while (true) {
    size_t comma = list.find(',');
    std::string_view entry = list.substr(0, comma);
    // An entry is well formed exactly when its own address lies within it.
    if (entry.empty() || !cidr_match(entry.substr(0, entry.find('/')), entry)) return false;
    if (comma == list.npos) return true;
    list.remove_prefix(comma + 1);
  }
}

bool in_cidr_list(std::string_view ip, std::string_view list) {
  // A dual-stack listener reports IPv4 clients as IPv4-mapped IPv6 addresses; sshd compares
  // them as IPv4.
  constexpr std::string_view kMapped = "::ffff:";
  if (ip.size() > kMapped.size() && ip.substr(0, kMapped.size()) == kMapped &&
      ip.find('.') != ip.npos)
    ip.remove_prefix(kMapped.size());
  while (true) {
    size_t comma = list.find(',');
    if (cidr_match(ip, list.substr(0, comma))) return true;
    if (comma == list.npos) return false;
    list.remove_prefix(comma + 1);
  }
}

}  // namespace

bool Certificate::is_certificate_name(std::string_view name) {
  return cert_algorithm(name) != nullptr;
}

std::string_view certificate_signature_algorithm(std::string_view cert_algorithm_name) {
  const CertAlgorithm* a = cert_algorithm(cert_algorithm_name);
  return a ? a->signature : "";
}

std::string_view certificate_type_for_algorithm(std::string_view cert_algorithm_name) {
  const CertAlgorithm* a = cert_algorithm(cert_algorithm_name);
  return a ? a->cert_type : "";
}

Result<Certificate> Certificate::from_blob(ByteView blob) {
  Certificate c;
  try {
    Reader r(blob);
    std::string_view name = r.text(64);
    const CertTypeInfo* ti = cert_info(name);
    if (!ti) return Unexpected("unknown certificate type " + std::string(name));
    c.m_type_name = ti->name;
    ByteView nonce = r.string(kMaxNonce);
    c.m_nonce.assign(nonce.begin(), nonce.end());

    auto key = PublicKey::read_fields(ti->plain_name, r);
    if (!key) return Unexpected("certificate key: " + key.error().message);
    c.m_key = std::move(*key);

    c.m_serial = r.u64();
    uint32_t type = r.u32();
    if (type != uint32_t(CertType::kUser) && type != uint32_t(CertType::kHost))
      return Unexpected("unknown certificate type " + std::to_string(type));
    c.m_cert_type = CertType(type);
    c.m_key_id = std::string(r.text(kMaxKeyId));

    Reader pr(r.string(kMaxPrincipals * (kMaxPrincipal + 4)));
    while (!pr.done()) {
      if (c.m_principals.size() >= kMaxPrincipals)
        return Unexpected("too many principals in certificate");
      c.m_principals.emplace_back(pr.text(kMaxPrincipal));
    }
    c.m_valid_after = r.u64();
    c.m_valid_before = r.u64();
    c.m_critical = read_options(r.string(kMaxOptions), "critical options");
    c.m_extensions = read_options(r.string(kMaxOptions), "extensions");
    r.string(kMaxOptions);  // reserved: ignored in this version (PROTOCOL.certkeys)

    // "Chained" certificates are not supported: PublicKey refuses certificate types.
    auto ca = PublicKey::from_blob(r.string(64 * 1024));
    if (!ca) return Unexpected("certificate signature key: " + ca.error().message);
    c.m_ca = std::move(*ca);
    size_t signed_end = blob.size() - r.remaining();
    ByteView sig = r.string(64 * 1024);
    r.expect_done("certificate");
    c.m_signature.assign(sig.begin(), sig.end());

    // The signature covers everything from the type name to the signature key inclusive.
    // A security-key CA's flags are not policy for the certificate (OpenSSH ignores them).
    SkSignature ca_sk;
    if (!c.m_ca->verify(sig, blob.first(signed_end), &c.m_sig_alg, &ca_sk))
      return Unexpected("certificate signature verification failed");

    for (const auto& o : c.m_critical) {
      if (o.name == "force-command") {
        c.m_force_command = option_string(o);
      } else if (o.name == "source-address") {
        c.m_source_address = option_string(o);
      } else if (o.name == "verify-required") {
        option_flag(o);
        c.m_verify_required = true;
      } else {
        c.m_unknown_critical.push_back(o.name);
      }
    }
    // Unknown extensions are ignored (PROTOCOL.certkeys "Extensions").
    for (const auto& o : c.m_extensions) {
      bool* flag = nullptr;
      CertPermissions& p = c.m_permissions;
      if (o.name == "permit-X11-forwarding") flag = &p.permit_x11_forwarding;
      if (o.name == "permit-agent-forwarding") flag = &p.permit_agent_forwarding;
      if (o.name == "permit-port-forwarding") flag = &p.permit_port_forwarding;
      if (o.name == "permit-pty") flag = &p.permit_pty;
      if (o.name == "permit-user-rc") flag = &p.permit_user_rc;
      if (o.name == "no-touch-required") flag = &p.no_touch_required;
      if (!flag) continue;
      option_flag(o);
      *flag = true;
    }
    c.m_blob.assign(blob.begin(), blob.end());
    return c;
  } catch (const ProtocolError& e) {
    return Unexpected(std::string("malformed certificate: ") + e.what());
  }
}

Result<Certificate> Certificate::from_openssh_text(std::string_view line) {
  auto text = split_openssh_public_text(line, kMaxCertText);
  if (!text) return Unexpected("certificate line: " + text.error().message);
  auto cert = from_blob(text->blob);
  if (!cert) return cert;
  if (cert->type_name() != text->type)
    return Unexpected("key type " + text->type + " does not match the certificate (" +
                      std::string(cert->type_name()) + ")");
  return cert;
}

Result<Certificate> Certificate::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Unexpected(path + ": " + std::strerror(errno));
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > kMaxCertText) return Unexpected(path + ": line too long");
    std::string_view t = trim(line);
    if (t.empty() || t.front() == '#') continue;
    auto cert = from_openssh_text(t);
    if (!cert) return Unexpected(path + ": " + cert.error().message);
    return cert;
  }
  return Unexpected(path + ": no certificate in file");
}

std::string_view Certificate::type_name() const {
  return m_type_name;
}

std::string Certificate::log_name() const {
  return std::string(m_key->log_name()) + "-CERT";
}

bool Certificate::has_principal(std::string_view name) const {
  for (const auto& p : m_principals)
    if (p == name) return true;
  return false;
}

std::string Certificate::to_openssh_text() const {
  return m_type_name + " " + base64_encode(m_blob);
}

std::string Certificate::log_description() const {
  return log_name() + " " + fingerprint_sha256() + " ID " + m_key_id + " (serial " +
         std::to_string(m_serial) + ") CA " + std::string(m_ca->log_name()) + " " +
         m_ca->fingerprint_sha256();
}

std::vector<std::string> Certificate::algorithms() const {
  if (m_key->type() == KeyType::kRsa)
    return {"rsa-sha2-512-cert-v01@openssh.com", "rsa-sha2-256-cert-v01@openssh.com",
            "ssh-rsa-cert-v01@openssh.com"};
  return {m_type_name};
}

CertVerdict check_certificate(const Certificate& cert, const CertCheck& check) {
  auto refuse = [](CertFailure f, std::string message) {
    return CertVerdict{f, std::move(message)};
  };
  if (check.ca_signature_algorithms) {
    bool allowed = false;
    for (const auto& a : *check.ca_signature_algorithms)
      if (a == cert.signature_algorithm()) allowed = true;
    if (!allowed)
      return refuse(CertFailure::kSignatureAlgorithm, "certificate signature algorithm " +
                                                          cert.signature_algorithm() +
                                                          ": signature algorithm not supported");
  }
  if (cert.cert_type() != check.type)
    return refuse(CertFailure::kWrongType, check.type == CertType::kUser
                                               ? "Certificate invalid: not a user certificate"
                                               : "Certificate invalid: not a host certificate");
  // PROTOCOL.certkeys: valid after <= current time < valid before.
  if (check.now < cert.valid_after())
    return refuse(CertFailure::kNotYetValid, "Certificate invalid: not yet valid");
  if (check.now >= cert.valid_before())
    return refuse(CertFailure::kExpired, "Certificate invalid: expired");
  if (cert.principals().empty()) {
    // An empty list means any principal to the format; sshd demands a list where configured.
    if (check.require_principals)
      return refuse(CertFailure::kNoPrincipals, "Certificate lacks principal list");
  } else if (check.principal && !cert.has_principal(*check.principal)) {
    return refuse(CertFailure::kPrincipal, "Certificate invalid: name is not a listed principal");
  }
  if (check.type == CertType::kUser && !cert.unknown_critical_options().empty())
    return refuse(CertFailure::kUnknownCriticalOption, "Certificate critical option \"" +
                                                           cert.unknown_critical_options().front() +
                                                           "\" is not supported");
  if (check.client_address && cert.source_address()) {
    if (!valid_cidr_list(*cert.source_address()))
      return refuse(CertFailure::kSourceAddressInvalid,
                    "Certificate source-address contents invalid");
    if (!in_cidr_list(*check.client_address, *cert.source_address()))
      return refuse(CertFailure::kSourceAddress,
                    "Authentication tried for " + check.user +
                        " with valid certificate but not from a permitted source address (" +
                        *check.client_address + ").");
  }
  return {};
}

}  // namespace postern
