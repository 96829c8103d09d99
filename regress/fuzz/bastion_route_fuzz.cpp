// The bastion's user-name syntax (targetuser%target[:port][+extender]%bastionuser), which the
// client chooses freely: bastion::parse_route.
#include <cstddef>
#include <cstdint>

#include "bastion/route.h"
#include "regress/fuzz/fuzz_input.h"

using namespace postern;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto route = bastion::parse_route(fuzz::as_text(data, size));
  if (route && *route) {
    const bastion::Route& r = **route;
    FUZZ_CHECK(r.port >= 0 && r.port <= 65535);
    FUZZ_CHECK(!r.bastion_user.empty());
  }
  return 0;
}
