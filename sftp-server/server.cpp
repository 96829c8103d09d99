// The session: the request table, framing of client input, dispatch, and SSH_FXP_INIT.
// The handlers live in requests_*.cpp by request family, replies in replies.cpp and path
// resolution in paths.cpp.
#include "sftp-server/server.h"

#include <limits.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/be_bytes.h"
#include "common/log.h"
#include "common/match_pattern.h"

namespace postern::sftp {

namespace {

uint32_t default_max_handles() {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 1024;
  // Keep some descriptors for stdio, logging, NSS lookups and directory scans.
  if (rl.rlim_cur <= 32) return 8;
  return uint32_t(std::min<rlim_t>(rl.rlim_cur - 16, 16384));
}

}  // namespace

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
      uint32_t len = load_be32(data.data() + pos);
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
    uint32_t len = load_be32(m_in.data());
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

}  // namespace postern::sftp
