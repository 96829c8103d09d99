// Big-endian uint32 stores and loads on raw bytes, for the places the SFTP data path frames a
// packet in place (a length patched in after the body, a DATA header in front of a pread).
#pragma once

#include <cstdint>

namespace postern::sftp {

inline void put_u32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}

inline uint32_t get_u32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

}  // namespace postern::sftp
