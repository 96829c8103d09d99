// RevokedKeys files: binary KRLs (PROTOCOL.krl) and the text list, and the lookups sshd makes.
#include <cstddef>
#include <cstdint>

#include "common/krl.h"
#include "common/ssh_cert.h"
#include "regress/fuzz/fuzz_input.h"

using namespace postern;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto krl = RevocationList::parse(ByteView(data, size));
  if (!krl) return 0;
  static const auto key = PublicKey::from_openssh_text(
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHSXrpGaWA7ooIv+06VHlwK8iXR4xC7H0ee+Jf9b27YS");
  if (key) (void)krl->is_revoked(*key);
  return 0;
}
