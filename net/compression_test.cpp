// zlib@openssh.com payload compression: round trips, the per-packet partial flush checked with
// zlib itself as the reference on the other end, stream restarts, and the zip-bomb limit.
#include "net/compression.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <random>
#include <string>

#include "common/protocol_error.h"
#include "net/heap_counter_test_support.h"

namespace postern::net {
namespace {

constexpr size_t kMax = 256 * 1024;

Bytes text_payload(size_t n, uint32_t seed) {
  static const char* words[] = {"channel ", "data ", "window ", "adjust ", "zlib ", "ssh "};
  std::mt19937 rng(seed);
  Bytes b;
  b.push_back(94);  // SSH_MSG_CHANNEL_DATA
  while (b.size() < n) {
    const char* w = words[rng() % 6];
    b.insert(b.end(), w, w + std::strlen(w));
  }
  b.resize(n);
  return b;
}

Bytes random_payload(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& c : b) c = uint8_t(rng());
  b[0] = 94;
  return b;
}

// zlib used directly, as an independent peer would.
struct RefInflate {
  z_stream z{};
  RefInflate() { EXPECT_EQ(inflateInit(&z), Z_OK); }
  ~RefInflate() { inflateEnd(&z); }
  // Everything this one packet yields, with only this packet's bytes as input.
  Bytes packet(ByteView in) {
    Bytes out(kMax);
    z.next_in = const_cast<Bytef*>(in.data());
    z.avail_in = uInt(in.size());
    z.next_out = out.data();
    z.avail_out = uInt(out.size());
    int rc = inflate(&z, Z_SYNC_FLUSH);
    EXPECT_TRUE(rc == Z_OK || rc == Z_BUF_ERROR) << rc;
    EXPECT_EQ(z.avail_in, 0u);
    out.resize(out.size() - z.avail_out);
    return out;
  }
};

struct RefDeflate {
  z_stream z{};
  explicit RefDeflate(int level = Z_DEFAULT_COMPRESSION) {
    EXPECT_EQ(deflateInit(&z, level), Z_OK);
  }
  ~RefDeflate() { deflateEnd(&z); }
  Bytes packet(ByteView in, int flush = Z_PARTIAL_FLUSH) {
    Bytes out(in.size() * 2 + 1024);
    z.next_in = const_cast<Bytef*>(in.data());
    z.avail_in = uInt(in.size());
    z.next_out = out.data();
    z.avail_out = uInt(out.size());
    int rc = deflate(&z, flush);
    EXPECT_TRUE(rc == Z_OK || rc == Z_STREAM_END) << rc;
    EXPECT_EQ(z.avail_in, 0u);
    out.resize(out.size() - z.avail_out);
    return out;
  }
};

Bytes copy(ByteView v) {
  return Bytes(v.begin(), v.end());
}

TEST(Compression, SupportedNames) {
  EXPECT_EQ(supported_compression(), (std::vector<std::string>{"zlib@openssh.com", "none"}));
}

TEST(Compression, RoundTripManyPacketsOneStream) {
  PacketCompressor c;
  PacketDecompressor d(kMax);
  size_t plain = 0, wire = 0;
  for (uint32_t i = 0; i < 300; ++i) {
    size_t n = 1 + (i * 7919) % 40000;
    Bytes p = i % 5 == 4 ? random_payload(n, i) : text_payload(n, i);
    Bytes z = copy(c.compress(p));
    plain += p.size();
    wire += z.size();
    ASSERT_EQ(copy(d.decompress(z)), p) << "packet " << i;
  }
  EXPECT_EQ(c.packets(), 300u);
  EXPECT_EQ(d.packets(), 300u);
  EXPECT_LT(wire, plain / 2);  // mostly text: the dictionary carries across packets
}

TEST(Compression, LargestPayloadsIncompressible) {
  PacketCompressor c;
  PacketDecompressor d(kMax);
  for (uint32_t i = 0; i < 3; ++i) {
    Bytes p = random_payload(kMax - 64, 100 + i);
    Bytes z = copy(c.compress(p));
    EXPECT_GT(z.size(), p.size());  // stored blocks: a little larger, never a failure
    EXPECT_LT(z.size(), p.size() + p.size() / 64 + 64);
    EXPECT_EQ(copy(d.decompress(z)), p);
  }
}

// The partial flush: a reference inflater recovers each payload completely from that packet's
// bytes alone, and the stream is a zlib stream (RFC 1950 header) continued across packets.
TEST(Compression, PartialFlushInteropWithReferenceInflate) {
  PacketCompressor c;
  RefInflate ref;
  for (uint32_t i = 0; i < 100; ++i) {
    Bytes p = text_payload(1 + i * 131, i);
    Bytes z = copy(c.compress(p));
    if (i == 0) {
      ASSERT_GE(z.size(), 2u);
      EXPECT_EQ(z[0] & 0x0f, 8);  // CM = deflate
      EXPECT_EQ(((z[0] << 8) | z[1]) % 31, 0);
    }
    ASSERT_EQ(ref.packet(z), p) << "packet " << i;
  }
}

// The other way: what a peer's zlib sends with Z_PARTIAL_FLUSH (OpenSSH) or Z_SYNC_FLUSH.
TEST(Compression, DecompressesReferenceDeflate) {
  for (int flush : {Z_PARTIAL_FLUSH, Z_SYNC_FLUSH}) {
    for (int level : {1, 6, 9}) {
      RefDeflate ref(level);
      PacketDecompressor d(kMax);
      for (uint32_t i = 0; i < 60; ++i) {
        Bytes p = i % 3 ? text_payload(1 + i * 977, i) : random_payload(1 + i * 500, i);
        ASSERT_EQ(copy(d.decompress(ref.packet(p, flush))), p) << flush << " " << level << " " << i;
      }
    }
  }
}

TEST(Compression, ResetStartsANewStream) {
  PacketCompressor c;
  PacketDecompressor d(kMax);
  Bytes p = text_payload(5000, 1);
  EXPECT_EQ(copy(d.decompress(c.compress(p))), p);
  c.reset();
  EXPECT_EQ(c.packets(), 0u);
  Bytes z = copy(c.compress(p));
  // A continuing decompressor cannot read a new stream's header as a block: the reset must be
  // mirrored on both ends (at NEWKEYS), which this shows fails loudly rather than silently.
  EXPECT_THROW(d.decompress(z), ProtocolError);
  PacketDecompressor d2(kMax);
  d2.decompress(copy(PacketCompressor().compress(p)));
  d2.reset();
  EXPECT_EQ(copy(d2.decompress(z)), p);
  RefInflate ref;
  EXPECT_EQ(ref.packet(z), p);
}

TEST(Compression, ZipBombIsRefusedWithBoundedOutput) {
  // 16 MiB of zeros deflate to ~16 KiB: well inside one packet, far beyond the payload limit.
  Bytes zeros(16 * 1024 * 1024, 0);
  zeros[0] = 94;
  RefDeflate ref(9);
  Bytes bomb = ref.packet(zeros);
  ASSERT_LT(bomb.size(), kMax);
  PacketDecompressor d(kMax);
  try {
    d.decompress(bomb);
    FAIL() << "bomb accepted";
  } catch (const ProtocolError& e) {
    EXPECT_EQ(e.reason(), DisconnectReason::kCompressionError);
    EXPECT_NE(std::string(e.what()).find("larger than"), std::string::npos) << e.what();
  }
}

TEST(Compression, LimitIsExact) {
  for (size_t n : {kMax, kMax + 1}) {
    RefDeflate ref;
    Bytes p = text_payload(n, 7);
    PacketDecompressor d(kMax);
    Bytes z = ref.packet(p);
    if (n == kMax)
      EXPECT_EQ(copy(d.decompress(z)), p);
    else
      EXPECT_THROW(d.decompress(z), ProtocolError);
  }
}

TEST(Compression, BadInputIsAProtocolError) {
  Bytes p = text_payload(3000, 3);
  {
    PacketDecompressor d(kMax);
    Bytes garbage = {0x12, 0x34, 0x56, 0x78, 0x9a};
    EXPECT_THROW(d.decompress(garbage), ProtocolError);
  }
  {
    PacketDecompressor d(kMax);
    Bytes z = copy(PacketCompressor().compress(p));
    z[z.size() / 2] ^= 0xff;
    // Corruption inside a block is either detected or yields other bytes; never a crash.
    try {
      EXPECT_NE(copy(d.decompress(z)), p);
    } catch (const ProtocolError&) {
    }
  }
  {
    // A peer that finishes its stream cannot send another packet on it.
    RefDeflate ref;
    PacketDecompressor d(kMax);
    EXPECT_THROW(d.decompress(ref.packet(p, Z_FINISH)), ProtocolError);
  }
  {
    // An empty payload (a bare flush) has no message number.
    RefDeflate ref;
    PacketDecompressor d(kMax);
    EXPECT_THROW(d.decompress(ref.packet(ByteView())), ProtocolError);
  }
}

TEST(Compression, NoAllocationPerPacket) {
  PacketCompressor c;
  PacketDecompressor d(kMax);
  std::vector<Bytes> payloads;
  for (uint32_t i = 0; i < 200; ++i) payloads.push_back(text_payload(1 + (i * 4099) % 32768, i));
  Bytes warm = random_payload(40000, 9);
  d.decompress(c.compress(warm));  // buffers and inflate's window appear on first use
  long news = test_support::g_heap_allocations.load();
  uint64_t zallocs = detail::zlib_allocations();
  size_t total = 0;
  for (size_t i = 0; i < payloads.size(); ++i) {
    total += d.decompress(c.compress(payloads[i])).size();
    if (i % 20 == 19) {  // what each NEWKEYS does
      c.reset();
      d.reset();
    }
  }
  EXPECT_EQ(test_support::g_heap_allocations.load(), news);
  EXPECT_EQ(detail::zlib_allocations(), zallocs);
  size_t expected = 0;
  for (const auto& p : payloads) expected += p.size();
  EXPECT_EQ(total, expected);
}

}  // namespace
}  // namespace postern::net
