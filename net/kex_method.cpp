// The registry of key exchange methods by their SSH names (RFC 4250 §4.10 and successors).
#include "net/kex_method.h"

#include "net/kex_curve25519.h"
#include "net/kex_dh.h"
#include "net/kex_ecdh.h"
#include "net/kex_mlkem768_hybrid.h"
#include "net/kex_sntrup761x25519.h"

namespace postern::net {
namespace {

// OpenSSH 9.2 sshd's default KexAlgorithms, in its order (sshd_config(5)), as Debian 12 ships
// it (`sshd -T` on the reference machine): with the hybrid's RFC 9941 name ahead of the
// @openssh.com one, as OpenSSH 9.9 and later also do.
constexpr std::string_view kDefaultMethods[] = {
    kSntrup761X25519RfcName,
    kSntrup761X25519Name,
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "diffie-hellman-group-exchange-sha256",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group14-sha256",
};

// Supported but never offered unless configured. The ML-KEM hybrids (OpenSSH 9.9 and 10.5) are
// not in Debian 12's default list, which `sshd -T` must keep matching; SHA-1 exchange hashes
// and the 1024-bit group are demoted by RFC 9142 §4 (group14-sha1 to MAY, the other two to
// SHOULD NOT).
constexpr std::string_view kConfiguredOnlyMethods[] = {
    kMlkem768X25519Name,
    kMlkem768NistP256Name,
    // RFC 9142 §4 demoted:
    "diffie-hellman-group14-sha1",
    "diffie-hellman-group-exchange-sha1",
    "diffie-hellman-group1-sha1",
};

}  // namespace

std::unique_ptr<KexMethod> make_kex_method(std::string_view name) {
  if (auto m = make_mlkem768_hybrid_kex(name)) return m;
  if (auto m = make_sntrup761x25519_kex(name)) return m;
  if (auto m = make_curve25519_kex(name)) return m;
  if (auto m = make_ecdh_kex(name)) return m;
  if (auto m = make_fixed_dh_kex(name)) return m;
  return nullptr;
}

bool is_group_exchange(std::string_view name) {
  return group_exchange_hash(name) != nullptr;
}

// RFC 4419 §4.1 (SHA-1) and §4.2 (SHA-256).
const EVP_MD* group_exchange_hash(std::string_view name) {
  if (name == "diffie-hellman-group-exchange-sha256") return EVP_sha256();
  if (name == "diffie-hellman-group-exchange-sha1") return EVP_sha1();
  return nullptr;
}

std::vector<std::string> default_kex_methods() {
  return std::vector<std::string>(std::begin(kDefaultMethods), std::end(kDefaultMethods));
}

std::vector<std::string> supported_kex_methods() {
  std::vector<std::string> names = default_kex_methods();
  names.insert(names.end(), std::begin(kConfiguredOnlyMethods), std::end(kConfiguredOnlyMethods));
  return names;
}

}  // namespace postern::net
