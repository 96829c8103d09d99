// Test helper: common/mldsa44.h over stdin/stdout, in the line protocol of
// regress/third_party/noble/mldsa44.mjs, so common/mldsa44_noble_crosscheck.py can put the two
// implementations side by side. Hex arguments, "-" for an empty one:
//   keygen SEED32            -> PK SK   (ML-DSA.KeyGen_internal)
//   sign SK MSG CTX          -> SIG     (ML-DSA.Sign: hedged, fresh rnd)
//   sign_rnd SK MSG CTX RND  -> SIG     (Sign_internal on M' = 0 || |ctx| || ctx || MSG)
//   verify PK MSG CTX SIG    -> true | false
//   bench ROUNDS             -> CPU microseconds per keygen, sign and verify
// otherwise "error MESSAGE".
#include <ctime>
#include <iostream>
#include <sstream>
#include <string>

#include "common/bytes.h"
#include "common/mldsa44.h"

namespace {

using namespace postern;
using namespace postern::mldsa44;

Bytes arg(const std::string& word) {
  return word == "-" ? Bytes{} : from_hex(word);
}

// Average CPU microseconds of `rounds` calls of f: process CPU time rather than wall time, so
// other work on a loaded machine does not count.
template <typename F>
double microseconds_each(int rounds, F f) {
  std::clock_t start = std::clock();
  for (int i = 0; i < rounds; ++i) f();
  return 1e6 * static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC / rounds;
}

void bench(int rounds) {
  Bytes pk(kPublicKeySize), sk(kSecretKeySize), seed(kSeedSize), sig(kSignatureSize);
  Bytes message = to_bytes("the message an SSH server signs is about this long: 32+");
  double keygen_us = microseconds_each(rounds, [&] { keygen(pk, sk, seed); });
  double sign_us = microseconds_each(rounds, [&] {
    if (!sign(sig, sk, message, {})) throw std::runtime_error("sign failed");
  });
  double verify_us = microseconds_each(rounds, [&] {
    if (!verify(pk, message, {}, sig)) throw std::runtime_error("verify failed");
  });
  std::cout << "keygen_us " << keygen_us << " sign_us " << sign_us << " verify_us " << verify_us
            << std::endl;
}

}  // namespace

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream words(line);
    std::string op, a, b, c, d;
    words >> op >> a >> b >> c >> d;
    try {
      if (op == "keygen") {
        Bytes pk(kPublicKeySize), sk(kSecretKeySize);
        keygen_from_seed(pk, sk, arg(a));
        std::cout << hex(pk) << " " << hex(sk) << std::endl;
      } else if (op == "sign") {
        Bytes sig(kSignatureSize);
        if (!sign(sig, arg(a), arg(b), arg(c))) throw std::invalid_argument("context too long");
        std::cout << hex(sig) << std::endl;
      } else if (op == "sign_rnd") {
        Bytes context = arg(c), message = arg(b), sig(kSignatureSize);
        if (context.size() > kMaxContextSize) throw std::invalid_argument("context too long");
        Bytes formatted{0, static_cast<uint8_t>(context.size())};
        formatted.insert(formatted.end(), context.begin(), context.end());
        formatted.insert(formatted.end(), message.begin(), message.end());
        sign_internal(sig, arg(a), formatted, arg(d));
        std::cout << hex(sig) << std::endl;
      } else if (op == "verify") {
        std::cout << (verify(arg(a), arg(b), arg(c), arg(d)) ? "true" : "false") << std::endl;
      } else if (op == "bench") {
        bench(std::stoi(a));
      } else {
        std::cout << "error unknown request " << op << std::endl;
      }
    } catch (const std::exception& e) {
      std::cout << "error " << e.what() << std::endl;
    }
  }
  return 0;
}
