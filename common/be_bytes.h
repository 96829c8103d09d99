// Big-endian (network order, RFC 4251 §5) loads and stores on raw bytes, for the places that frame
// a message in place instead of going through a Writer: packet lengths and sequence numbers, the
// CHANNEL_DATA header written in front of a read, the SFTP DATA header, MAC inputs.
#pragma once

#include <cstdint>

namespace postern {

inline uint32_t load_be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

inline uint64_t load_be64(const uint8_t* p) {
  return uint64_t(load_be32(p)) << 32 | load_be32(p + 4);
}

inline void store_be32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}

}  // namespace postern
