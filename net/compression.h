// Payload compression of the binary packet protocol (RFC 4253 §6.2) for "zlib@openssh.com"
// (OpenSSH PROTOCOL §1.3): the "zlib" method (a zlib stream, RFC 1950, per direction, each
// packet's payload ending in a partial flush) whose start is delayed until the server has sent
// SSH_MSG_USERAUTH_SUCCESS, so no unauthenticated peer ever reaches the decompressor.
//
// One object per direction and stream; the transport decides when a stream starts and restarts
// (net/transport.cpp). Neither side allocates per packet: the output buffer is kept and reused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"

namespace postern::net {

inline constexpr std::string_view kCompressionNone = "none";
inline constexpr std::string_view kCompressionZlibOpenssh = "zlib@openssh.com";

// The names the transport can negotiate, preferred first.
std::vector<std::string> supported_compression();

// The sending half: deflate, one zlib stream across packets.
class PacketCompressor {
 public:
  PacketCompressor();
  ~PacketCompressor();
  PacketCompressor(const PacketCompressor&) = delete;
  PacketCompressor& operator=(const PacketCompressor&) = delete;

  // Compresses one payload and ends it with Z_PARTIAL_FLUSH, so the peer can recover all of it
  // from this packet alone while the dictionary carries on to the next (RFC 4253 §6.2). The
  // view is valid until the next call.
  ByteView compress(ByteView payload);
  // Starts a new stream (a new zlib header): what the peer's decompressor expects after NEWKEYS.
  void reset();
  // Payloads compressed since the stream started (0: the state is just the initial one).
  uint64_t packets() const { return m_packets; }

 private:
  struct Stream;
  std::unique_ptr<Stream> m_stream;
  Bytes m_out;
  uint64_t m_packets = 0;
};

// The receiving half: inflate with every packet's result bounded by `max_payload`, so a small
// packet that inflates to gigabytes (a zip bomb) ends the connection instead of the memory.
class PacketDecompressor {
 public:
  explicit PacketDecompressor(size_t max_payload);
  ~PacketDecompressor();
  PacketDecompressor(const PacketDecompressor&) = delete;
  PacketDecompressor& operator=(const PacketDecompressor&) = delete;

  // The payload of one packet. Throws ProtocolError (SSH_DISCONNECT_COMPRESSION_ERROR) on
  // corrupt input, an ended stream, an empty result, or more than max_payload bytes. The view
  // is valid until the next call.
  ByteView decompress(ByteView compressed);
  void reset();
  uint64_t packets() const { return m_packets; }

 private:
  struct Stream;
  std::unique_ptr<Stream> m_stream;
  size_t m_max;
  Bytes m_out;
  uint64_t m_packets = 0;
};

namespace detail {
// Heap allocations zlib has made for these streams so far (tests: none per packet).
uint64_t zlib_allocations();
}  // namespace detail

}  // namespace postern::net
