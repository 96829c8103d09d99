#include "bastion/cert_issuer.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "common/ssh_cert_builder.h"
#include "common/unique_fd.h"
#include "common/wire.h"

namespace postern::bastion {
namespace {

// Certificates start a minute early: the target's clock may be behind ours.
constexpr uint64_t kClockSkew = 60;
// The serial file holds one decimal number; written at this fixed width so each rewrite is one
// pwrite over the old value and a crash never leaves it shorter than a number.
constexpr size_t kSerialWidth = 20;
constexpr size_t kMaxSerialFile = 64;

std::string errno_text(const std::string& path) {
  return path + ": " + std::strerror(errno);
}

// An extension "name=value" carries its value as an encoded string; a bare name is a flag with
// empty data (PROTOCOL.certkeys "Extensions"). Both parts may hold tokens ("login@%H=%P").
Result<CertOption> make_extension(std::string_view text, const CertRequest& req, uint64_t serial) {
  size_t eq = text.find('=');
  auto name = expand_template_tokens(text.substr(0, eq), req, serial);
  if (!name) return Unexpected(name.error());
  if (name->empty()) return Unexpected("extension \"" + std::string(text) + "\" has no name");
  CertOption option{*name, {}};
  if (eq != std::string_view::npos) {
    auto value = expand_template_tokens(text.substr(eq + 1), req, serial);
    if (!value) return Unexpected(value.error());
    Writer w;
    w.string(*value);
    option.data = w.take();
  }
  return option;
}

// The CA's signature algorithm: an RSA CA signs as the template's rsa_signature_types asks
// (first of them), other CA types have one algorithm.
Result<std::string> signature_algorithm(const PrivateKey& ca, const CertTemplate& tmpl) {
  if (ca.type() != KeyType::kRsa) return std::string();
  if (tmpl.rsa_signature_types.empty()) return std::string("rsa-sha2-512");
  const std::string& wanted = tmpl.rsa_signature_types.front();
  for (const auto& alg : ca.public_key().signature_algorithms())
    if (alg == wanted) return wanted;
  return Unexpected("template \"" + tmpl.name + "\": rsa_signature_types: unknown algorithm \"" +
                    wanted + "\"");
}

Result<uint64_t> parse_serial(std::string_view text, const std::string& path) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  // An empty file is one just created (or whose creator died before writing): nothing was
  // issued from it.
  if (text.empty()) return uint64_t(0);
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size())
    return Unexpected(path +
                      ": not a serial number; refusing to guess one (a reused serial "
                      "would make revocations by serial hit the wrong certificate)");
  return value;
}

}  // namespace

Result<std::string> expand_template_tokens(std::string_view text, const CertRequest& req,
                                           uint64_t serial) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 1 == text.size())
      return Unexpected("\"" + std::string(text) + "\": '%' at the end (write %% for a '%')");
    switch (text[++i]) {
      case 'H':
        out += req.target_host;
        break;
      case 'R':
        out += req.client_address;
        break;
      case 'S':
        out += std::to_string(serial);
        break;
      case 'P':
        out += req.bastion_user;
        break;
      case '%':
        out += '%';
        break;
      default:
        return Unexpected("\"" + std::string(text) + "\": unknown token %" + text[i] +
                          " (known: %H %R %S %P %%)");
    }
  }
  return out;
}

Result<Bytes> issue_certificate(const PrivateKey& ca, const CertTemplate& tmpl,
                                const PublicKey& key, const CertRequest& req, uint64_t serial) {
  auto fail = [&](const std::string& what) {
    return Unexpected("certificate template \"" + tmpl.name + "\": " + what);
  };
  if (req.validity == 0) return fail("validity of 0 seconds");

  CertificateFields fields;
  fields.type = CertType::kUser;
  fields.serial = serial;
  auto key_id = expand_template_tokens(tmpl.key_id, req, serial);
  if (!key_id) return fail("key_id: " + key_id.error().message);
  fields.key_id = *key_id;
  // The session id leads from the target's own log back to the recording (BASTION.md "Files").
  if (!req.session_id.empty()) fields.key_id += " session " + req.session_id;

  if (tmpl.principals.empty()) {
    fields.principals.push_back(req.target_user);
  } else {
    for (const auto& p : tmpl.principals) {
      auto principal = expand_template_tokens(p, req, serial);
      if (!principal) return fail("principals: " + principal.error().message);
      fields.principals.push_back(std::move(*principal));
    }
  }
  // An empty principal would be a certificate for nobody, or (as an empty list) for anyone.
  for (const auto& p : fields.principals)
    if (p.empty()) return fail("a principal is empty");

  for (const auto& e : tmpl.extensions) {
    auto ext = make_extension(e, req, serial);
    if (!ext) return fail("extensions: " + ext.error().message);
    fields.extensions.push_back(std::move(*ext));
  }

  fields.valid_after = req.now > kClockSkew ? req.now - kClockSkew : 0;
  fields.valid_before = req.now + req.validity;

  auto algorithm = signature_algorithm(ca, tmpl);
  if (!algorithm) return Unexpected(algorithm.error());
  auto cert = build_certificate(key, fields, ca, *algorithm);
  if (!cert) return fail(cert.error().message);
  return cert->blob();
}

Result<uint64_t> next_serial(const std::string& serial_file, uint64_t now) {
  UniqueFd fd(::open(serial_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return Unexpected("serial file " + errno_text(serial_file));
  // Monitors of concurrent connections share the file: read and rewrite under one lock.
  while (::flock(fd.get(), LOCK_EX) != 0)
    if (errno != EINTR) return Unexpected("serial file: flock " + errno_text(serial_file));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Unexpected("serial file " + errno_text(serial_file));
  if (!S_ISREG(st.st_mode)) return Unexpected(serial_file + ": not a regular file");
  if (size_t(st.st_size) > kMaxSerialFile)
    return Unexpected(serial_file + ": too large for a serial number file");

  char buf[kMaxSerialFile];
  ssize_t n;
  do {
    n = ::pread(fd.get(), buf, sizeof buf, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Unexpected("serial file " + errno_text(serial_file));
  auto last = parse_serial(std::string_view(buf, size_t(n)), serial_file);
  if (!last) return last;

  // now * 2^20 leaves room for a million serials a second, and keeps serials rising even when
  // the file is lost.
  if (now > (UINT64_MAX >> 20)) return Unexpected("serial: the clock is out of range");
  if (*last == UINT64_MAX) return Unexpected(serial_file + ": serial numbers exhausted");
  uint64_t next = std::max(*last + 1, now << 20);

  std::string text = std::to_string(next);
  text.insert(0, kSerialWidth - text.size(), '0');
  text += '\n';
  ssize_t written;
  do {
    written = ::pwrite(fd.get(), text.data(), text.size(), 0);
  } while (written < 0 && errno == EINTR);
  if (written != ssize_t(text.size()))
    return Unexpected("serial file: write " + errno_text(serial_file));
  if (size_t(st.st_size) > text.size() && ::ftruncate(fd.get(), off_t(text.size())) != 0)
    return Unexpected("serial file: truncate " + errno_text(serial_file));
  // The serial must be on disk before a certificate carries it.
  if (::fsync(fd.get()) != 0) return Unexpected("serial file: fsync " + errno_text(serial_file));
  return next;
}

}  // namespace postern::bastion
