// A FIFO of bytes for the SFTP data path: append at the tail, consume from the head, and write
// straight into reserved tail space (a pread lands where the SSH_FXP_DATA reply goes, and a
// read(2) of client input lands where the request parser looks). Unlike std::vector it never
// zero-fills what it is about to overwrite; it slides the live bytes to the front only when the
// tail is too short, and the live bytes are then at most one partial packet or unsent reply.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>

#include "common/bytes.h"

namespace postern::sftp {

class ByteBuffer {
 public:
  ByteBuffer() = default;
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;

  size_t size() const { return m_end - m_begin; }
  bool empty() const { return m_end == m_begin; }
  ByteView view() const { return {m_data.get() + m_begin, size()}; }
  uint8_t* data() { return m_data.get() + m_begin; }

  void consume(size_t n) {
    m_begin += n;
    if (m_begin == m_end) m_begin = m_end = 0;
  }

  // At least n writable bytes after the live data; valid until the next non-const call.
  uint8_t* reserve(size_t n) {
    if (m_capacity - m_end < n) make_room(n);
    return m_data.get() + m_end;
  }
  size_t tail_room() const { return m_capacity - m_end; }
  void commit(size_t n) { m_end += n; }

  void append(ByteView b) {
    if (b.empty()) return;
    std::memcpy(reserve(b.size()), b.data(), b.size());
    commit(b.size());
  }

  // Drops the live data and, when it has grown past `keep`, the storage too.
  void clear(size_t keep = SIZE_MAX) {
    m_begin = m_end = 0;
    if (m_capacity > keep) {
      m_data.reset();
      m_capacity = 0;
    }
  }

 private:
  void make_room(size_t n) {
    size_t live = size();
    if (m_capacity - live >= n) {
      std::memmove(m_data.get(), m_data.get() + m_begin, live);
    } else {
      size_t cap = m_capacity ? m_capacity : 4096;
      while (cap - live < n) cap *= 2;
      std::unique_ptr<uint8_t[]> bigger(new uint8_t[cap]);
      if (live) std::memcpy(bigger.get(), m_data.get() + m_begin, live);
      m_data = std::move(bigger);
      m_capacity = cap;
    }
    m_begin = 0;
    m_end = live;
  }

  std::unique_ptr<uint8_t[]> m_data;
  size_t m_capacity = 0;
  size_t m_begin = 0;
  size_t m_end = 0;
};

}  // namespace postern::sftp
