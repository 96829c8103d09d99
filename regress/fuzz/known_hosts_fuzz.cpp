// known_hosts text (hostbased authentication, the bastion's target host keys): each line, the
// host name field's patterns and hashed names, and a whole-file lookup.
#include <cstddef>
#include <cstdint>

#include "common/known_hosts.h"
#include "regress/fuzz/fuzz_input.h"

using namespace postern;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = fuzz::as_text(data, size);
  auto first_line = text.substr(0, text.find('\n'));
  if (auto line = parse_known_hosts_line(first_line, 1)) {
    (void)known_hosts_field_matches(line->hosts, "host.example", 2222);
    (void)lookup_known_host(text, "host.example", line->key, false);
    (void)lookup_known_host(text, "[10.0.0.1]:2222", line->key, true);
  }
  (void)known_hosts_field_matches(first_line, "Host.Example", 22);
  return 0;
}
