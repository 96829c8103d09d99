#include "sftp-server/protocol.h"

namespace postern::sftp {

const char* status_message(uint32_t code) {
  switch (code) {
    case kFxOk:
      return "Success";
    case kFxEof:
      return "End of file";
    case kFxNoSuchFile:
      return "No such file";
    case kFxPermissionDenied:
      return "Permission denied";
    case kFxFailure:
      return "Failure";
    case kFxBadMessage:
      return "Bad message";
    case kFxNoConnection:
      return "No connection";
    case kFxConnectionLost:
      return "Connection lost";
    case kFxOpUnsupported:
      return "Operation unsupported";
    default:
      return "Unknown error";
  }
}

Attrs read_attrs(Reader& r) {
  Attrs a;
  a.flags = r.u32();
  if (a.flags & kAttrSize) a.size = r.u64();
  if (a.flags & kAttrUidGid) {
    a.uid = r.u32();
    a.gid = r.u32();
  }
  if (a.flags & kAttrPermissions) a.permissions = r.u32();
  if (a.flags & kAttrAcModTime) {
    a.atime = r.u32();
    a.mtime = r.u32();
  }
  if (a.flags & kAttrExtended) {
    // draft §5: extended_count pairs of (type, data) strings. We implement none of them.
    uint32_t count = r.u32();
    if (count > kMaxExtendedAttrs) throw ProtocolError("too many extended attributes");
    for (uint32_t i = 0; i < count; ++i) {
      r.string();
      r.string();
    }
  }
  return a;
}

void write_attrs(Writer& w, const Attrs& a) {
  // We never send extended attributes, so that bit is never set on the wire.
  uint32_t flags = a.flags & ~kAttrExtended;
  w.u32(flags);
  if (flags & kAttrSize) w.u64(a.size);
  if (flags & kAttrUidGid) w.u32(a.uid).u32(a.gid);
  if (flags & kAttrPermissions) w.u32(a.permissions);
  if (flags & kAttrAcModTime) w.u32(a.atime).u32(a.mtime);
}

}  // namespace postern::sftp
