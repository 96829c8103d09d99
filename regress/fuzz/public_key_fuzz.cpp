// Public keys from outside: the blob of a userauth request or a host key (PublicKey::from_blob),
// a signature over it (verify), and the "type base64 comment" text of *.pub files.
#include <cstddef>
#include <cstdint>

#include "common/ssh_key.h"
#include "regress/fuzz/fuzz_input.h"

using namespace postern;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteView input(data, size);
  if (auto key = PublicKey::from_blob(input)) {
    // What the server does with a key it accepted: log it, list its algorithms, check a
    // signature; and the text form must read back as the same key.
    (void)key->fingerprint_sha256();
    (void)key->log_name();
    (void)key->bits();
    (void)key->signature_algorithms();
    std::string alg;
    (void)key->verify(input, input, &alg);
    auto again = PublicKey::from_openssh_text(key->to_openssh_text());
    FUZZ_CHECK(again && *again == *key);
  }
  // The signature path on its own: a fixed key, the input as a signature blob.
  static const auto fixed = PublicKey::from_openssh_text(
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHSXrpGaWA7ooIv+06VHlwK8iXR4xC7H0ee+Jf9b27YS");
  if (fixed) (void)fixed->verify(input, as_bytes("data"));
  (void)PublicKey::from_openssh_text(fuzz::as_text(data, size));
  return 0;
}
