#include "common/krl.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "common/text_lines.h"
#include "common/wire.h"

namespace postern {
namespace {

// PROTOCOL.krl §1.
constexpr std::string_view kKrlMagic{"SSHKRL\n\0", 8};
constexpr uint32_t kKrlFormatVersion = 1;

enum : uint8_t {
  kSectionCertificates = 1,
  kSectionExplicitKey = 2,
  kSectionFingerprintSha1 = 3,
  kSectionSignature = 4,
  kSectionFingerprintSha256 = 5,
  kSectionExtension = 255,
};

// PROTOCOL.krl §2.
enum : uint8_t {
  kCertSerialList = 0x20,
  kCertSerialRange = 0x21,
  kCertSerialBitmap = 0x22,
  kCertKeyId = 0x23,
  kCertExtension = 0x39,
};

// A KRL revoking millions of serials as a bitmap is still a few MiB; anything larger is not a
// file sshd should be asked to hold in memory.
constexpr size_t kMaxKrlFile = 64 * 1024 * 1024;
constexpr size_t kMaxSection = kMaxKrlFile;
constexpr size_t kMaxKeyBlob = 64 * 1024;
constexpr size_t kMaxKeyId = 4096;

Bytes digest(const EVP_MD* md, ByteView data) {
  uint8_t out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return Bytes(out, out + len);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// PROTOCOL.krl §2.5 and §5: "string name, boolean is_critical, string contents". No extension
// is defined that this reader needs (the Bloom filters are only accelerators); a critical one
// it does not know makes the whole KRL unusable.
void read_extension(ByteView data, const char* where) {
  Reader r(data);
  std::string_view name = r.text(1024);
  bool critical = r.boolean();
  r.string(kMaxSection);
  r.expect_done(where);
  if (critical) throw ProtocolError("unsupported critical KRL extension " + std::string(name));
}

// A sequence of one or more strings (key blobs, hashes, key IDs), each non-empty.
template <typename Fn>
void read_strings(ByteView data, size_t max_len, const char* what, Fn&& each) {
  Reader r(data);
  if (r.done()) throw ProtocolError(std::string("empty KRL ") + what + " section");
  while (!r.done()) {
    ByteView s = r.string(max_len);
    if (s.empty()) throw ProtocolError(std::string("empty entry in KRL ") + what + " section");
    each(s);
  }
}

}  // namespace

Result<RevocationList> RevocationList::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Unexpected(path + ": " + std::strerror(errno));
  Bytes data;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    data.insert(data.end(), buf, buf + in.gcount());
    if (data.size() > kMaxKrlFile) return Unexpected(path + ": file too large");
  }
  if (in.bad()) return Unexpected(path + ": read error");
  auto list = parse(data);
  if (!list) return Unexpected(path + ": " + list.error().message);
  return list;
}

Result<RevocationList> RevocationList::parse(ByteView data) {
  if (data.size() >= kKrlMagic.size() && as_string(data.first(kKrlMagic.size())) == kKrlMagic)
    return parse_binary(data);
  return parse_text(as_string(data));
}

// Text form: what sshd accepts as RevokedKeys when the file is not a KRL — public keys (or
// certificates, which revoke their key) one per line, '#' comments and blank lines. Lines that
// are not keys are skipped, as sshd skips them.
RevocationList RevocationList::parse_text(std::string_view text) {
  RevocationList list;
  TextLines lines(text);
  std::string_view line;
  while (lines.next(line)) {
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    std::string_view type = line.substr(0, line.find_first_of(" \t"));
    if (Certificate::is_certificate_name(type)) {
      if (auto cert = Certificate::from_openssh_text(line)) list.m_keys.insert(cert->key().blob());
    } else if (auto key = PublicKey::from_openssh_text(line)) {
      list.m_keys.insert(key->blob());
    }
  }
  return list;
}

Result<RevocationList> RevocationList::parse_binary(ByteView data) {
  RevocationList list;
  list.m_binary = true;
  try {
    Reader r(data);
    r.raw(kKrlMagic.size());
    if (uint32_t v = r.u32(); v != kKrlFormatVersion)
      return Unexpected("unsupported KRL format version " + std::to_string(v));
    list.m_version = r.u64();
    list.m_generated = r.u64();
    r.u64();                // flags: none defined
    r.string(kMaxSection);  // reserved
    list.m_comment = std::string(r.text(kMaxSection));

    bool seen_signature = false;
    while (!r.done()) {
      uint8_t type = r.u8();
      if (type == kSectionSignature) {
        // PROTOCOL.krl §6: "string signature_key, string signature", the signature covering
        // the KRL from the magic through signature_key. Signatures must come last.
        auto key = PublicKey::from_blob(r.string(kMaxKeyBlob));
        if (!key) return Unexpected("bad KRL signature key: " + key.error().message);
        size_t signed_end = data.size() - r.remaining();
        ByteView sig = r.string(kMaxKeyBlob);
        if (!key->verify(sig, data.first(signed_end))) return Unexpected("bad KRL signature");
        seen_signature = true;
        continue;
      }
      if (seen_signature) return Unexpected("KRL section after signature");
      ByteView body = r.string(kMaxSection);
      switch (type) {
        case kSectionCertificates: {
          CertSection s;
          Reader cr(body);
          ByteView ca = cr.string(kMaxKeyBlob);
          if (!ca.empty()) {
            // The CA must be a plain key (certificates cannot sign certificates).
            auto key = PublicKey::from_blob(ca);
            if (!key) return Unexpected("bad CA key in KRL: " + key.error().message);
            s.ca = key->blob();
          }
          cr.string(kMaxSection);  // reserved
          while (!cr.done()) {
            uint8_t sub = cr.u8();
            ByteView sd = cr.string(kMaxSection);
            Reader sr(sd);
            switch (sub) {
              case kCertSerialList:
                if (sr.done()) return Unexpected("empty KRL serial list");
                while (!sr.done()) s.serials.push_back(sr.u64());
                break;
              case kCertSerialRange: {
                uint64_t lo = sr.u64(), hi = sr.u64();
                sr.expect_done("KRL serial range");
                if (lo > hi) return Unexpected("KRL serial range is inverted");
                s.ranges.emplace_back(lo, hi);
                break;
              }
              case kCertSerialBitmap: {
                uint64_t offset = sr.u64();
                ByteView bits = sr.mpint(kMaxSection);
                sr.expect_done("KRL serial bitmap");
                s.bitmaps.emplace_back(offset, Bytes(bits.begin(), bits.end()));
                break;
              }
              case kCertKeyId:
                read_strings(sd, kMaxKeyId, "key ID",
                             [&](ByteView id) { s.key_ids.emplace(as_string(id)); });
                break;
              case kCertExtension:
                read_extension(sd, "KRL certificate extension");
                break;
              default:
                return Unexpected("unsupported KRL certificate section " + std::to_string(sub));
            }
          }
          std::sort(s.serials.begin(), s.serials.end());
          list.m_cert_sections.push_back(std::move(s));
          break;
        }
        case kSectionExplicitKey:
          read_strings(body, kMaxKeyBlob, "explicit key", [&](ByteView blob) {
            // PROTOCOL.krl §3: raw keys only. Keep the blob; unknown key types simply never
            // match, as sshd cannot be offered them either.
            list.m_keys.emplace(blob.begin(), blob.end());
          });
          break;
        case kSectionFingerprintSha1:
          read_strings(body, 20, "SHA1", [&](ByteView h) {
            if (h.size() != 20) throw ProtocolError("bad SHA1 hash length in KRL");
            list.m_sha1.emplace(h.begin(), h.end());
          });
          break;
        case kSectionFingerprintSha256:
          read_strings(body, 32, "SHA256", [&](ByteView h) {
            if (h.size() != 32) throw ProtocolError("bad SHA256 hash length in KRL");
            list.m_sha256.emplace(h.begin(), h.end());
          });
          break;
        case kSectionExtension:
          read_extension(body, "KRL extension");
          break;
        default:
          return Unexpected("unsupported KRL section " + std::to_string(type));
      }
    }
    return list;
  } catch (const ProtocolError& e) {
    return Unexpected(std::string("malformed KRL: ") + e.what());
  }
}

bool RevocationList::key_revoked(const PublicKey& key) const {
  const Bytes& blob = key.blob();
  if (m_keys.count(blob)) return true;
  if (!m_sha1.empty() && m_sha1.count(digest(EVP_sha1(), blob))) return true;
  if (!m_sha256.empty() && m_sha256.count(digest(EVP_sha256(), blob))) return true;
  return false;
}

bool RevocationList::is_revoked(const PublicKey& key) const {
  return key_revoked(key);
}

bool RevocationList::cert_section_revokes(const CertSection& s, const Certificate& cert) const {
  if (s.ca && *s.ca != cert.signature_key().blob()) return false;
  if (s.key_ids.count(cert.key_id())) return true;
  // Serial zero means the CA does not number its certificates (PROTOCOL.certkeys): it can
  // never be revoked by serial.
  uint64_t serial = cert.serial();
  if (serial == 0) return false;
  if (std::binary_search(s.serials.begin(), s.serials.end(), serial)) return true;
  for (const auto& [lo, hi] : s.ranges)
    if (lo <= serial && serial <= hi) return true;
  for (const auto& [offset, bits] : s.bitmaps) {
    // Bit N of the bitmap, counted from the least significant bit, revokes offset + N.
    if (serial < offset) continue;
    uint64_t n = serial - offset;
    if (n / 8 >= bits.size()) continue;
    if (bits[bits.size() - 1 - size_t(n / 8)] & (1u << (n % 8))) return true;
  }
  return false;
}

RevokedPart RevocationList::revoked_part(const Certificate& cert) const {
  for (const auto& s : m_cert_sections)
    if (cert_section_revokes(s, cert)) return RevokedPart::kCertificate;
  if (key_revoked(cert.key())) return RevokedPart::kKey;
  if (key_revoked(cert.signature_key())) return RevokedPart::kCaKey;
  return RevokedPart::kNone;
}

}  // namespace postern
