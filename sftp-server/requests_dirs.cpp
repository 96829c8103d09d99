// Directory requests (draft §6.6, §6.7): OPENDIR, READDIR, MKDIR, RMDIR.
#include "sftp-server/server.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "common/be_bytes.h"
#include "common/log.h"

namespace postern::sftp {

namespace {

constexpr size_t kReaddirBatch = 100;            // names per SSH_FXP_NAME, as OpenSSH sends
constexpr size_t kReaddirMaxReply = 128 * 1024;  // and never a reply near the packet limit

}  // namespace

void Server::do_opendir(uint32_t id, Reader& r) {
  std::string path = read_path(r);
  log_info("opendir \"%s\"", path.c_str());
  if (m_handles.open_count() >= m_handles.max_open()) {
    log_error("opendir \"%s\": too many open handles", path.c_str());
    send_status(id, kFxFailure);
    return;
  }
  int fd = ::open(absolute(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    send_errno(id, errno);
    return;
  }
  DIR* dir = fdopendir(fd);
  if (!dir) {
    int err = errno;
    ::close(fd);
    send_errno(id, err);
    return;
  }
  uint8_t name[kHandleSize];
  OpenHandle* h = m_handles.allocate(OpenHandle::Kind::kDir, name);
  h->dir.reset(dir);
  h->path = std::move(path);
  send_handle(id, name);
}

void Server::do_readdir(uint32_t id, Reader& r) {
  OpenHandle* h = m_handles.find(r.string(), OpenHandle::Kind::kDir);
  if (!h) {
    send_status(id, kFxFailure);
    return;
  }
  log_debug("readdir \"%s\"", h->path.c_str());
  DIR* dir = h->dir.get();
  int dfd = dirfd(dir);
  time_t now = time(nullptr);
  Writer& w = begin_reply(kFxpName, id);
  size_t count_at = m_reply_bytes.size();
  w.u32(0);
  uint32_t count = 0;
  while (count < kReaddirBatch && m_reply_bytes.size() < kReaddirMaxReply) {
    errno = 0;
    struct dirent* de = readdir(dir);
    if (!de) {
      if (errno != 0 && count == 0) {
        send_errno(id, errno);
        return;
      }
      break;
    }
    struct stat st;
    // An entry that vanished or cannot be examined is left out, as ls would.
    if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    w.string(de->d_name).string(long_name(de->d_name, st, m_names, now));
    write_attrs(w, attrs_from_stat(st));
    ++count;
  }
  if (count == 0) {
    send_status(id, kFxEof);
    return;
  }
  store_be32(m_reply_bytes.data() + count_at, count);
  end_reply();
}

void Server::do_mkdir(uint32_t id, Reader& r) {
  std::string path = read_path(r);
  Attrs a = read_attrs(r);
  mode_t mode = (a.flags & kAttrPermissions) ? (a.permissions & 07777) : 0777;
  log_info("mkdir name \"%s\" mode 0%o", path.c_str(), unsigned(mode));
  send_errno(id, ::mkdir(absolute(path).c_str(), mode) == 0 ? 0 : errno);
}

void Server::do_rmdir(uint32_t id, Reader& r) {
  std::string path = read_path(r);
  log_info("rmdir name \"%s\"", path.c_str());
  send_errno(id, ::rmdir(absolute(path).c_str()) == 0 ? 0 : errno);
}

}  // namespace postern::sftp
