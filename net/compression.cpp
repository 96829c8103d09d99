// zlib@openssh.com's two halves over zlib (RFC 1950/1951): deflate with a partial flush per
// packet, and an inflate bounded per packet. See compression.h.
#include "net/compression.h"

#include <zlib.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>

#include "common/protocol_error.h"

namespace postern::net {

namespace {

// OpenSSH compresses at zlib's level 6 (its debug line "Enabling compression at level 6."),
// which is also zlib's default trade-off between speed and size.
constexpr int kLevel = 6;

std::atomic<uint64_t> g_zlib_allocations{0};

voidpf counting_alloc(voidpf, uInt items, uInt size) {
  ++g_zlib_allocations;
  return std::calloc(items, size);
}
void counting_free(voidpf, voidpf p) {
  std::free(p);
}

[[noreturn]] void compression_error(const std::string& what) {
  throw ProtocolError(what, DisconnectReason::kCompressionError);
}

}  // namespace

uint64_t detail::zlib_allocations() {
  return g_zlib_allocations.load();
}

std::vector<std::string> supported_compression() {
  return {std::string(kCompressionZlibOpenssh), std::string(kCompressionNone)};
}

// ---------------------------------------------------------------------------------- deflate

struct PacketCompressor::Stream {
  z_stream z{};
  Stream() {
    z.zalloc = counting_alloc;
    z.zfree = counting_free;
    if (deflateInit(&z, kLevel) != Z_OK) throw std::runtime_error("deflateInit failed");
  }
  ~Stream() { deflateEnd(&z); }
};

PacketCompressor::PacketCompressor() : m_stream(std::make_unique<Stream>()) {}
PacketCompressor::~PacketCompressor() = default;

void PacketCompressor::reset() {
  // deflateReset keeps the allocated window and hash tables: no allocation on a rekey.
  if (deflateReset(&m_stream->z) != Z_OK) throw std::runtime_error("deflateReset failed");
  m_packets = 0;
}

ByteView PacketCompressor::compress(ByteView payload) {
  z_stream& z = m_stream->z;
  z.next_in = const_cast<Bytef*>(payload.data());
  z.avail_in = uInt(payload.size());
  // Incompressible data grows by a few bytes per stored block plus the flush marker; start with
  // room for that and grow (once, the buffer is kept) in the rare case it was not enough.
  size_t want = payload.size() + payload.size() / 64 + 64;
  if (m_out.size() < want) m_out.resize(want);
  size_t used = 0;
  for (;;) {
    z.next_out = m_out.data() + used;
    z.avail_out = uInt(m_out.size() - used);
    int rc = deflate(&z, Z_PARTIAL_FLUSH);
    used = m_out.size() - z.avail_out;
    // Z_BUF_ERROR only means no progress was possible; the checks below decide what is next.
    if (rc != Z_OK && rc != Z_BUF_ERROR) compression_error("deflate failed: " + std::to_string(rc));
    // zlib's rule for flushing: done once all input is taken and output room is left over.
    if (z.avail_in == 0 && z.avail_out != 0) break;
    if (z.avail_out != 0) compression_error("deflate made no progress");  // never loop
    m_out.resize(m_out.size() * 2);
  }
  ++m_packets;
  return ByteView(m_out.data(), used);
}

// ---------------------------------------------------------------------------------- inflate

struct PacketDecompressor::Stream {
  z_stream z{};
  Stream() {
    z.zalloc = counting_alloc;
    z.zfree = counting_free;
    if (inflateInit(&z) != Z_OK) throw std::runtime_error("inflateInit failed");
  }
  ~Stream() { inflateEnd(&z); }
};

PacketDecompressor::PacketDecompressor(size_t max_payload)
    : m_stream(std::make_unique<Stream>()), m_max(max_payload) {}
PacketDecompressor::~PacketDecompressor() = default;

void PacketDecompressor::reset() {
  if (inflateReset(&m_stream->z) != Z_OK) throw std::runtime_error("inflateReset failed");
  m_packets = 0;
}

ByteView PacketDecompressor::decompress(ByteView compressed) {
  z_stream& z = m_stream->z;
  // One byte more than allowed: filling it proves the payload is too large without ever
  // producing more than that.
  if (m_out.size() < m_max + 1) m_out.resize(m_max + 1);
  z.next_in = const_cast<Bytef*>(compressed.data());
  z.avail_in = uInt(compressed.size());
  z.next_out = m_out.data();
  z.avail_out = uInt(m_max + 1);
  for (;;) {
    int rc = inflate(&z, Z_SYNC_FLUSH);
    if (rc == Z_STREAM_END)
      compression_error("compressed stream ended inside a packet");  // later packets could not
    if (rc == Z_NEED_DICT || rc == Z_DATA_ERROR)
      compression_error(std::string("corrupt compressed data: ") + (z.msg ? z.msg : "?"));
    if (rc == Z_MEM_ERROR) compression_error("decompression: out of memory");
    if (rc != Z_OK && rc != Z_BUF_ERROR) compression_error("inflate failed: " + std::to_string(rc));
    if (z.avail_out == 0)
      compression_error("decompressed packet larger than " + std::to_string(m_max) + " bytes");
    // All input taken with room to spare: everything this packet carries has been produced.
    if (z.avail_in == 0) break;
    // Input left, room left, yet no progress: only possible on a broken stream; never loop.
    if (rc == Z_BUF_ERROR) compression_error("decompression made no progress");
  }
  size_t n = m_max + 1 - z.avail_out;
  if (n == 0) compression_error("empty payload after decompression");
  ++m_packets;
  return ByteView(m_out.data(), n);
}

}  // namespace postern::net
