// The first OpenSSL call of each per-connection process (sshd-session, sshd-net, sshd-user,
// sshd-bastion).
#pragma once

#include <openssl/crypto.h>

namespace postern {

// OPENSSL_INIT_NO_ATEXIT: OpenSSL's exit handler frees, one entry at a time, every table it built
// (the provider's algorithm stores, the name maps, the error strings): about 0.3 ms of each of a
// connection's short-lived processes (docs/performance.md), for memory the kernel takes back at
// once. It must precede every other OpenSSL call, the first of which would register the handler.
// Secrets are not left to it: their owners (EvpPkeyPtr, SecretBytes) free and cleanse them.
inline void init_openssl_without_exit_handler() {
  OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr);
}

}  // namespace postern
