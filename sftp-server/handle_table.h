// The open files and directories of one SFTP session, named on the wire by opaque handle
// strings (draft-ietf-secsh-filexfer-02 §6.2). A handle is 8 bytes: the slot index and a
// generation counter, so a stale or forged handle never reaches a slot reused for another file.
#pragma once

#include <dirent.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/unique_fd.h"

namespace postern::sftp {

struct DirCloser {
  void operator()(DIR* d) const { closedir(d); }
};

struct OpenHandle {
  enum class Kind { kFree, kFile, kDir };
  Kind kind = Kind::kFree;
  uint32_t generation = 0;
  UniqueFd fd;                          // files
  std::unique_ptr<DIR, DirCloser> dir;  // directories
  std::string path;                     // as the client named it, for the log
  int open_flags = 0;                   // O_ACCMODE and O_APPEND of a file
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;
};

inline constexpr size_t kHandleSize = 8;

class HandleTable {
 public:
  explicit HandleTable(uint32_t max_open) : m_max(max_open) {}

  uint32_t max_open() const { return m_max; }
  uint32_t open_count() const { return m_open; }

  // A free slot made live, or nullptr when max_open handles are open. The returned handle's
  // wire name is written to `name`.
  OpenHandle* allocate(OpenHandle::Kind kind, uint8_t (&name)[kHandleSize]);
  // The live handle of that kind the wire name designates, or nullptr.
  OpenHandle* find(ByteView name, OpenHandle::Kind kind);
  OpenHandle* find_any(ByteView name);
  // Closes the handle's fd or DIR and frees the slot.
  void release(OpenHandle* h);
  void clear();
  template <typename F>
  void for_each_open(F f) {
    for (auto& h : m_slots)
      if (h.kind != OpenHandle::Kind::kFree) f(h);
  }

 private:
  std::vector<OpenHandle> m_slots;
  uint32_t m_max;
  uint32_t m_open = 0;
  uint32_t m_next_generation = 1;
};

}  // namespace postern::sftp
