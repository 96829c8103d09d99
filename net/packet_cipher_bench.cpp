// Throughput of seal + open on 16 KiB packets for each cipher (and each MAC with AES-CTR), in
// MB/s of payload. Prints only; timing is never asserted. Run with `meson test --benchmark` or
// directly; POSTERN_BENCH_MS sets the time spent per algorithm (default 200) and
// POSTERN_BENCH_PAYLOAD the payload size (default 16384). CPU time is
// measured, not wall time, so a busy machine does not skew the figures much.
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/be_bytes.h"
#include "common/bytes.h"
#include "net/packet_cipher.h"

using namespace postern;
using namespace postern::net;

namespace {

double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

double run(const CipherInfo& cipher, const MacInfo* mac, int ms, size_t payload) {
  Bytes key(cipher.key_len, 0x11), iv(cipher.iv_len, 0x22), mac_key(64, 0x33);
  auto tx = make_packet_cipher(cipher, mac, key, iv, mac_key, true);
  auto rx = make_packet_cipher(cipher, mac, key, iv, mac_key, false);
  size_t bs = tx->block_size();
  size_t pad = bs - (4 + 1 + payload - tx->aad_len()) % bs;
  if (pad < 4) pad += bs;
  Bytes pkt(4 + 1 + payload + pad, 0x5a);
  uint32_t len = uint32_t(pkt.size() - 4);
  Bytes tag(tx->tag_len());
  uint32_t seq = 0;
  size_t bytes = 0;
  double start = cpu_seconds();
  while (cpu_seconds() - start < ms / 1000.0) {
    for (int i = 0; i < 16; ++i, ++seq) {
      store_be32(pkt.data(), len);
      tx->seal(seq, pkt, tag);
      rx->decrypt_length(seq, MutableByteView(pkt).first(rx->length_head_len()));
      if (!rx->open(seq, pkt, tag)) {
        std::fprintf(stderr, "open failed\n");
        std::exit(1);
      }
      bytes += payload;
    }
  }
  double secs = cpu_seconds() - start;
  return double(bytes) / secs / 1e6;
}

}  // namespace

int main() {
  int ms = 200;
  if (const char* e = std::getenv("POSTERN_BENCH_MS")) ms = std::atoi(e);
  size_t payload = 16 * 1024;
  if (const char* e = std::getenv("POSTERN_BENCH_PAYLOAD")) payload = size_t(std::atol(e));
  std::printf("seal+open, %zu-byte payload per packet, MB/s of payload\n", payload);
  for (const auto& c : supported_ciphers()) {
    const CipherInfo* ci = find_cipher(c);
    if (ci->aead) {
      std::printf("%-32s %-32s %8.0f\n", c.c_str(), "(aead)", run(*ci, nullptr, ms, payload));
    } else if (c == "aes128-ctr") {
      for (const auto& m : supported_macs())
        std::printf("%-32s %-32s %8.0f\n", c.c_str(), m.c_str(),
                    run(*ci, find_mac(m), ms, payload));
    } else {
      const char* m = "umac-64-etm@openssh.com";
      std::printf("%-32s %-32s %8.0f\n", c.c_str(), m, run(*ci, find_mac(m), ms, payload));
    }
  }
  return 0;
}
