// The transport's receive path in the server role, fed what a client sends before any key is
// in use: the version line, binary packets (RFC 4253 §6) with KEXINIT and each key exchange's
// first message (ECDH/curve25519/sntrup761/ML-KEM INIT, DH INIT, DH GEX REQUEST), NEWKEYS, and the
// transport messages handled inside (IGNORE, DEBUG, DISCONNECT, UNIMPLEMENTED, EXT_INFO).
#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/ssh_key.h"
#include "net/kex_dh.h"
#include "net/transport.h"
#include "net/transport_local_signer.h"
#include "regress/fuzz/fuzz_input.h"

using namespace postern;
using namespace postern::net;

namespace {

LocalHostKeySigner& host_keys() {
  static LocalHostKeySigner* signer = [] {
    std::vector<PrivateKey> keys;
    keys.push_back(std::move(*PrivateKey::generate(KeyType::kEd25519)));
    keys.push_back(std::move(*PrivateKey::generate(KeyType::kEcdsaP256)));
    return new LocalHostKeySigner(std::move(keys));
  }();
  return *signer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  TransportConfig config;
  config.role = Role::kServer;
  config.host_key_signer = &host_keys();
  // Everything the server can negotiate, so each kex method's parser is reachable. The ML-KEM
  // hybrids come last so the seed corpus (captured from Debian 12's ssh, which has none)
  // negotiates as before; mutated client lists reach them by name.
  config.kex_algorithms = {"sntrup761x25519-sha512@openssh.com",
                           "curve25519-sha256",
                           "curve25519-sha256@libssh.org",
                           "ecdh-sha2-nistp256",
                           "ecdh-sha2-nistp384",
                           "ecdh-sha2-nistp521",
                           "diffie-hellman-group-exchange-sha256",
                           "diffie-hellman-group14-sha256",
                           "diffie-hellman-group16-sha512",
                           "diffie-hellman-group14-sha1",
                           "diffie-hellman-group1-sha1",
                           "mlkem768x25519-sha256",
                           "mlkem768nistp256-sha256"};
  config.compression = {"none", "zlib@openssh.com"};
  // Group exchange without reading /etc/ssh/moduli: the 2048-bit group of RFC 3526.
  config.choose_dh_group = [](uint32_t, uint32_t, uint32_t) -> Result<DhGroup> {
    return *builtin_dh_group(14);
  };
  config.server_sig_algs = {"ssh-ed25519", "rsa-sha2-256"};
  Transport server(config);
  // Two reads, as a socket may split them: the first byte says where.
  size_t cut = size > 0 ? std::min<size_t>(data[0], size - 1) : 0;
  try {
    server.received(ByteView(data + 1, cut));
    while (server.next_message()) {
    }
    server.received(ByteView(data + 1 + cut, size - 1 - cut));
    while (auto m = server.next_message()) {
      if (m->empty() || (*m)[0] != 5) server.send_unimplemented();
    }
    (void)server.negotiated_summary();
  } catch (const ProtocolError&) {
    // sshd-net: log, send what is pending and DISCONNECT, exit.
    server.send_disconnect(2, "fuzz");
  } catch (const ConnectionClosed&) {
  }
  return 0;
}
