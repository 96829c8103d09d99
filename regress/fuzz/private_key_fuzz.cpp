// Private key files (HostKey, the bastion's CA key): OpenSSH's format and PEM, through
// PrivateKey::parse. A file that parses must sign, and its public half must verify that.
#include <cstddef>
#include <cstdint>

#include "common/ssh_key.h"
#include "regress/fuzz/fuzz_input.h"

using namespace postern;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto key = PrivateKey::parse(fuzz::as_text(data, size));
  if (!key) return 0;
  const PublicKey& pub = key->public_key();
  for (const std::string& alg : pub.signature_algorithms()) {
    auto sig = key->sign(alg, as_bytes("fuzz"));
    // A key whose private and public halves disagree fails here (a host key must not sign what
    // its own public key refuses).
    if (sig) FUZZ_CHECK(pub.verify(*sig, as_bytes("fuzz")));
  }
  auto again = PrivateKey::parse(key->to_openssh_text("c"));
  FUZZ_CHECK(again && again->public_key() == pub);
  return 0;
}
