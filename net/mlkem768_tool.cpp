// Test helper: net/mlkem768.h over stdin/stdout, in the line protocol of
// regress/third_party/noble/mlkem768.mjs, so net/mlkem768_noble_crosscheck.py can put the two
// implementations side by side:
//   keygen SEED64 -> EK DK;  encaps EK M -> C K;  decaps DK C -> K;  otherwise "error MESSAGE".
#include <iostream>
#include <sstream>
#include <string>

#include "common/bytes.h"
#include "net/mlkem768.h"

int main() {
  using namespace postern;
  using namespace postern::net::mlkem768;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream words(line);
    std::string op, a, b;
    words >> op >> a >> b;
    try {
      if (op == "keygen") {
        Bytes seed = from_hex(a);
        if (seed.size() != 64) throw std::invalid_argument("seed must be 64 bytes");
        Bytes ek(kEncapsulationKeySize), dk(kDecapsulationKeySize);
        keygen_internal(ek, dk, ByteView(seed).first(32), ByteView(seed).last(32));
        std::cout << hex(ek) << " " << hex(dk) << std::endl;
      } else if (op == "encaps") {
        Bytes c(kCiphertextSize), k(kSharedSecretSize);
        if (!encapsulate_internal(c, k, from_hex(a), from_hex(b)))
          throw std::invalid_argument("encapsulation key fails the modulus check");
        std::cout << hex(c) << " " << hex(k) << std::endl;
      } else if (op == "decaps") {
        Bytes k(kSharedSecretSize);
        decapsulate(k, from_hex(a), from_hex(b));
        std::cout << hex(k) << std::endl;
      } else {
        std::cout << "error unknown request " << op << std::endl;
      }
    } catch (const std::exception& e) {
      std::cout << "error " << e.what() << std::endl;
    }
  }
  return 0;
}
