#include "bastion/sftp_observer.h"

#include "common/be_bytes.h"
#include "common/wire.h"

namespace postern::bastion {

namespace {

// draft-ietf-secsh-filexfer-02 §3: packet types.
enum : uint8_t {
  kInit = 1,
  kVersion = 2,
  kOpen = 3,
  kClose = 4,
  kRead = 5,
  kWrite = 6,
  kSetstat = 9,
  kFsetstat = 10,
  kRemove = 13,
  kMkdir = 14,
  kRmdir = 15,
  kRename = 18,
  kSymlink = 20,
  kStatus = 101,
  kHandle = 102,
  kData = 103,
  kExtended = 200,
};

// §6.3: open flags.
constexpr uint32_t kFlagRead = 0x01, kFlagWrite = 0x02, kFlagAppend = 0x04, kFlagCreat = 0x08,
                   kFlagTrunc = 0x10, kFlagExcl = 0x20;
constexpr uint32_t kStatusOk = 0, kStatusEof = 1;
constexpr size_t kMaxHandle = 256;  // §3.2: handles are at most 256 bytes

std::string open_flags(uint32_t f) {
  static const std::pair<uint32_t, const char*> names[] = {
      {kFlagRead, "read"},   {kFlagWrite, "write"}, {kFlagAppend, "append"},
      {kFlagCreat, "creat"}, {kFlagTrunc, "trunc"}, {kFlagExcl, "excl"}};
  std::string s;
  for (auto [bit, name] : names)
    if (f & bit) s += (s.empty() ? "" : ",") + std::string(name);
  return "flags=" + (s.empty() ? std::string("none") : s);
}

// §5: the attributes a setstat changes, compactly.
std::string attrs_text(Reader& r, std::optional<uint64_t>* size = nullptr) {
  uint32_t flags = r.u32();
  std::string s;
  auto add = [&](const std::string& t) { s += (s.empty() ? "" : " ") + t; };
  if (flags & 0x1) {
    uint64_t n = r.u64();
    if (size != nullptr) *size = n;
    add("size=" + std::to_string(n));
  }
  if (flags & 0x2) {
    uint32_t uid = r.u32(), gid = r.u32();
    add("uid=" + std::to_string(uid) + " gid=" + std::to_string(gid));
  }
  if (flags & 0x4) {
    char mode[16];
    snprintf(mode, sizeof mode, "mode=%04o", r.u32() & 07777);
    add(mode);
  }
  if (flags & 0x8) {
    uint32_t atime = r.u32(), mtime = r.u32();
    add("atime=" + std::to_string(atime) + " mtime=" + std::to_string(mtime));
  }
  return s;  // extended attributes (flag 0x80000000) are not described
}

// §7: status codes.
std::string status_text(uint32_t code) {
  static const char* names[] = {
      "ok",          "eof",           "no such file",    "permission denied",    "failure",
      "bad message", "no connection", "connection lost", "operation unsupported"};
  if (code == kStatusOk) return "ok";
  if (code < sizeof names / sizeof names[0]) return std::string("error: ") + names[code];
  return "error: status " + std::to_string(code);
}

}  // namespace

void SftpObserver::feed(ByteView data, bool from_client) {
  if (m_lost) return;
  Bytes& part = m_partial[from_client ? 0 : 1];
  try {
    // §3: uint32 length, then the packet. A packet split across data messages is gathered; one
    // whole inside a message is parsed where it lies.
    auto length_ok = [&](uint32_t len) {
      if (len == 0 || len > kMaxPacket) {
        lose("sftp packet of " + std::to_string(len) + " bytes");
        return false;
      }
      return true;
    };
    if (!part.empty()) {
      if (part.size() < 4) {
        size_t take = std::min(4 - part.size(), data.size());
        part.insert(part.end(), data.begin(), data.begin() + take);
        data = data.subspan(take);
        if (part.size() < 4) return;
      }
      uint32_t len = load_be32(part.data());
      if (!length_ok(len)) return;
      size_t take = std::min(size_t(len) + 4 - part.size(), data.size());
      part.insert(part.end(), data.begin(), data.begin() + take);
      data = data.subspan(take);
      if (part.size() < size_t(len) + 4) return;
      Bytes whole = std::move(part);
      part.clear();
      packet(ByteView(whole).subspan(4), from_client);
    }
    while (!m_lost && data.size() >= 4) {
      uint32_t len = load_be32(data.data());
      if (!length_ok(len)) return;
      if (data.size() < size_t(len) + 4) break;
      packet(data.subspan(4, len), from_client);
      data = data.subspan(size_t(len) + 4);
    }
    if (!m_lost && !data.empty()) part.assign(data.begin(), data.end());
  } catch (const std::exception& e) {
    lose(std::string("malformed sftp packet: ") + e.what());
  }
}

void SftpObserver::packet(ByteView body, bool from_client) {
  if (from_client)
    request(body);
  else
    response(body);
}

void SftpObserver::lose(const std::string& why) {
  if (m_lost) return;
  m_lost = true;
  m_pending.clear();
  m_files.clear();
  m_partial[0] = Bytes();
  m_partial[1] = Bytes();
  FileEvent e;
  e.operation = "lost";
  e.result = "file-events lost: " + why;
  m_sink.file_event(e);
}

void SftpObserver::track(uint32_t id, Pending p) {
  if (m_pending.count(id)) return lose("request id " + std::to_string(id) + " reused");
  if (m_pending.size() >= kMaxOutstanding) return lose("too many requests outstanding");
  m_pending.emplace(id, std::move(p));
}

void SftpObserver::request(ByteView body) {
  Reader r(body);
  uint8_t type = r.u8();
  if (type == kInit) return;  // §4: uint32 version; the target's VERSION decides
  uint32_t id = r.u32();
  Pending p;
  p.type = type;
  auto file_of = [&](Reader& rr) -> OpenFile* {
    p.handle = std::string(rr.text(kMaxHandle));
    auto it = m_files.find(p.handle);
    return it == m_files.end() ? nullptr : &it->second;
  };
  switch (type) {
    case kOpen:  // §6.3: string filename, uint32 pflags, ATTRS
      p.operation = "open";
      p.path = bounded_path(r.text());
      p.pflags = r.u32();
      p.flags = open_flags(p.pflags);
      return track(id, std::move(p));
    case kClose:  // §6.3: string handle; directories' handles are not tracked
      if (file_of(r) == nullptr) return;
      p.operation = "close";
      return track(id, std::move(p));
    case kRead: {  // §6.4: string handle, uint64 offset, uint32 len
      if (file_of(r) == nullptr) return;
      p.offset = r.u64();
      return track(id, std::move(p));
    }
    case kWrite: {  // §6.4: string handle, uint64 offset, string data
      OpenFile* f = file_of(r);
      if (f == nullptr) return;
      p.offset = r.u64();
      ByteView data = r.string(kMaxPacket);
      f->bytes_written += data.size();
      // Hashed only while the writes go on where the last one ended, from offset 0.
      if (f->write_in_order && p.offset == f->write_next) {
        if (f->write_digest) f->write_digest->update(data);
        f->write_next += data.size();
      } else {
        f->write_in_order = false;
      }
      return track(id, std::move(p));
    }
    case kSetstat:  // §6.9: string path, ATTRS
      p.operation = "setstat";
      p.path = bounded_path(r.text());
      p.flags = attrs_text(r);
      return track(id, std::move(p));
    case kFsetstat: {  // §6.9: string handle, ATTRS
      OpenFile* f = file_of(r);
      p.operation = "fsetstat";
      p.path = f != nullptr ? f->path : "(handle)";
      p.flags = attrs_text(r, &p.size);
      return track(id, std::move(p));
    }
    case kRemove:  // §6.5: string filename
    case kRmdir:   // §6.6: string path
      p.operation = type == kRemove ? "remove" : "rmdir";
      p.path = bounded_path(r.text());
      return track(id, std::move(p));
    case kMkdir:  // §6.6: string path, ATTRS
      p.operation = "mkdir";
      p.path = bounded_path(r.text());
      p.flags = attrs_text(r);
      return track(id, std::move(p));
    case kRename:  // §6.5: string oldpath, string newpath
      p.operation = "rename";
      p.path = bounded_path(r.text());
      p.path2 = bounded_path(r.text());
      return track(id, std::move(p));
    case kSymlink: {
      // OpenSSH PROTOCOL §4.1: OpenSSH sends targetpath first, then linkpath (the reverse of
      // the draft); reported as "symlink LINK -> TARGET".
      std::string target = bounded_path(r.text());
      p.operation = "symlink";
      p.path = bounded_path(r.text());
      p.path2 = target;
      return track(id, std::move(p));
    }
    case kExtended:
      return extended(r, id, std::move(p));
    default:
      return;  // stat, readdir, realpath ...: nothing changes, nothing to report
  }
}

// OpenSSH PROTOCOL §4: the extensions that change files.
void SftpObserver::extended(Reader& r, uint32_t id, Pending p) {
  std::string name(r.text(256));
  if (name == "posix-rename@openssh.com" || name == "hardlink@openssh.com") {
    // §4.3, §4.7: string oldpath, string newpath.
    std::string old_path = bounded_path(r.text());
    std::string new_path = bounded_path(r.text());
    if (name[0] == 'p') {
      p.operation = "rename";
      p.path = old_path;
      p.path2 = new_path;
    } else {
      p.operation = "hardlink";  // reported like symlink: "hardlink NEW -> OLD"
      p.path = new_path;
      p.path2 = old_path;
    }
    return track(id, std::move(p));
  }
  if (name == "lsetstat@openssh.com") {  // §4.10: string path, ATTRS
    p.operation = "setstat";
    p.path = bounded_path(r.text());
    p.flags = attrs_text(r);
    return track(id, std::move(p));
  }
  if (name == "copy-data") {
    // string read handle, uint64 offset, uint64 length, string write handle, uint64 offset: the
    // server copies data the relay never sees, so the written file has no hash.
    r.string(kMaxHandle);
    r.u64();
    r.u64();
    auto it = m_files.find(std::string(r.text(kMaxHandle)));
    if (it != m_files.end()) it->second.write_in_order = false;
  }
}

void SftpObserver::response(ByteView body) {
  Reader r(body);
  uint8_t type = r.u8();
  if (type == kVersion) {
    // §4: the observer follows version 3 only, as OpenSSH speaks it.
    uint32_t version = r.u32();
    if (version != 3) return lose("sftp version " + std::to_string(version));
    return;
  }
  uint32_t id = r.u32();
  auto it = m_pending.find(id);
  if (it == m_pending.end()) return;  // an answer to a request nothing is reported for
  Pending p = std::move(it->second);
  m_pending.erase(it);
  if (type == kStatus) return status(p, r.u32());
  if (type == kHandle && p.type == kOpen) {
    std::string handle(r.text(kMaxHandle));
    if (m_files.size() >= kMaxHandles) return lose("too many open files");
    OpenFile f;
    f.path = p.path;
    f.pflags = p.pflags;
    if (p.pflags & kFlagRead) f.read_digest = std::make_unique<StreamDigest>();
    if ((p.pflags & kFlagWrite) && !(p.pflags & kFlagAppend))
      f.write_digest = std::make_unique<StreamDigest>();
    f.emptied = p.pflags & (kFlagTrunc | kFlagExcl);
    m_files[handle] = std::move(f);
    m_sink.file_event({"open", p.path, "", p.flags, 0, "", "ok"});
    return;
  }
  if (type == kData && p.type == kRead) {  // §7: string data
    auto f = m_files.find(p.handle);
    if (f == m_files.end()) return;
    OpenFile& file = f->second;
    ByteView data = r.string(kMaxPacket);
    file.bytes_read += data.size();
    file.read_to_eof = false;
    if (file.read_in_order && p.offset == file.read_next) {
      if (file.read_digest) file.read_digest->update(data);
      file.read_next += data.size();
    } else {
      file.read_in_order = false;
    }
  }
}

void SftpObserver::status(const Pending& p, uint32_t code) {
  auto f = p.handle.empty() ? m_files.end() : m_files.find(p.handle);
  OpenFile* file = f == m_files.end() ? nullptr : &f->second;
  switch (p.type) {
    case kRead:
      if (file == nullptr) return;
      // §6.4: EOF for a read at or past the end of what came in order: the whole file was read
      // (pipelined reads beyond the end all get EOF).
      if (code == kStatusEof && p.offset >= file->read_next)
        file->read_to_eof = true;
      else if (code != kStatusEof && file->error.empty())
        file->error = status_text(code) + " (read)";
      return;
    case kWrite:
      if (file != nullptr && code != kStatusOk && file->error.empty())
        file->error = status_text(code) + " (write)";
      return;
    case kFsetstat:
      // scp's sftp mode opens without TRUNC and cuts the file to the size it wrote at the end.
      if (file != nullptr && code == kStatusOk && p.size) file->size_set = *p.size;
      m_sink.file_event({p.operation, p.path, p.path2, p.flags, 0, "", status_text(code)});
      return;
    case kClose:
      if (file == nullptr) return;
      report_close(*file, status_text(code));
      m_files.erase(f);
      return;
    default:
      m_sink.file_event({p.operation, p.path, p.path2, p.flags, 0, "", status_text(code)});
  }
}

void SftpObserver::report_close(OpenFile& f, const std::string& result) {
  FileEvent e;
  e.path = f.path;
  e.result = f.error.empty() ? result : f.error;
  bool ok = f.error.empty() && result == "ok";
  if (f.bytes_written > 0 || (f.write_digest && f.emptied && f.bytes_read == 0)) {
    e.operation = "write";
    e.bytes = f.bytes_written;
    // Written in whole: in order from offset 0 into a file emptied at open (§6.3 TRUNC, EXCL)
    // or cut to exactly what was written.
    bool whole = f.emptied || (f.size_set && *f.size_set == f.write_next);
    if (ok && f.write_digest && f.write_in_order && whole) e.sha256 = f.write_digest->hex_final();
  } else if (f.bytes_read > 0 || f.read_to_eof) {
    e.operation = "read";
    e.bytes = f.bytes_read;
    if (ok && f.read_digest && f.read_in_order && f.read_to_eof)
      e.sha256 = f.read_digest->hex_final();
  } else {
    e.operation = "close";
  }
  m_sink.file_event(e);
}

void SftpObserver::finish() {
  if (m_lost) return;
  for (auto& [handle, f] : m_files) report_close(f, "error: channel closed");
  m_files.clear();
  m_pending.clear();
}

}  // namespace postern::bastion
