// Attribute requests (draft §6.8, §6.9; PROTOCOL §4.6): STAT, LSTAT, FSTAT, SETSTAT,
// FSETSTAT and lsetstat@openssh.com.
#include "sftp-server/server.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "common/log.h"

namespace postern::sftp {

void Server::stat_common(uint32_t id, Reader& r, bool follow, const char* what) {
  std::string path = read_path(r);
  log_verbose("%s name \"%s\"", what, path.c_str());
  struct stat st;
  int rc = follow ? ::stat(absolute(path).c_str(), &st) : ::lstat(absolute(path).c_str(), &st);
  if (rc != 0) {
    send_errno(id, errno);
    return;
  }
  send_attrs(id, st);
}

void Server::do_lstat(uint32_t id, Reader& r) {
  stat_common(id, r, false, "lstat");
}
void Server::do_stat(uint32_t id, Reader& r) {
  stat_common(id, r, true, "stat");
}

void Server::do_fstat(uint32_t id, Reader& r) {
  OpenHandle* h = m_handles.find_any(r.string());
  if (!h) {
    send_status(id, kFxFailure);
    return;
  }
  log_verbose("fstat \"%s\"", h->path.c_str());
  int fd = h->kind == OpenHandle::Kind::kFile ? h->fd.get() : dirfd(h->dir.get());
  struct stat st;
  if (fstat(fd, &st) != 0) {
    send_errno(id, errno);
    return;
  }
  send_attrs(id, st);
}

void Server::setstat_common(uint32_t id, const std::string& path, int fd, const Attrs& a,
                            bool follow) {
  std::string abs = fd < 0 ? absolute(path) : std::string();
  int rc = 0;
  if (a.flags & kAttrSize) {
    log_info("set \"%s\" size %llu", path.c_str(), (unsigned long long)a.size);
    if (a.size > uint64_t(INT64_MAX)) {
      send_status(id, kFxBadMessage);
      return;
    }
    rc = fd >= 0 ? ftruncate(fd, off_t(a.size)) : truncate(abs.c_str(), off_t(a.size));
  }
  if (rc == 0 && (a.flags & kAttrPermissions)) {
    mode_t mode = a.permissions & 07777;
    log_info("set \"%s\" mode %04o", path.c_str(), unsigned(mode));
    rc = fd >= 0 ? fchmod(fd, mode)
                 : fchmodat(AT_FDCWD, abs.c_str(), mode, follow ? 0 : AT_SYMLINK_NOFOLLOW);
  }
  if (rc == 0 && (a.flags & kAttrAcModTime)) {
    char when[64] = "";
    time_t t = time_t(a.mtime);
    struct tm tm;
    if (localtime_r(&t, &tm)) strftime(when, sizeof when, "%Y%m%d-%H:%M:%S", &tm);
    log_info("set \"%s\" modtime %s", path.c_str(), when);
    struct timespec ts[2] = {{time_t(a.atime), 0}, {time_t(a.mtime), 0}};
    rc = fd >= 0 ? futimens(fd, ts)
                 : utimensat(AT_FDCWD, abs.c_str(), ts, follow ? 0 : AT_SYMLINK_NOFOLLOW);
  }
  if (rc == 0 && (a.flags & kAttrUidGid)) {
    log_info("set \"%s\" owner %lu group %lu", path.c_str(), (unsigned long)a.uid,
             (unsigned long)a.gid);
    rc = fd >= 0 ? fchown(fd, uid_t(a.uid), gid_t(a.gid))
                 : fchownat(AT_FDCWD, abs.c_str(), uid_t(a.uid), gid_t(a.gid),
                            follow ? 0 : AT_SYMLINK_NOFOLLOW);
  }
  send_errno(id, rc == 0 ? 0 : errno);
}

void Server::do_setstat(uint32_t id, Reader& r) {
  std::string path = read_path(r);
  Attrs a = read_attrs(r);
  setstat_common(id, path, -1, a, true);
}

void Server::do_lsetstat(uint32_t id, Reader& r) {
  std::string path = read_path(r);
  Attrs a = read_attrs(r);
  setstat_common(id, path, -1, a, false);
}

void Server::do_fsetstat(uint32_t id, Reader& r) {
  OpenHandle* h = m_handles.find_any(r.string());
  Attrs a = read_attrs(r);
  if (!h) {
    send_status(id, kFxFailure);
    return;
  }
  int fd = h->kind == OpenHandle::Kind::kFile ? h->fd.get() : dirfd(h->dir.get());
  setstat_common(id, h->path, fd, a, true);
}

}  // namespace postern::sftp
