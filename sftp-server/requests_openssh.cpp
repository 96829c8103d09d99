// OpenSSH's extended requests (PROTOCOL §4): posix-rename, statvfs, fstatvfs, hardlink, fsync,
// limits, expand-path, copy-data, home-directory and users-groups-by-id. lsetstat is with
// the attribute requests.
#include "sftp-server/server.h"

#include <dirent.h>
#include <stdio.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/be_bytes.h"
#include "common/log.h"
#include "sftp-server/open_flags.h"

namespace postern::sftp {

namespace {

constexpr size_t kCopyChunk = 256 * 1024;

}  // namespace

void Server::do_posix_rename(uint32_t id, Reader& r) {
  std::string from = read_path(r);
  std::string to = read_path(r);
  log_info("posix-rename old \"%s\" new \"%s\"", from.c_str(), to.c_str());
  send_errno(id, ::rename(absolute(from).c_str(), absolute(to).c_str()) == 0 ? 0 : errno);
}

void Server::write_statvfs(uint32_t id, const struct statvfs& st) {
  uint64_t flag = 0;
  if (st.f_flag & ST_RDONLY) flag |= kStatvfsReadOnly;
  if (st.f_flag & ST_NOSUID) flag |= kStatvfsNoSuid;
  begin_reply(kFxpExtendedReply, id)
      .u64(st.f_bsize)
      .u64(st.f_frsize)
      .u64(st.f_blocks)
      .u64(st.f_bfree)
      .u64(st.f_bavail)
      .u64(st.f_files)
      .u64(st.f_ffree)
      .u64(st.f_favail)
      .u64(st.f_fsid)
      .u64(flag)
      .u64(st.f_namemax);
  end_reply();
}

void Server::do_statvfs(uint32_t id, Reader& r) {
  std::string path = read_path(r);
  log_info("statvfs \"%s\"", path.c_str());
  struct statvfs st;
  if (::statvfs(absolute(path).c_str(), &st) != 0) {
    send_errno(id, errno);
    return;
  }
  write_statvfs(id, st);
}

void Server::do_fstatvfs(uint32_t id, Reader& r) {
  OpenHandle* h = m_handles.find_any(r.string());
  if (!h) {
    send_status(id, kFxFailure);
    return;
  }
  log_info("fstatvfs \"%s\"", h->path.c_str());
  int fd = h->kind == OpenHandle::Kind::kFile ? h->fd.get() : dirfd(h->dir.get());
  struct statvfs st;
  if (::fstatvfs(fd, &st) != 0) {
    send_errno(id, errno);
    return;
  }
  write_statvfs(id, st);
}

void Server::do_hardlink(uint32_t id, Reader& r) {
  std::string from = read_path(r);
  std::string to = read_path(r);
  log_info("hardlink old \"%s\" new \"%s\"", from.c_str(), to.c_str());
  send_errno(id, ::link(absolute(from).c_str(), absolute(to).c_str()) == 0 ? 0 : errno);
}

void Server::do_fsync(uint32_t id, Reader& r) {
  OpenHandle* h = m_handles.find(r.string(), OpenHandle::Kind::kFile);
  if (!h) {
    send_status(id, kFxFailure);
    return;
  }
  log_info("fsync \"%s\"", h->path.c_str());
  send_errno(id, ::fsync(h->fd.get()) == 0 ? 0 : errno);
}

void Server::do_limits(uint32_t id, Reader& r) {
  (void)r;
  log_debug("limits");
  begin_reply(kFxpExtendedReply, id)
      .u64(kMaxPacketLength)
      .u64(kMaxReadLength)
      .u64(kMaxWriteLength)
      .u64(m_handles.max_open());
  end_reply();
}

void Server::do_expand_path(uint32_t id, Reader& r) {
  std::string path = read_path(r);
  log_verbose("expand-path \"%s\"", path.c_str());
  int err = 0;
  // PROTOCOL §4.9: "~", "~/..." and "~user/..." as a shell expands them, then REALPATH.
  if (!path.empty() && path[0] == '~') {
    size_t slash = path.find('/');
    std::string user = path.substr(1, slash == std::string::npos ? std::string::npos : slash - 1);
    std::string home = home_of(user, err);
    if (err) {
      send_errno(id, err);
      return;
    }
    std::string rest = slash == std::string::npos ? "" : path.substr(slash + 1);
    path = rest.empty() ? home : home + "/" + rest;
  }
  // push_back, not = ".": g++ 12 reports a false -Wrestrict on the assignment (GCC PR 105329).
  if (path.empty()) path.push_back('.');
  std::string c = canonical(absolute(path), err);
  if (err) {
    send_errno(id, err);
    return;
  }
  send_single_name(id, c);
}

void Server::do_copy_data(uint32_t id, Reader& r) {
  // PROTOCOL §4.10.
  ByteView from_name = r.string();
  uint64_t from_offset = r.u64();
  uint64_t length = r.u64();
  ByteView to_name = r.string();
  uint64_t to_offset = r.u64();
  OpenHandle* from = m_handles.find(from_name, OpenHandle::Kind::kFile);
  OpenHandle* to = m_handles.find(to_name, OpenHandle::Kind::kFile);
  if (!from || !to) {
    send_status(id, kFxFailure);
    return;
  }
  if (from == to) {  // the extension calls for INVALID_PARAMETER, which v3 does not have
    send_status(id, kFxFailure);
    return;
  }
  if (!opened_for_reading(from->open_flags) || !opened_for_writing(to->open_flags)) {
    send_status(id, kFxPermissionDenied);
    return;
  }
  if (from_offset > uint64_t(INT64_MAX) || to_offset > uint64_t(INT64_MAX) ||
      (length && length > uint64_t(INT64_MAX) - std::max(from_offset, to_offset))) {
    send_status(id, kFxBadMessage);
    return;
  }
  log_verbose("copy-data from \"%s\" offset %llu length %llu to \"%s\" offset %llu",
              from->path.c_str(), (unsigned long long)from_offset, (unsigned long long)length,
              to->path.c_str(), (unsigned long long)to_offset);
  if (m_copy_buffer.size() < kCopyChunk) m_copy_buffer.resize(kCopyChunk);
  bool to_eof = length == 0;
  uint64_t left = length;
  while (to_eof || left > 0) {
    size_t want = to_eof ? kCopyChunk : size_t(std::min<uint64_t>(left, kCopyChunk));
    ssize_t n = pread(from->fd.get(), m_copy_buffer.data(), want, off_t(from_offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      send_errno(id, errno);
      return;
    }
    if (n == 0) {
      // Reading past the end before the length was copied: the client asked for data that
      // is not there.
      send_status(id, to_eof ? kFxOk : kFxEof);
      return;
    }
    size_t done = 0;
    while (done < size_t(n)) {
      ssize_t m = pwrite(to->fd.get(), m_copy_buffer.data() + done, size_t(n) - done,
                         off_t(to_offset + done));
      if (m < 0 && errno == EINTR) continue;
      if (m < 0) {
        send_errno(id, errno);
        return;
      }
      done += size_t(m);
    }
    from->bytes_read += uint64_t(n);
    to->bytes_written += uint64_t(n);
    from_offset += uint64_t(n);
    to_offset += uint64_t(n);
    if (!to_eof) left -= uint64_t(n);
  }
  send_status(id, kFxOk);
}

void Server::do_home_directory(uint32_t id, Reader& r) {
  std::string user = read_path(r);
  log_verbose("home-directory \"%s\"", user.c_str());
  int err = 0;
  std::string home = home_of(user, err);
  if (err) {
    send_errno(id, err);
    return;
  }
  send_single_name(id, home);
}

void Server::do_users_groups_by_id(uint32_t id, Reader& r) {
  ByteView uids = r.string();
  ByteView gids = r.string();
  if (uids.size() % 4 || gids.size() % 4) throw ProtocolError("id list not a multiple of 4");
  log_verbose("users-groups-by-id: %zu users, %zu groups", uids.size() / 4, gids.size() / 4);
  // PROTOCOL §4.12: two strings, each a concatenation of name strings in request order.
  Writer& w = begin_reply(kFxpExtendedReply, id);
  for (int users = 1; users >= 0; --users) {
    ByteView ids = users ? uids : gids;
    size_t len_at = m_reply_bytes.size();
    w.u32(0);
    for (size_t i = 0; i < ids.size(); i += 4) {
      uint32_t v = load_be32(ids.data() + i);
      w.string(users ? m_names.user(uid_t(v)) : m_names.group(gid_t(v)));
    }
    store_be32(m_reply_bytes.data() + len_at, uint32_t(m_reply_bytes.size() - len_at - 4));
  }
  if (m_reply_bytes.size() > kMaxPacketLength) {  // the client could not take it
    send_status(id, kFxFailure);
    return;
  }
  end_reply();
}

}  // namespace postern::sftp
