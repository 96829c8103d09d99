// File handle requests (draft §6.3, §6.4): OPEN, CLOSE, READ, WRITE.
#include "sftp-server/server.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/be_bytes.h"
#include "common/log.h"
#include "sftp-server/open_flags.h"

namespace postern::sftp {

namespace {

constexpr size_t kDataHeader = 13;  // length, type, id, data length

}  // namespace

void Server::do_open(uint32_t id, Reader& r) {
  std::string path = read_path(r);
  uint32_t pflags = r.u32();
  Attrs a = read_attrs(r);
  int flags = posix_open_flags(pflags);
  mode_t mode = (a.flags & kAttrPermissions) ? (a.permissions & 07777) : 0666;
  log_info("open \"%s\" flags %s mode 0%o", path.c_str(), open_flags_string(pflags).c_str(),
           unsigned(mode));
  if (m_options.read_only &&
      (opened_for_writing(flags) || (flags & (O_CREAT | O_TRUNC | O_APPEND)))) {
    log_verbose("Refusing open request in read-only mode");
    send_status(id, kFxPermissionDenied);
    return;
  }
  if (m_handles.open_count() >= m_handles.max_open()) {
    log_error("open \"%s\": too many open handles", path.c_str());
    send_status(id, kFxFailure);
    return;
  }
  // O_NONBLOCK: opening a FIFO or a terminal must not wedge the whole session (regular files
  // and block devices ignore the flag).
  int fd = ::open(absolute(path).c_str(), flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, mode);
  if (fd < 0) {
    send_errno(id, errno);
    return;
  }
  uint8_t name[kHandleSize];
  OpenHandle* h = m_handles.allocate(OpenHandle::Kind::kFile, name);
  h->fd.reset(fd);
  h->open_flags = flags & (O_ACCMODE | O_APPEND);
  h->path = std::move(path);
  send_handle(id, name);
}

void Server::do_close(uint32_t id, Reader& r) {
  OpenHandle* h = m_handles.find_any(r.string());
  if (!h) {
    send_status(id, kFxFailure);
    return;
  }
  int rc = 0, err = 0;
  if (h->kind == OpenHandle::Kind::kFile) {
    log_info("close \"%s\" bytes read %llu written %llu", h->path.c_str(),
             (unsigned long long)h->bytes_read, (unsigned long long)h->bytes_written);
    rc = ::close(h->fd.release());
  } else {
    log_info("closedir \"%s\"", h->path.c_str());
    rc = closedir(h->dir.release());
  }
  if (rc != 0) err = errno;
  m_handles.release(h);
  send_errno(id, err);
}

void Server::do_read(uint32_t id, Reader& r) {
  OpenHandle* h = m_handles.find(r.string(), OpenHandle::Kind::kFile);
  uint64_t offset = r.u64();
  uint32_t len = std::min(r.u32(), kMaxReadLength);
  if (!h) {
    send_status(id, kFxFailure);
    return;
  }
  if (offset > uint64_t(INT64_MAX)) {
    send_status(id, kFxBadMessage);
    return;
  }
  // The data is read straight into the reply: header first, then pread into the space after.
  uint8_t* p = m_out.reserve(kDataHeader + len);
  ssize_t n;
  do {
    n = pread(h->fd.get(), p + kDataHeader, len, off_t(offset));
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    send_errno(id, errno);
    return;
  }
  if (n == 0 && len > 0) {
    send_status(id, kFxEof);
    return;
  }
  store_be32(p, uint32_t(9 + n));
  p[4] = kFxpData;
  store_be32(p + 5, id);
  store_be32(p + 9, uint32_t(n));
  m_out.commit(kDataHeader + size_t(n));
  h->bytes_read += uint64_t(n);
}

void Server::do_write(uint32_t id, Reader& r) {
  OpenHandle* h = m_handles.find(r.string(), OpenHandle::Kind::kFile);
  uint64_t offset = r.u64();
  ByteView data = r.string(kMaxPacketLength);
  if (!h) {
    send_status(id, kFxFailure);
    return;
  }
  if (offset > uint64_t(INT64_MAX) - data.size()) {
    send_status(id, kFxBadMessage);
    return;
  }
  size_t done = 0;
  while (done < data.size()) {
    // With O_APPEND, Linux pwrite(2) appends whatever the offset says, which is what a
    // client that opened for APPEND asked for.
    ssize_t n = pwrite(h->fd.get(), data.data() + done, data.size() - done, off_t(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      h->bytes_written += done;
      send_errno(id, err);
      return;
    }
    done += size_t(n);
  }
  h->bytes_written += done;
  send_status(id, kFxOk);
}

}  // namespace postern::sftp
