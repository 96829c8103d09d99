// The proxy front door's request (HTTP CONNECT, SOCKS4/4a, SOCKS5), which anyone who can reach a
// proxy_listen port sends: bastion::ProxyRequestParser. The input is cut into the pieces a
// client's writes might arrive in (fuzz_input.h split_frames), fed one after the other.
#include <cstddef>
#include <cstdint>

#include "bastion/proxy_request.h"
#include "regress/fuzz/fuzz_input.h"

using namespace postern;
using bastion::ProxyRequestParser;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ProxyRequestParser parser;
  size_t fed = 0;
  for (ByteView piece : fuzz::split_frames(data, size)) {
    auto step = parser.feed(piece);
    fed += piece.size();
    if (step.status == ProxyRequestParser::Status::kNeedMore) {
      // Waiting is only allowed below the limit, and says nothing but SOCKS5's method choice.
      FUZZ_CHECK(fed < bastion::kMaxProxyRequest + piece.size());
      FUZZ_CHECK(step.send.empty() || step.send.size() == 2);
      continue;
    }
    if (step.status == ProxyRequestParser::Status::kDone) {
      FUZZ_CHECK(bastion::is_proxy_host(parser.host()));
      FUZZ_CHECK(parser.port() != 0);
      FUZZ_CHECK(!step.send.empty());
    } else {
      FUZZ_CHECK(!step.error.empty());
    }
    // Answered once: everything after is refused.
    FUZZ_CHECK(parser.feed(piece).status == ProxyRequestParser::Status::kError);
    break;
  }
  return 0;
}
