// The constants of SFTP version 3 (draft-ietf-secsh-filexfer-02) and the OpenSSH extensions
// (OpenSSH PROTOCOL §4), plus the ATTRS structure (draft §5) and its codec.
#pragma once

#include <cstdint>

#include "common/wire.h"

namespace postern::sftp {

inline constexpr uint32_t kProtocolVersion = 3;

// Packet types (draft §3).
enum PacketType : uint8_t {
  kFxpInit = 1,
  kFxpVersion = 2,
  kFxpOpen = 3,
  kFxpClose = 4,
  kFxpRead = 5,
  kFxpWrite = 6,
  kFxpLstat = 7,
  kFxpFstat = 8,
  kFxpSetstat = 9,
  kFxpFsetstat = 10,
  kFxpOpendir = 11,
  kFxpReaddir = 12,
  kFxpRemove = 13,
  kFxpMkdir = 14,
  kFxpRmdir = 15,
  kFxpRealpath = 16,
  kFxpStat = 17,
  kFxpRename = 18,
  kFxpReadlink = 19,
  kFxpSymlink = 20,
  kFxpStatus = 101,
  kFxpHandle = 102,
  kFxpData = 103,
  kFxpName = 104,
  kFxpAttrs = 105,
  kFxpExtended = 200,
  kFxpExtendedReply = 201,
};

// Status codes (draft §7). Version 3 defines nothing above kOpUnsupported, so every other
// failure is reported as kFailure.
enum StatusCode : uint32_t {
  kFxOk = 0,
  kFxEof = 1,
  kFxNoSuchFile = 2,
  kFxPermissionDenied = 3,
  kFxFailure = 4,
  kFxBadMessage = 5,
  kFxNoConnection = 6,
  kFxConnectionLost = 7,
  kFxOpUnsupported = 8,
};

// The English text sent with each status, as OpenSSH's sftp client prints it.
const char* status_message(uint32_t code);

// SSH_FXP_OPEN pflags (draft §6.3).
enum OpenFlags : uint32_t {
  kFxfRead = 0x01,
  kFxfWrite = 0x02,
  kFxfAppend = 0x04,
  kFxfCreat = 0x08,
  kFxfTrunc = 0x10,
  kFxfExcl = 0x20,
};

// ATTRS flags (draft §5).
enum AttrFlags : uint32_t {
  kAttrSize = 0x00000001,
  kAttrUidGid = 0x00000002,
  kAttrPermissions = 0x00000004,
  kAttrAcModTime = 0x00000008,
  kAttrExtended = 0x80000000,
};

// statvfs@openssh.com f_flag bits (PROTOCOL §4.4).
inline constexpr uint64_t kStatvfsReadOnly = 0x1;
inline constexpr uint64_t kStatvfsNoSuid = 0x2;

// Extended attribute pairs a client may send are skipped; this bounds how many.
inline constexpr uint32_t kMaxExtendedAttrs = 256;

struct Attrs {
  uint32_t flags = 0;
  uint64_t size = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t permissions = 0;
  uint32_t atime = 0;
  uint32_t mtime = 0;
  bool operator==(const Attrs&) const = default;
};

// Reads ATTRS; extended pairs are read and dropped. Throws ProtocolError when short.
Attrs read_attrs(Reader& r);
void write_attrs(Writer& w, const Attrs& a);

}  // namespace postern::sftp
