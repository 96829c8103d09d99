// Exposes make_sntrup761x25519_kex() over stdin/stdout (hex lines) so that
// kex_sntrup761x25519_interop.py can run it against the real OpenSSH ssh and sshd.
//   server: reads Q_C, writes Q_S and the encoded K.
//   client: writes Q_C, reads Q_S, writes the encoded K.
#include <iostream>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "net/kex_sntrup761x25519.h"

int main(int argc, char** argv) {
  using namespace postern;
  std::string_view role = argc > 1 ? argv[1] : "";
  auto kex = net::make_sntrup761x25519_kex();
  std::string line;
  try {
    if (role == "server") {
      if (!std::getline(std::cin, line)) return 2;
      auto reply = kex->server_respond(from_hex(line));
      if (!reply) {
        std::cerr << reply.error().message << "\n";
        return 1;
      }
      std::cout << hex(reply->server_public) << "\n" << hex(reply->shared_secret) << std::endl;
      return 0;
    }
    if (role == "client") {
      std::cout << hex(kex->client_public()) << std::endl;
      if (!std::getline(std::cin, line)) return 2;
      auto k = kex->client_finish(from_hex(line));
      if (!k) {
        std::cerr << k.error().message << "\n";
        return 1;
      }
      std::cout << hex(*k) << std::endl;
      return 0;
    }
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  std::cerr << "usage: kex_sntrup761x25519_interop server|client\n";
  return 2;
}
