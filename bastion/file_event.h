// File events (issue 14): what the relay saw a client do to files on the target through an sftp
// subsystem (sftp_observer.h) or the legacy scp protocol (scp_observer.h), one event per
// operation, for the audit log. No file contents: paths, byte counts, a SHA-256, the result.
#pragma once

#include <cstdint>
#include <string>

#include "common/bytes.h"
#include "common/ossl.h"

namespace postern::bastion {

struct FileEvent {
  // open, read, write, close, mkdir, rmdir, remove, rename, setstat, fsetstat, symlink,
  // hardlink, lost. A handle's close is reported as "read" or "write" with its totals when data
  // moved, else "close".
  std::string operation;
  std::string path;
  std::string path2;   // rename, symlink, hardlink: the new name / the link's target
  std::string flags;   // open: "read,write,creat,trunc"; setstat: "mode=0644 size=10"
  uint64_t bytes = 0;  // read or write: the handle's total
  std::string sha256;  // hex; only when the file was read or written in whole from offset 0
  std::string result;  // "ok" or "error: <why>"; lost: why
};

// One line for the audit event's detail: `write /home/u/x.txt 1048576 bytes sha256=... ok`.
std::string describe(const FileEvent& e);

class FileEventSink {
 public:
  virtual ~FileEventSink() = default;
  virtual void file_event(const FileEvent& e) = 0;
};

// Paths come from the peers: at most this many bytes of one are kept (cut ones end in "...").
inline constexpr size_t kMaxEventPath = 512;
std::string bounded_path(std::string_view path);

// A SHA-256 over data fed in order (OpenSSL EVP).
class StreamDigest {
 public:
  StreamDigest();
  void update(ByteView data);
  std::string hex_final();  // once

 private:
  EvpMdCtxPtr m_ctx;
};

}  // namespace postern::bastion
