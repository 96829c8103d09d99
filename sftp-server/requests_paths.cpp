// Requests on names (draft §6.5, §6.10): REMOVE, REALPATH, RENAME, READLINK, SYMLINK.
#include "sftp-server/server.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>

#include "common/log.h"

namespace postern::sftp {

void Server::do_remove(uint32_t id, Reader& r) {
  std::string path = read_path(r);
  log_info("remove name \"%s\"", path.c_str());
  send_errno(id, ::unlink(absolute(path).c_str()) == 0 ? 0 : errno);
}

void Server::do_realpath(uint32_t id, Reader& r) {
  std::string path = read_path(r);
  // push_back, not = ".": g++ 12 reports a false -Wrestrict on the assignment (GCC PR 105329).
  if (path.empty()) path.push_back('.');
  log_verbose("realpath \"%s\"", path.c_str());
  int err = 0;
  std::string c = canonical(absolute(path), err);
  if (err) {
    send_errno(id, err);
    return;
  }
  send_single_name(id, c);
}

void Server::do_rename(uint32_t id, Reader& r) {
  std::string from = read_path(r);
  std::string to = read_path(r);
  log_info("rename old \"%s\" new \"%s\"", from.c_str(), to.c_str());
  std::string a = absolute(from), b = absolute(to);
  // draft §6.5: SSH_FXP_RENAME fails when the new name exists; RENAME_NOREPLACE makes that
  // check and the rename one atomic step.
  if (renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_NOREPLACE) == 0) {
    send_status(id, kFxOk);
    return;
  }
  int err = errno;
  if (err == EINVAL || err == ENOSYS) {
    // A filesystem without RENAME_NOREPLACE: check, then rename.
    struct stat st;
    if (lstat(b.c_str(), &st) == 0) {
      send_status(id, kFxFailure);
      return;
    }
    err = ::rename(a.c_str(), b.c_str()) == 0 ? 0 : errno;
  }
  send_status(id, err == EEXIST ? kFxFailure : status_from_errno(err));
}

void Server::do_readlink(uint32_t id, Reader& r) {
  std::string path = read_path(r);
  log_verbose("readlink \"%s\"", path.c_str());
  char buf[PATH_MAX];
  ssize_t n = ::readlink(absolute(path).c_str(), buf, sizeof buf - 1);
  if (n < 0) {
    send_errno(id, errno);
    return;
  }
  send_single_name(id, std::string(buf, size_t(n)));
}

void Server::do_symlink(uint32_t id, Reader& r) {
  // PROTOCOL §4.1: OpenSSH's order, target first, then the link's own path. The target is
  // stored as given (it is the link's content, relative to the link).
  std::string target = read_path(r);
  std::string link = read_path(r);
  log_info("symlink old \"%s\" new \"%s\"", target.c_str(), link.c_str());
  send_errno(id, ::symlink(target.c_str(), absolute(link).c_str()) == 0 ? 0 : errno);
}

}  // namespace postern::sftp
