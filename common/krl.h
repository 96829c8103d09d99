// RevokedKeys (sshd_config(5)): either an OpenSSH Key Revocation List (PROTOCOL.krl, the binary
// format ssh-keygen -k writes, starting "SSHKRL\n\0") or a text file of public keys, one per
// line. A revoked key is refused whether it is offered plainly or inside a certificate; a
// revoked CA key revokes every certificate it signed.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "common/ssh_cert.h"
#include "common/ssh_key.h"

namespace postern {

// Which part of a certificate a revocation list names.
enum class RevokedPart {
  kNone,
  kCertificate,  // by serial or key ID under its CA (binary KRLs only)
  kKey,          // the certified key itself (as a plain key)
  kCaKey,        // the CA key that signed it
};

class RevocationList {
 public:
  // Reads and parses a RevokedKeys file. Errors name the file; a malformed KRL is an error
  // (sshd then refuses every key, as OpenSSH does when it cannot read RevokedKeys).
  static Result<RevocationList> load_file(const std::string& path);
  // Binary when `data` starts with the KRL magic, otherwise the text list.
  static Result<RevocationList> parse(ByteView data);

  // A plain key: revoked by an explicit key, SHA1 or SHA256 hash (KRL) or listed (text).
  bool is_revoked(const PublicKey& key) const;
  // A certificate: revoked by its CA's serial/key-ID sections, or because its certified key or
  // its CA key is revoked as a plain key.
  bool is_revoked(const Certificate& cert) const {
    return revoked_part(cert) != RevokedPart::kNone;
  }
  // As is_revoked, naming what was revoked so the monitor can log sshd's line for the right key
  // ("Authentication key <cert or CA key> revoked by file <path>").
  RevokedPart revoked_part(const Certificate& cert) const;

  bool is_binary() const { return m_binary; }
  // KRL header fields (zero/empty for text lists), for sshd's
  // "KRL version N generated at YYYYMMDDTHHMMSS" debug line.
  uint64_t krl_version() const { return m_version; }
  uint64_t generated_date() const { return m_generated; }
  const std::string& comment() const { return m_comment; }

 private:
  RevocationList() = default;
  static Result<RevocationList> parse_binary(ByteView data);
  static RevocationList parse_text(std::string_view text);
  bool key_revoked(const PublicKey& key) const;

  // One KRL_SECTION_CERTIFICATES section (PROTOCOL.krl §2).
  struct CertSection {
    std::optional<Bytes> ca;                            // the CA key blob; nullopt: any CA
    std::vector<uint64_t> serials;                      // sorted
    std::vector<std::pair<uint64_t, uint64_t>> ranges;  // inclusive
    std::vector<std::pair<uint64_t, Bytes>> bitmaps;    // offset, big-endian bitmap
    std::set<std::string, std::less<>> key_ids;
  };
  bool cert_section_revokes(const CertSection& s, const Certificate& cert) const;

  bool m_binary = false;
  uint64_t m_version = 0, m_generated = 0;
  std::string m_comment;
  std::vector<CertSection> m_cert_sections;
  std::set<Bytes> m_keys;  // plain key blobs: KRL explicit keys, or the text list's keys
  std::set<Bytes> m_sha1, m_sha256;
};

}  // namespace postern
