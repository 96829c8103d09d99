#include "sftp-server/handle_table.h"

namespace postern::sftp {

namespace {
void put_u32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}
uint32_t get_u32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}
}  // namespace

OpenHandle* HandleTable::allocate(OpenHandle::Kind kind, uint8_t (&name)[kHandleSize]) {
  if (m_open >= m_max) return nullptr;
  size_t index = 0;
  while (index < m_slots.size() && m_slots[index].kind != OpenHandle::Kind::kFree) ++index;
  if (index == m_slots.size()) m_slots.emplace_back();
  OpenHandle& h = m_slots[index];
  h.kind = kind;
  h.generation = m_next_generation++;
  if (m_next_generation == 0) m_next_generation = 1;
  h.open_flags = 0;
  h.bytes_read = h.bytes_written = 0;
  h.path.clear();
  ++m_open;
  put_u32(name, uint32_t(index));
  put_u32(name + 4, h.generation);
  return &h;
}

OpenHandle* HandleTable::find_any(ByteView name) {
  if (name.size() != kHandleSize) return nullptr;
  uint32_t index = get_u32(name.data());
  if (index >= m_slots.size()) return nullptr;
  OpenHandle& h = m_slots[index];
  if (h.kind == OpenHandle::Kind::kFree || h.generation != get_u32(name.data() + 4)) return nullptr;
  return &h;
}

OpenHandle* HandleTable::find(ByteView name, OpenHandle::Kind kind) {
  OpenHandle* h = find_any(name);
  return h && h->kind == kind ? h : nullptr;
}

void HandleTable::release(OpenHandle* h) {
  h->fd.reset();
  h->dir.reset();
  h->kind = OpenHandle::Kind::kFree;
  h->path.clear();
  h->path.shrink_to_fit();
  --m_open;
}

void HandleTable::clear() {
  for (auto& h : m_slots)
    if (h.kind != OpenHandle::Kind::kFree) release(&h);
}

}  // namespace postern::sftp
