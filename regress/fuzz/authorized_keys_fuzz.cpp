// authorized_keys lines as sshd reads them for each publickey attempt: options, key type and
// base64 blob, and the options field alone (also AuthorizedKeysCommand's output lines).
#include <cstddef>
#include <cstdint>

#include "common/authorized_keys.h"
#include "common/ssh_key.h"
#include "regress/fuzz/fuzz_input.h"

using namespace postern;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = fuzz::as_text(data, size);
  auto line = parse_authorized_keys_line(text);
  if (line && *line) {
    (void)PublicKey::from_blob((*line)->blob);
  }
  (void)parse_authorized_key_options(text);
  (void)parse_expiry_time(text);
  return 0;
}
