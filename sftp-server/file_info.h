// What the server tells the client about a file: ATTRS from a struct stat, and the `ls -l`
// style "longname" of SSH_FXP_NAME entries (draft-ietf-secsh-filexfer-02 §7: its format is
// unspecified, but clients show it as is, so it looks like ls -l output).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <ctime>
#include <string>
#include <string_view>
#include <unordered_map>

#include "sftp-server/protocol.h"

namespace postern::sftp {

Attrs attrs_from_stat(const struct stat& st);

// The 10-character mode column of ls -l ("drwxr-xr-x").
std::string mode_string(mode_t mode);

// User and group names by id, cached: a directory listing asks for the same few ids
// thousands of times, and each lookup may go through NSS.
class NameCache {
 public:
  // Empty when the id has no name (e.g. inside a chroot without /etc/passwd).
  const std::string& user(uid_t uid);
  const std::string& group(gid_t gid);

 private:
  std::unordered_map<uid_t, std::string> m_users;
  std::unordered_map<gid_t, std::string> m_groups;
};

// "-rw-r--r--    1 alice    staff        1234 Nov 21 18:33 name". Dates older than six
// months (or in the future) show the year instead of the time, as ls does.
std::string long_name(std::string_view name, const struct stat& st, NameCache& names, time_t now);

}  // namespace postern::sftp
