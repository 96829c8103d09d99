// The SOCKS5 server's messages as the monitor reads them from an extender (method selection,
// CONNECT reply): bastion::Socks5Connect. Whoever holds the extender's connection writes them.
// The input's first byte picks the host the request names (IPv4, IPv6 or a domain name); the
// rest is cut into reads (fuzz_input.h split_frames), each clipped to wanted() as the monitor's
// loop clips its read, empty reads included.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string_view>

#include "bastion/socks5_client.h"
#include "regress/fuzz/fuzz_input.h"

using namespace postern;
using bastion::Socks5Connect;

namespace {

constexpr std::string_view kHosts[] = {"10.1.2.3", "2001:db8::7", "web1.internal"};

bool finished(Socks5Connect::State state) {
  return state == Socks5Connect::State::kDone || state == Socks5Connect::State::kFailed;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Socks5Connect socks(kHosts[data[0] % std::size(kHosts)], 22);
  FUZZ_CHECK(socks.take_output().size() == 3);  // VER NMETHODS METHODS
  for (ByteView read : fuzz::split_frames(data + 1, size - 1)) {
    Socks5Connect::State before = socks.state();
    size_t wanted = socks.wanted();
    // A message is at most a domain-name reply: 4 + 1 + 255 + 2 bytes.
    FUZZ_CHECK(wanted <= 262);
    FUZZ_CHECK(finished(before) == (wanted == 0));
    socks.on_input(read.first(std::min(read.size(), wanted)));
    Socks5Connect::State after = socks.state();
    // The end, done or failed, is final; an error is said exactly when it failed.
    if (finished(before)) FUZZ_CHECK(after == before);
    FUZZ_CHECK((after == Socks5Connect::State::kFailed) == !socks.error().empty());
    Bytes out = socks.take_output();
    // The CONNECT request goes out once, when the method is chosen, and nothing else ever does.
    if (before == Socks5Connect::State::kGreeting && after == Socks5Connect::State::kReply)
      FUZZ_CHECK(out.size() >= 10 && out[0] == 5 && out[1] == 1);
    else
      FUZZ_CHECK(out.empty());
  }
  return 0;
}
