#include "sftp-server/server.h"

#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "common/join.h"
#include "common/log.h"
#include "common/match_pattern.h"

namespace postern::sftp {

namespace {

constexpr size_t kReaddirBatch = 100;            // names per SSH_FXP_NAME, as OpenSSH sends
constexpr size_t kReaddirMaxReply = 128 * 1024;  // and never a reply near the packet limit
constexpr size_t kCopyChunk = 256 * 1024;
constexpr size_t kDataHeader = 13;  // length, type, id, data length

void put_u32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}

uint32_t get_u32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

uint32_t default_max_handles() {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 1024;
  // Keep some descriptors for stdio, logging, NSS lookups and directory scans.
  if (rl.rlim_cur <= 32) return 8;
  return uint32_t(std::min<rlim_t>(rl.rlim_cur - 16, 16384));
}

std::string open_flags_string(uint32_t pflags) {
  std::vector<std::string_view> names;
  auto add = [&](uint32_t bit, std::string_view name) {
    if (pflags & bit) names.push_back(name);
  };
  add(kFxfRead, "READ");
  add(kFxfWrite, "WRITE");
  add(kFxfAppend, "APPEND");
  add(kFxfCreat, "CREATE");
  add(kFxfTrunc, "TRUNCATE");
  add(kFxfExcl, "EXCL");
  return join(names, ",");
}

int posix_open_flags(uint32_t pflags) {
  int flags;
  if ((pflags & kFxfRead) && (pflags & kFxfWrite))
    flags = O_RDWR;
  else if (pflags & kFxfWrite)
    flags = O_WRONLY;
  else
    flags = O_RDONLY;
  if (pflags & kFxfAppend) flags |= O_APPEND;
  if (pflags & kFxfCreat) flags |= O_CREAT;
  if (pflags & kFxfTrunc) flags |= O_TRUNC;
  if (pflags & kFxfExcl) flags |= O_EXCL;
  return flags;
}

bool opened_for_reading(int flags) {
  return (flags & O_ACCMODE) != O_WRONLY;
}
bool opened_for_writing(int flags) {
  return (flags & O_ACCMODE) != O_RDONLY;
}

}  // namespace

uint32_t status_from_errno(int err) {
  switch (err) {
    case 0:
      return kFxOk;
    case ENOENT:
    case ENOTDIR:
    case EBADF:
    case ELOOP:
      return kFxNoSuchFile;
    case EPERM:
    case EACCES:
    case EFAULT:
      return kFxPermissionDenied;
    case ENAMETOOLONG:
    case EINVAL:
      return kFxBadMessage;
    case ENOSYS:
    case EOPNOTSUPP:
      return kFxOpUnsupported;
    default:
      return kFxFailure;
  }
}

// The request table: -P/-p names, -R, and what SSH_FXP_VERSION advertises (PROTOCOL §4.2)
// all come from here. Order is OpenSSH's, which -Q prints.
const Server::RequestType Server::kRequests[] = {
    {kFxpOpen, "open", nullptr, nullptr, &Server::do_open, false},  // -R checked by flags
    {kFxpClose, "close", nullptr, nullptr, &Server::do_close, false},
    {kFxpRead, "read", nullptr, nullptr, &Server::do_read, false},
    {kFxpWrite, "write", nullptr, nullptr, &Server::do_write, true},
    {kFxpLstat, "lstat", nullptr, nullptr, &Server::do_lstat, false},
    {kFxpFstat, "fstat", nullptr, nullptr, &Server::do_fstat, false},
    {kFxpSetstat, "setstat", nullptr, nullptr, &Server::do_setstat, true},
    {kFxpFsetstat, "fsetstat", nullptr, nullptr, &Server::do_fsetstat, true},
    {kFxpOpendir, "opendir", nullptr, nullptr, &Server::do_opendir, false},
    {kFxpReaddir, "readdir", nullptr, nullptr, &Server::do_readdir, false},
    {kFxpRemove, "remove", nullptr, nullptr, &Server::do_remove, true},
    {kFxpMkdir, "mkdir", nullptr, nullptr, &Server::do_mkdir, true},
    {kFxpRmdir, "rmdir", nullptr, nullptr, &Server::do_rmdir, true},
    {kFxpRealpath, "realpath", nullptr, nullptr, &Server::do_realpath, false},
    {kFxpStat, "stat", nullptr, nullptr, &Server::do_stat, false},
    {kFxpRename, "rename", nullptr, nullptr, &Server::do_rename, true},
    {kFxpReadlink, "readlink", nullptr, nullptr, &Server::do_readlink, false},
    {kFxpSymlink, "symlink", nullptr, nullptr, &Server::do_symlink, true},
    {kFxpExtended, "posix-rename", "posix-rename@openssh.com", "1", &Server::do_posix_rename, true},
    {kFxpExtended, "statvfs", "statvfs@openssh.com", "2", &Server::do_statvfs, false},
    {kFxpExtended, "fstatvfs", "fstatvfs@openssh.com", "2", &Server::do_fstatvfs, false},
    {kFxpExtended, "hardlink", "hardlink@openssh.com", "1", &Server::do_hardlink, true},
    {kFxpExtended, "fsync", "fsync@openssh.com", "1", &Server::do_fsync, true},
    {kFxpExtended, "lsetstat", "lsetstat@openssh.com", "1", &Server::do_lsetstat, true},
    {kFxpExtended, "limits", "limits@openssh.com", "1", &Server::do_limits, false},
    {kFxpExtended, "expand-path", "expand-path@openssh.com", "1", &Server::do_expand_path, false},
    {kFxpExtended, "copy-data", "copy-data", "1", &Server::do_copy_data, true},
    {kFxpExtended, "home-directory", "home-directory", "1", &Server::do_home_directory, false},
    {kFxpExtended, "users-groups-by-id", "users-groups-by-id@openssh.com", "1",
     &Server::do_users_groups_by_id, false},
};

const std::vector<std::string_view>& request_names() {
  static const std::vector<std::string_view> names = {"open",
                                                      "close",
                                                      "read",
                                                      "write",
                                                      "lstat",
                                                      "fstat",
                                                      "setstat",
                                                      "fsetstat",
                                                      "opendir",
                                                      "readdir",
                                                      "remove",
                                                      "mkdir",
                                                      "rmdir",
                                                      "realpath",
                                                      "stat",
                                                      "rename",
                                                      "readlink",
                                                      "symlink",
                                                      "posix-rename",
                                                      "statvfs",
                                                      "fstatvfs",
                                                      "hardlink",
                                                      "fsync",
                                                      "lsetstat",
                                                      "limits",
                                                      "expand-path",
                                                      "copy-data",
                                                      "home-directory",
                                                      "users-groups-by-id"};
  return names;
}

Server::Server(ServerOptions options)
    : m_options(std::move(options)),
      m_handles(m_options.max_handles ? m_options.max_handles : default_max_handles()) {
  if (m_options.umask) ::umask(*m_options.umask);
  log_info("session opened for local user %s from [%s]", m_options.user.c_str(),
           m_options.client_address.c_str());
  char buf[PATH_MAX];
  m_cwd = getcwd(buf, sizeof buf) ? buf : "/";
  if (!m_options.start_directory.empty()) {
    // sftp-server(8) -d: a start directory that cannot be entered is logged and ignored.
    std::string dir = absolute(m_options.start_directory);
    struct stat st;
    if (stat(dir.c_str(), &st) != 0) {
      log_error("chdir to \"%s\" failed: %s", m_options.start_directory.c_str(), strerror(errno));
    } else if (!S_ISDIR(st.st_mode)) {
      log_error("chdir to \"%s\" failed: %s", m_options.start_directory.c_str(), strerror(ENOTDIR));
    } else {
      int err = 0;
      std::string c = canonical(dir, err);
      m_cwd = err ? dir : c;
    }
  }
}

Server::~Server() {
  m_handles.for_each_open([&](OpenHandle& h) {
    if (h.kind == OpenHandle::Kind::kFile)
      log_info("close \"%s\" bytes read %llu written %llu", h.path.c_str(),
               (unsigned long long)h.bytes_read, (unsigned long long)h.bytes_written);
    else
      log_info("closedir \"%s\"", h.path.c_str());
  });
  m_handles.clear();
  log_info("session closed for local user %s from [%s]", m_options.user.c_str(),
           m_options.client_address.c_str());
}

// ---- input and framing ------------------------------------------------------------------

void Server::received_data(ByteView data) {
  // Whole packets are executed straight from the caller's buffer; only a partial packet, or
  // packets held back by the reply backlog, are copied.
  size_t pos = 0;
  if (m_in.empty()) {
    while (m_out.size() < m_output_limit && data.size() - pos >= 4) {
      uint32_t len = get_u32(data.data() + pos);
      check_packet_length(len);
      if (data.size() - pos - 4 < len) break;
      handle_packet(data.subspan(pos + 4, len));
      pos += 4 + size_t(len);
    }
  }
  m_in.append(data.subspan(pos));
  process();
}

void Server::check_packet_length(uint32_t len) {
  if (len == 0) throw ProtocolError("empty SFTP packet");
  if (len > kMaxPacketLength) throw ProtocolError("SFTP packet too long");
}

MutableByteView Server::input_space() {
  // Room for a whole maximal packet, so one read(2) can complete any request.
  uint8_t* p = m_in.reserve(kMaxPacketLength + 4);
  return {p, m_in.tail_room()};
}

bool Server::wants_input() const {
  return m_out.size() < m_output_limit;
}

void Server::consume_output(size_t n) {
  m_out.consume(n);
}

void Server::process() {
  // draft §3: uint32 length, then that many bytes starting with the type.
  while (m_out.size() < m_output_limit && m_in.size() >= 4) {
    uint32_t len = get_u32(m_in.data());
    check_packet_length(len);
    if (m_in.size() < 4 + size_t(len)) break;
    handle_packet(ByteView(m_in.data() + 4, len));
    m_in.consume(4 + size_t(len));
  }
}

void Server::handle_packet(ByteView packet) {
  Reader r(packet);
  uint8_t type = r.u8();
  if (!m_initialised) {
    if (type != kFxpInit) throw ProtocolError("Received request before SSH_FXP_INIT");
    handle_init(r);
    return;
  }
  if (type == kFxpInit) throw ProtocolError("Received SSH_FXP_INIT twice");
  if (r.remaining() < 4) throw ProtocolError("SFTP request too short for its id");
  uint32_t id = r.u32();

  const RequestType* rt = nullptr;
  if (type == kFxpExtended) {
    std::string_view name;
    try {
      name = r.text();
    } catch (const ProtocolError&) {
      send_status(id, kFxBadMessage);
      return;
    }
    for (const auto& t : kRequests)
      if (t.ext_name && name == t.ext_name) rt = &t;
    if (!rt) {
      log_error("Unknown extended request \"%.*s\"", int(name.size()), name.data());
      send_status(id, kFxOpUnsupported);
      return;
    }
  } else {
    for (const auto& t : kRequests)
      if (t.type == type && !t.ext_name) rt = &t;
    if (!rt) {
      log_error("Unknown message %u", unsigned(type));
      send_status(id, kFxOpUnsupported);
      return;
    }
  }
  dispatch(*rt, id, r);
}

void Server::dispatch(const RequestType& rt, uint32_t id, Reader& r) {
  if (!request_permitted(rt, false)) {
    send_status(id, kFxPermissionDenied);
    return;
  }
  try {
    (this->*rt.handler)(id, r);
  } catch (const ProtocolError& e) {
    // A request whose fields do not parse is answered, not fatal: the framing is intact.
    log_error("%s: bad message: %s", rt.name, e.what());
    send_status(id, kFxBadMessage);
  }
}

bool Server::request_permitted(const RequestType& rt, bool at_init) {
  (void)at_init;
  // sftp-server(8): the denied list is applied before the allowed list.
  if (m_options.denied && match_pattern_list(rt.name, *m_options.denied) == PatternMatch::kMatch) {
    log_verbose("Refusing denylisted %s request", rt.name);
    return false;
  }
  if (m_options.allowed &&
      match_pattern_list(rt.name, *m_options.allowed) != PatternMatch::kMatch) {
    log_verbose("Refusing non-allowlisted %s request", rt.name);
    return false;
  }
  if (m_options.read_only && rt.writes) {
    log_verbose("Refusing %s request in read-only mode", rt.name);
    return false;
  }
  return true;
}

void Server::handle_init(Reader& r) {
  uint32_t version = r.u32();
  // Any extension pairs the client appends are ignored.
  log_verbose("received client version %u", version);
  m_initialised = true;
  Writer& w = begin_packet(kFxpVersion);
  w.u32(kProtocolVersion);
  for (const auto& t : kRequests)
    if (t.ext_name && request_permitted(t, true)) w.string(t.ext_name).string(t.ext_version);
  end_reply();
}

// ---- replies ----------------------------------------------------------------------------

Writer& Server::begin_packet(uint8_t type) {
  m_reply_bytes.clear();
  m_reply.u32(0).u8(type);
  return m_reply;
}

Writer& Server::begin_reply(uint8_t type, uint32_t id) {
  return begin_packet(type).u32(id);
}

void Server::end_reply() {
  put_u32(m_reply_bytes.data(), uint32_t(m_reply_bytes.size() - 4));
  m_out.append(m_reply_bytes);
}

void Server::send_status(uint32_t id, uint32_t code, const char* message) {
  if (!message) message = status_message(code);
  // OpenSSH logs failures at INFO; success and end-of-file are routine.
  if (code == kFxOk || code == kFxEof)
    log_debug("sent status %s", message);
  else
    log_info("sent status %s", message);
  begin_reply(kFxpStatus, id).u32(code).string(message).string("");
  end_reply();
}

void Server::send_errno(uint32_t id, int err) {
  send_status(id, status_from_errno(err));
}

void Server::send_handle(uint32_t id, const uint8_t (&name)[kHandleSize]) {
  begin_reply(kFxpHandle, id).string(ByteView(name, kHandleSize));
  end_reply();
}

void Server::send_attrs(uint32_t id, const struct stat& st) {
  write_attrs(begin_reply(kFxpAttrs, id), attrs_from_stat(st));
  end_reply();
}

void Server::send_single_name(uint32_t id, const std::string& name) {
  // draft §7 SSH_FXP_NAME with one entry and no attributes, as REALPATH and READLINK reply.
  Writer& w = begin_reply(kFxpName, id);
  w.u32(1).string(name).string(name);
  write_attrs(w, Attrs{});
  end_reply();
}

// ---- paths ------------------------------------------------------------------------------

std::string Server::read_path(Reader& r) {
  std::string_view p = r.text();
  if (p.find('\0') != std::string_view::npos) throw ProtocolError("path contains a NUL byte");
  return std::string(p);
}

std::string Server::absolute(std::string_view path) const {
  if (path.empty()) return m_cwd;
  if (path[0] == '/') return std::string(path);
  std::string out = m_cwd;
  if (out.empty() || out.back() != '/') out += '/';
  out.append(path);
  return out;
}

std::string Server::canonical(const std::string& path, int& err) const {
  err = 0;
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf)) return std::string(buf);
  err = errno;
  if (err != ENOENT) return {};
  // The last component may name a file that does not exist yet.
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  size_t slash = p.rfind('/');
  if (slash == std::string::npos) return {};
  std::string last = p.substr(slash + 1);
  std::string parent = slash == 0 ? "/" : p.substr(0, slash);
  if (last.empty() || last == "." || last == "..") return {};
  if (!::realpath(parent.c_str(), buf)) {
    err = errno;
    return {};
  }
  err = 0;
  std::string out = buf;
  if (out.back() != '/') out += '/';
  return out + last;
}

std::string Server::home_of(std::string_view user, int& err) const {
  err = 0;
  if (user.empty() || user == m_options.user) {
    if (!m_options.home.empty()) return m_options.home;
    if (struct passwd* pw = getpwuid(getuid())) return pw->pw_dir;
    err = ENOENT;
    return {};
  }
  std::string name(user);
  if (struct passwd* pw = getpwnam(name.c_str())) return pw->pw_dir;
  err = ENOENT;
  return {};
}

// ---- files ------------------------------------------------------------------------------

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
  put_u32(p, uint32_t(9 + n));
  p[4] = kFxpData;
  put_u32(p + 5, id);
  put_u32(p + 9, uint32_t(n));
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

// ---- directories ------------------------------------------------------------------------

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
  put_u32(m_reply_bytes.data() + count_at, count);
  end_reply();
}

void Server::do_remove(uint32_t id, Reader& r) {
  std::string path = read_path(r);
  log_info("remove name \"%s\"", path.c_str());
  send_errno(id, ::unlink(absolute(path).c_str()) == 0 ? 0 : errno);
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

// ---- names ------------------------------------------------------------------------------

void Server::do_realpath(uint32_t id, Reader& r) {
  std::string path = read_path(r);
  if (path.empty()) path = ".";
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

// ---- OpenSSH extensions (PROTOCOL §4) ---------------------------------------------------

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
  if (path.empty()) path = ".";
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
      uint32_t v = get_u32(ids.data() + i);
      w.string(users ? m_names.user(uid_t(v)) : m_names.group(gid_t(v)));
    }
    put_u32(m_reply_bytes.data() + len_at, uint32_t(m_reply_bytes.size() - len_at - 4));
  }
  if (m_reply_bytes.size() > kMaxPacketLength) {  // the client could not take it
    send_status(id, kFxFailure);
    return;
  }
  end_reply();
}

}  // namespace postern::sftp
