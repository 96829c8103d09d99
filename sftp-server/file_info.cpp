#include "sftp-server/file_info.h"

#include <grp.h>
#include <pwd.h>

#include <cstdio>

namespace postern::sftp {

Attrs attrs_from_stat(const struct stat& st) {
  Attrs a;
  a.flags = kAttrSize | kAttrUidGid | kAttrPermissions | kAttrAcModTime;
  a.size = uint64_t(st.st_size);
  a.uid = uint32_t(st.st_uid);
  a.gid = uint32_t(st.st_gid);
  a.permissions = uint32_t(st.st_mode);
  a.atime = uint32_t(st.st_atime);
  a.mtime = uint32_t(st.st_mtime);
  return a;
}

std::string mode_string(mode_t mode) {
  std::string s(10, '-');
  switch (mode & S_IFMT) {
    case S_IFDIR:
      s[0] = 'd';
      break;
    case S_IFLNK:
      s[0] = 'l';
      break;
    case S_IFCHR:
      s[0] = 'c';
      break;
    case S_IFBLK:
      s[0] = 'b';
      break;
    case S_IFIFO:
      s[0] = 'p';
      break;
    case S_IFSOCK:
      s[0] = 's';
      break;
    default:
      break;
  }
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i)
    if (mode & (0400 >> i)) s[1 + i] = rwx[i];
  // setuid/setgid/sticky replace the execute column: lower case when also executable.
  if (mode & S_ISUID) s[3] = (mode & S_IXUSR) ? 's' : 'S';
  if (mode & S_ISGID) s[6] = (mode & S_IXGRP) ? 's' : 'S';
  if (mode & S_ISVTX) s[9] = (mode & S_IXOTH) ? 't' : 'T';
  return s;
}

const std::string& NameCache::user(uid_t uid) {
  auto it = m_users.find(uid);
  if (it != m_users.end()) return it->second;
  struct passwd* pw = getpwuid(uid);
  return m_users[uid] = pw ? pw->pw_name : "";
}

const std::string& NameCache::group(gid_t gid) {
  auto it = m_groups.find(gid);
  if (it != m_groups.end()) return it->second;
  struct group* gr = getgrgid(gid);
  return m_groups[gid] = gr ? gr->gr_name : "";
}

std::string long_name(std::string_view name, const struct stat& st, NameCache& names, time_t now) {
  std::string user = names.user(st.st_uid);
  if (user.empty()) user = std::to_string(st.st_uid);
  std::string group = names.group(st.st_gid);
  if (group.empty()) group = std::to_string(st.st_gid);

  char date[32] = "";
  struct tm tm;
  time_t mtime = st.st_mtime;
  if (localtime_r(&mtime, &tm)) {
    constexpr time_t kSixMonths = 365 * 24 * 3600 / 2;
    bool recent = mtime <= now && mtime > now - kSixMonths;
    strftime(date, sizeof date, recent ? "%b %e %H:%M" : "%b %e  %Y", &tm);
  }
  char head[160];
  snprintf(head, sizeof head, "%s %4lu %-8s %-8s %8llu %s ", mode_string(st.st_mode).c_str(),
           (unsigned long)st.st_nlink, user.c_str(), group.c_str(), (unsigned long long)st.st_size,
           date);
  std::string out = head;
  out.append(name);
  return out;
}

}  // namespace postern::sftp
