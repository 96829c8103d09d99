// A FIFO of bytes in one contiguous buffer: data the peer sent that a child could not take yet.
// It only grows to the most that was ever queued (bounded by the receive window we advertise),
// and consumed space is reclaimed by sliding the live bytes to the front, so steady traffic
// allocates nothing.
#pragma once

#include <cstring>

#include "common/bytes.h"

namespace postern::session {

class ByteQueue {
 public:
  bool empty() const { return m_head == m_buf.size(); }
  size_t size() const { return m_buf.size() - m_head; }
  ByteView front() const { return ByteView(m_buf).subspan(m_head); }

  void push(ByteView data) {
    if (data.empty()) return;
    if (m_head > 0 && (empty() || m_head >= m_buf.size() / 2)) compact();
    m_buf.insert(m_buf.end(), data.begin(), data.end());
  }
  void pop(size_t n) {
    m_head += n;
    if (empty()) clear();
  }
  void clear() {
    m_buf.clear();
    m_head = 0;
  }

 private:
  void compact() {
    size_t live = size();
    if (live > 0) std::memmove(m_buf.data(), m_buf.data() + m_head, live);
    m_buf.resize(live);
    m_head = 0;
  }

  Bytes m_buf;
  size_t m_head = 0;
};

}  // namespace postern::session
