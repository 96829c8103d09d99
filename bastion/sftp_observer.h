// Watches an sftp subsystem channel (SFTP v3, draft-ietf-secsh-filexfer-02, with OpenSSH's
// PROTOCOL extensions) as the relay forwards it, and reports one FileEvent per file operation
// when the target answers it. I/O-free: the relay feeds it the channel data of each direction.
//
// Bounded: packets larger than kMaxPacket, more than kMaxOutstanding requests awaiting an answer
// or more than kMaxHandles open files, a malformed packet or a version other than 3 end the
// observation with one "lost" event; the data is still relayed, as observation never breaks a
// session.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "bastion/file_event.h"
#include "common/bytes.h"
#include "common/wire.h"

namespace postern::bastion {

class SftpObserver {
 public:
  // OpenSSH's largest SFTP message (256 KiB of data) and room for its header.
  static constexpr size_t kMaxPacket = 256 * 1024 + 1024;
  static constexpr size_t kMaxOutstanding = 1024;
  static constexpr size_t kMaxHandles = 256;

  explicit SftpObserver(FileEventSink& sink) : m_sink(sink) {}

  void from_client(ByteView data) { feed(data, true); }
  void from_target(ByteView data) { feed(data, false); }
  // The channel closed: files still open are reported as closed, result "channel closed".
  void finish();
  bool lost() const { return m_lost; }

 private:
  struct OpenFile {
    std::string path;
    uint32_t pflags = 0;
    uint64_t bytes_read = 0, bytes_written = 0;
    uint64_t read_next = 0, write_next = 0;  // where a sequential transfer goes on
    bool read_in_order = true, write_in_order = true, read_to_eof = false;
    std::string error;                 // the first failed read or write: the close reports it
    bool emptied = false;              // opened with TRUNC or EXCL
    std::optional<uint64_t> size_set;  // an fsetstat's size that succeeded
    std::unique_ptr<StreamDigest> read_digest, write_digest;
  };
  // A request the target has yet to answer, with what its answer is reported with.
  struct Pending {
    uint8_t type = 0;
    std::string operation;  // reported on the answer; "" for reads and writes
    std::string path, path2, flags;
    uint32_t pflags = 0;
    std::string handle;
    uint64_t offset = 0;
    std::optional<uint64_t> size;  // fsetstat: the size it sets
  };

  void feed(ByteView data, bool from_client);
  void packet(ByteView body, bool from_client);
  void request(ByteView body);
  void response(ByteView body);
  void extended(Reader& r, uint32_t id, Pending p);
  void status(const Pending& p, uint32_t code);
  void lose(const std::string& why);
  void track(uint32_t id, Pending p);
  void report_close(OpenFile& f, const std::string& result);

  FileEventSink& m_sink;
  bool m_lost = false;
  Bytes m_partial[2];  // a packet split across data messages: [0] client, [1] target
  std::map<uint32_t, Pending> m_pending;
  std::map<std::string, OpenFile> m_files;  // by handle
};

}  // namespace postern::bastion
