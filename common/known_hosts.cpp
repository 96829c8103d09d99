#include "common/known_hosts.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <cctype>

#include "common/match_pattern.h"
#include "common/ossl.h"
#include "common/text_lines.h"

namespace postern {
namespace {

constexpr std::string_view kHashMagic = "|1|";
constexpr size_t kSha1Size = 20;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return out;
}

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

// Splits off the next whitespace-separated field.
std::string_view next_field(std::string_view& rest) {
  size_t i = 0;
  while (i < rest.size() && is_blank(rest[i])) ++i;
  rest.remove_prefix(i);
  size_t end = 0;
  while (end < rest.size() && !is_blank(rest[end])) ++end;
  std::string_view field = rest.substr(0, end);
  rest.remove_prefix(end);
  return field;
}

// HMAC-SHA1(salt, name): the hashed host name of OpenSSH's HashKnownHosts (the "|1|" format).
Bytes hmac_sha1(ByteView salt, std::string_view name) {
  EvpMacPtr mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) return {};
  EvpMacCtxPtr ctx(EVP_MAC_CTX_new(mac.get()));
  if (!ctx) return {};
  char digest[] = "SHA1";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  Bytes out(kSha1Size);
  size_t len = 0;
  if (EVP_MAC_init(ctx.get(), salt.data(), salt.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(name.data()), name.size()) !=
          1 ||
      EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 || len != kSha1Size)
    return {};
  return out;
}

// "|1|salt|hash": true when the hash is that of `name`. A malformed entry matches nothing.
bool hashed_name_matches(std::string_view entry, std::string_view name) {
  entry.remove_prefix(kHashMagic.size());
  size_t bar = entry.find('|');
  if (bar == std::string_view::npos) return false;
  Bytes salt, hash;
  if (!base64_decode(entry.substr(0, bar), salt) || !base64_decode(entry.substr(bar + 1), hash))
    return false;
  if (salt.size() != kSha1Size || hash.size() != kSha1Size) return false;
  Bytes mine = hmac_sha1(salt, name);
  return !mine.empty() && equal_ct(mine, hash);
}

}  // namespace

std::optional<KnownHostsLine> parse_known_hosts_line(std::string_view line, size_t line_no) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::string_view rest = line;
  std::string_view field = next_field(rest);
  if (field.empty() || field[0] == '#') return std::nullopt;
  KnownHostMarker marker = KnownHostMarker::kNone;
  if (field[0] == '@') {
    if (field == "@cert-authority")
      marker = KnownHostMarker::kCertAuthority;
    else if (field == "@revoked")
      marker = KnownHostMarker::kRevoked;
    else
      return std::nullopt;
    field = next_field(rest);
    if (field.empty()) return std::nullopt;
  }
  // "keytype base64 [comment]", as in a .pub file.
  while (!rest.empty() && is_blank(rest.front())) rest.remove_prefix(1);
  auto key = PublicKey::from_openssh_text(rest);
  if (!key) return std::nullopt;
  return KnownHostsLine{marker, std::string(field), std::move(*key), line_no};
}

bool known_hosts_field_matches(std::string_view hosts, std::string_view name, int port) {
  // A non-standard port is written "[host]:port" (sshd(8)); the lookup name takes that form too.
  std::string wanted = lower(name);
  if (port != 22) wanted = "[" + wanted + "]:" + std::to_string(port);
  if (hosts.substr(0, kHashMagic.size()) == kHashMagic) return hashed_name_matches(hosts, wanted);
  return match_pattern_list(wanted, hosts, true) == PatternMatch::kMatch;
}

KnownHostLookup lookup_known_host(std::string_view text, std::string_view name,
                                  const PublicKey& key, bool as_ca) {
  KnownHostLookup found;
  // Only lines that carry the key's base64 can match; skip the others without parsing keys.
  const std::string key_b64 = base64_encode(key.blob());
  TextLines lines(text);
  std::string_view line;
  while (lines.next(line)) {
    const size_t line_no = lines.number();
    if (line.find(key_b64) == std::string_view::npos) continue;
    auto parsed = parse_known_hosts_line(line, line_no);
    if (!parsed || !(parsed->key == key)) continue;
    if (!known_hosts_field_matches(parsed->hosts, name)) continue;
    switch (parsed->marker) {
      case KnownHostMarker::kRevoked:
        // Revoked keys "are never accepted for authentication or as certification authorities".
        return {KnownHostStatus::kRevoked, line_no};
      case KnownHostMarker::kCertAuthority:
        if (as_ca && found.status == KnownHostStatus::kNotFound)
          found = {KnownHostStatus::kFound, line_no};
        break;
      case KnownHostMarker::kNone:
        if (!as_ca && found.status == KnownHostStatus::kNotFound)
          found = {KnownHostStatus::kFound, line_no};
        break;
    }
  }
  return found;
}

std::string hash_known_host_name(std::string_view name, ByteView salt) {
  return std::string(kHashMagic) + base64_encode(salt) + "|" +
         base64_encode(hmac_sha1(salt, lower(name)));
}

}  // namespace postern
