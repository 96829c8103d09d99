#include "privsep_child/privilege_drop.h"

#include <grp.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/data_limit.h"
#include "common/log.h"
#include "net/sandbox.h"
#include "postern_config.h"
#include "privsep_child/chroot.h"

namespace postern::privsep_child {
namespace {

// OpenSSL reads its configuration and loads providers lazily; do it while files can still be
// opened, and seed the DRBG, so nothing inside the sandbox needs open().
void warm_up_openssl() {
  OPENSSL_init_crypto(
      OPENSSL_INIT_LOAD_CONFIG | OPENSSL_INIT_ADD_ALL_CIPHERS | OPENSSL_INIT_ADD_ALL_DIGESTS,
      nullptr);
  uint8_t b[32];
  RAND_bytes(b, sizeof b);
  for (const char* md : {"SHA1", "SHA256", "SHA384", "SHA512"})
    EVP_MD_free(EVP_MD_fetch(nullptr, md, nullptr));
  for (const char* c : {"AES-128-GCM", "AES-256-GCM", "AES-128-CTR", "AES-192-CTR", "AES-256-CTR",
                        "ChaCha20", "AES-128-ECB", "AES-256-ECB"})
    EVP_CIPHER_free(EVP_CIPHER_fetch(nullptr, c, nullptr));
  EVP_MAC_free(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  for (const char* alg : {"X25519", "EC", "DH", "ED25519", "RSA"}) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, alg, nullptr);
    EVP_PKEY_CTX_free(ctx);
  }
}

}  // namespace

void enter_net_jail(uint64_t max_file_size, bool accept_streams) {
  warm_up_openssl();
  auto jail = net::privsep_jail(POSTERN_PRIVSEP_USER, POSTERN_PRIVSEP_PATH);
  if (!jail) fatal("%s", jail.error().message.c_str());
  jail->max_file_size = max_file_size;
  if (auto r = net::enter_jail(*jail); !r) fatal("%s", r.error().message.c_str());
  if (auto r = cap_data_limit(kNetChildDataLimit, /*hard=*/true); !r)
    fatal("%s", r.error().message.c_str());
  net::SandboxPolicy policy = net::SandboxPolicy::net_child();
  if (accept_streams) policy.allow_accept();
  if (log_enabled(LogLevel::kDebug3)) policy.on_violation(net::SandboxPolicy::Violation::kTrap);
  if (auto r = policy.apply(); !r) fatal("sandbox: %s", r.error().message.c_str());
}

void become_user(const Account& u, const std::vector<gid_t>& groups,
                 const config::ServerConfig& cfg) {
  if (::setgroups(groups.size(), groups.data()) != 0) fatal("setgroups: %s", std::strerror(errno));
  if (chroot_configured(cfg.chroot_directory))
    enter_chroot(cfg.chroot_directory, u.name, u.home, u.uid);
  if (::setresgid(u.gid, u.gid, u.gid) != 0) fatal("setresgid %u: %s", u.gid, std::strerror(errno));
  if (u.uid != 0) {
    if (auto r = net::drop_capability_bounding_set(); !r) fatal("%s", r.error().message.c_str());
    if (::setresuid(u.uid, u.uid, u.uid) != 0)
      fatal("setresuid %u: %s", u.uid, std::strerror(errno));
    if (auto r = net::clear_capabilities(); !r) fatal("%s", r.error().message.c_str());
    if (::setuid(0) == 0 || ::seteuid(0) == 0) fatal("privilege drop failed: could regain root");
  }
  // The process holds the session keys: the user may not attach a debugger to it.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

}  // namespace postern::privsep_child
