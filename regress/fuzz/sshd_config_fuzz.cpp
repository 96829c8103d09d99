// sshd_config text (parse_server_config): keywords, Include (relative to a fixed directory of
// small files, FUZZ_SSHD_CONFIG_DIR) and Match blocks, then what the daemon does with a parsed
// configuration: apply Match for a connection, dump it (-T), and hand it to a child
// (serialize_config / deserialize_config must give back the same configuration).
#include <cstddef>
#include <cstdint>

#include "common/config/server_config.h"
#include "common/log.h"
#include "regress/fuzz/fuzz_input.h"

using namespace postern;
using namespace postern::config;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  LoadOptions options;
  options.sysconfdir = FUZZ_SSHD_CONFIG_DIR;
  auto cfg = parse_server_config(fuzz::as_text(data, size), "fuzz_config", {}, options);
  if (!cfg) return 0;
  ConnectionInfo ci{.user = "alice",
                    .host = "client.example",
                    .addr = "192.0.2.7",
                    .laddr = "198.51.100.1",
                    .lport = 22,
                    .rdomain = ""};
  auto matched = apply_match_for_test(*cfg, ci);
  if (matched) (void)dump_config(*matched);
  std::string wire = serialize_config(*cfg);
  auto back = deserialize_config(wire);
  FUZZ_CHECK(back.has_value());
  FUZZ_CHECK(serialize_config(*back) == wire);
  return 0;
}
