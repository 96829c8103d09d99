#include "sftp-server/open_flags.h"

#include <fcntl.h>

#include <string_view>
#include <vector>

#include "common/join.h"
#include "sftp-server/protocol.h"

namespace postern::sftp {

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

}  // namespace postern::sftp
