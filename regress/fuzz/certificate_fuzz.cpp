// OpenSSH certificates (PROTOCOL.certkeys) from a userauth request or a HostCertificate file:
// Certificate::from_blob, which also verifies the CA's signature, and the text form.
#include <cstddef>
#include <cstdint>

#include "common/ssh_cert.h"
#include "regress/fuzz/fuzz_input.h"

using namespace postern;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteView input(data, size);
  if (auto cert = Certificate::from_blob(input)) {
    (void)cert->key().fingerprint_sha256();
  }
  (void)Certificate::from_openssh_text(fuzz::as_text(data, size));
  return 0;
}
