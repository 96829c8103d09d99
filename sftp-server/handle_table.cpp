#include "sftp-server/handle_table.h"

#include "common/be_bytes.h"

namespace postern::sftp {

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
  store_be32(name, uint32_t(index));
  store_be32(name + 4, h.generation);
  return &h;
}

OpenHandle* HandleTable::find_any(ByteView name) {
  if (name.size() != kHandleSize) return nullptr;
  uint32_t index = load_be32(name.data());
  if (index >= m_slots.size()) return nullptr;
  OpenHandle& h = m_slots[index];
  if (h.kind == OpenHandle::Kind::kFree || h.generation != load_be32(name.data() + 4))
    return nullptr;
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
