// Algorithm lists in sshd_config(5): a comma-separated list replaces the default; "+list" appends
// to it, "-list" removes names (wildcards allowed) from it, "^list" puts names at its head.
// Duplicates are dropped, keeping the first. The names are the ones OpenSSH 9.2 knows, so an
// existing sshd_config parses; the transport offers only those it implements.
#include <algorithm>
#include <string>
#include <vector>

#include "common/config/keywords.h"
#include "common/join.h"
#include "common/match_pattern.h"

namespace postern::config::detail {
namespace {

constexpr const char* kCiphers[] = {"chacha20-poly1305@openssh.com",
                                    "aes128-ctr",
                                    "aes192-ctr",
                                    "aes256-ctr",
                                    "aes128-gcm@openssh.com",
                                    "aes256-gcm@openssh.com",
                                    "aes128-cbc",
                                    "aes192-cbc",
                                    "aes256-cbc",
                                    "rijndael-cbc@lysator.liu.se",
                                    "3des-cbc"};
constexpr const char* kMacs[] = {"hmac-sha1",
                                 "hmac-sha1-96",
                                 "hmac-sha2-256",
                                 "hmac-sha2-512",
                                 "hmac-md5",
                                 "hmac-md5-96",
                                 "umac-64@openssh.com",
                                 "umac-128@openssh.com",
                                 "hmac-sha1-etm@openssh.com",
                                 "hmac-sha1-96-etm@openssh.com",
                                 "hmac-sha2-256-etm@openssh.com",
                                 "hmac-sha2-512-etm@openssh.com",
                                 "hmac-md5-etm@openssh.com",
                                 "hmac-md5-96-etm@openssh.com",
                                 "umac-64-etm@openssh.com",
                                 "umac-128-etm@openssh.com"};
// The ML-KEM hybrids at the end (OpenSSH 9.9 and 10.5, issue 17) are accepted when named; the
// default list (net/kex_method.cpp) stays Debian 12's.
constexpr const char* kKex[] = {"diffie-hellman-group1-sha1",
                                "diffie-hellman-group14-sha1",
                                "diffie-hellman-group14-sha256",
                                "diffie-hellman-group16-sha512",
                                "diffie-hellman-group18-sha512",
                                "diffie-hellman-group-exchange-sha1",
                                "diffie-hellman-group-exchange-sha256",
                                "ecdh-sha2-nistp256",
                                "ecdh-sha2-nistp384",
                                "ecdh-sha2-nistp521",
                                "curve25519-sha256",
                                "curve25519-sha256@libssh.org",
                                "sntrup761x25519-sha512@openssh.com",
                                "sntrup761x25519-sha512",
                                "mlkem768x25519-sha256",
                                "mlkem768nistp256-sha256"};
// In the order sshd expands "*" to (sshd -T with HostKeyAlgorithms *).
constexpr const char* kKeyTypes[] = {"ssh-ed25519",
                                     "ssh-ed25519-cert-v01@openssh.com",
                                     "sk-ssh-ed25519@openssh.com",
                                     "sk-ssh-ed25519-cert-v01@openssh.com",
                                     "ecdsa-sha2-nistp256",
                                     "ecdsa-sha2-nistp256-cert-v01@openssh.com",
                                     "ecdsa-sha2-nistp384",
                                     "ecdsa-sha2-nistp384-cert-v01@openssh.com",
                                     "ecdsa-sha2-nistp521",
                                     "ecdsa-sha2-nistp521-cert-v01@openssh.com",
                                     "sk-ecdsa-sha2-nistp256@openssh.com",
                                     "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
                                     "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
                                     "ssh-dss",
                                     "ssh-dss-cert-v01@openssh.com",
                                     "ssh-rsa",
                                     "ssh-rsa-cert-v01@openssh.com",
                                     "rsa-sha2-256",
                                     "rsa-sha2-256-cert-v01@openssh.com",
                                     "rsa-sha2-512",
                                     "rsa-sha2-512-cert-v01@openssh.com"};
// OpenSSH 10.5's ML-DSA-44 hybrid (issue 17, common/ssh_key_mldsa44_ed25519.cpp): used when a
// list names it, in no 9.2 default. A wildcard stands for these only when it matches no 9.2 name
// ("ssh-mldsa44-ed25519*"), so "*" still expands as Debian 12's sshd -T shows it.
constexpr const char* kNewerKeyTypes[] = {"ssh-mldsa44-ed25519@openssh.com",
                                          "ssh-mldsa44-ed25519-cert-v01@openssh.com"};
constexpr const char* kGssKex[] = {
    "gss-gex-sha1-",       "gss-group1-sha1-",     "gss-group14-sha1-",     "gss-group14-sha256-",
    "gss-group16-sha512-", "gss-nistp256-sha256-", "gss-curve25519-sha256-"};

std::vector<std::string> split_commas(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string_view::npos) end = s.size();
    out.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

bool is_known_algorithm(AlgorithmKind kind, std::string_view name) {
  auto in = [&](const auto& list) {
    return std::any_of(std::begin(list), std::end(list), [&](const char* n) { return name == n; });
  };
  switch (kind) {
    case AlgorithmKind::kCipher:
      return in(kCiphers);
    case AlgorithmKind::kMac:
      return in(kMacs);
    case AlgorithmKind::kKex:
      return in(kKex);
    case AlgorithmKind::kKeyType:
    case AlgorithmKind::kCaKeyType:
      return in(kKeyTypes) || in(kNewerKeyTypes);
    case AlgorithmKind::kGssKex:
      return in(kGssKex);
  }
  return false;
}

namespace {

// Every name of a kind, in the order OpenSSH lists them, for expanding wildcards.
std::vector<std::string> known_algorithms(AlgorithmKind kind) {
  auto all = [](const auto& list) {
    return std::vector<std::string>(std::begin(list), std::end(list));
  };
  switch (kind) {
    case AlgorithmKind::kCipher:
      return all(kCiphers);
    case AlgorithmKind::kMac:
      return all(kMacs);
    case AlgorithmKind::kKex:
      return all(kKex);
    case AlgorithmKind::kKeyType:
      return all(kKeyTypes);
    case AlgorithmKind::kCaKeyType: {
      std::vector<std::string> plain;
      for (const char* n : kKeyTypes)
        if (!std::string_view(n).ends_with("-cert-v01@openssh.com")) plain.emplace_back(n);
      return plain;
    }
    case AlgorithmKind::kGssKex:
      return all(kGssKex);
  }
  return {};
}

bool has_wildcard(const std::string& n) {
  return n.find_first_of("*?") != std::string::npos;
}

}  // namespace

bool assemble_algorithms(AlgorithmKind kind, std::string_view spec, std::string_view defaults,
                         std::string& out) {
  if (spec.empty()) return false;
  char op = spec[0];
  std::vector<std::string> names;
  std::vector<std::string> def = split_commas(defaults);
  std::vector<std::string> given =
      split_commas(op == '+' || op == '-' || op == '^' ? spec.substr(1) : spec);
  // sshd ignores empty entries ("a,,b", "a,").
  given.erase(std::remove(given.begin(), given.end(), std::string()), given.end());
  if (given.empty()) return false;
  // Key type lists may hold wildcards ("HostKeyAlgorithms *", as sshd accepts; its cipher, MAC
  // and kex lists do not): a pattern stands for the known names it matches, in their usual order.
  // A pattern that matches nothing is an error.
  bool wildcards = kind == AlgorithmKind::kKeyType || kind == AlgorithmKind::kCaKeyType;
  if (op != '-' && !wildcards) {
    for (const auto& n : given)
      if (!is_known_algorithm(kind, n)) return false;
  } else if (op != '-') {
    std::vector<std::string> expanded;
    for (const auto& n : given) {
      if (!has_wildcard(n)) {
        if (!is_known_algorithm(kind, n)) return false;
        expanded.push_back(n);
        continue;
      }
      size_t before = expanded.size();
      for (const auto& k : known_algorithms(kind))
        if (match_pattern(k, n)) expanded.push_back(k);
      if (expanded.size() == before)
        for (const char* k : kNewerKeyTypes)
          if (match_pattern(k, n) && (kind == AlgorithmKind::kKeyType ||
                                      !std::string_view(k).ends_with("-cert-v01@openssh.com")))
            expanded.emplace_back(k);
      if (expanded.size() == before) return false;
    }
    given = std::move(expanded);
  }
  if (op == '-') {
    for (const auto& d : def) {
      bool removed = std::any_of(given.begin(), given.end(),
                                 [&](const std::string& p) { return match_pattern(d, p); });
      if (!removed) names.push_back(d);
    }
    // Removing every name leaves the defaults, as OpenSSH 9.2's sshd -T shows ("Ciphers -*");
    // an empty list would also not survive the configuration's trip to the children (found by
    // the sshd_config fuzzer).
    if (names.empty()) names = def;
  } else if (op == '+') {
    names = def;
    names.insert(names.end(), given.begin(), given.end());
  } else if (op == '^') {
    names = given;
    names.insert(names.end(), def.begin(), def.end());
  } else {
    names = given;
  }
  std::vector<std::string> seen;
  for (const auto& n : names)
    if (std::find(seen.begin(), seen.end(), n) == seen.end()) seen.push_back(n);
  out = join(seen, ",");
  return true;
}

}  // namespace postern::config::detail
