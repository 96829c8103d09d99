#include "monitor/extender_socket.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "bastion/extender_names.h"
#include "common/log.h"

namespace postern::monitor {

namespace {

std::string errno_text() {
  return std::strerror(errno);
}

// The directory only root may enter: made when missing, refused when anyone else could reach
// the sockets in it (they open routes into the extender's network).
Result<void> check_directory(const std::string& dir) {
  auto slash = dir.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    std::string parent = dir.substr(0, slash);
    if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST)
      return Unexpected("extender_sockets: cannot create " + parent + ": " + errno_text());
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Unexpected("extender_sockets: cannot create " + dir + ": " + errno_text());
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0)
    return Unexpected("extender_sockets: " + dir + ": " + errno_text());
  if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 077) != 0)
    return Unexpected("extender_sockets: " + dir +
                      " must be a directory owned by root that only root may enter (0700)");
  return {};
}

// An older connection's sshd-bastion, if the owner file names one that still runs.
std::string close_older(const std::string& owner_path) {
  std::ifstream in(owner_path);
  long pid = 0;
  unsigned long long start = 0;
  std::string session;
  if (!(in >> pid >> start >> session) || pid <= 1) return "";
  if (process_start_time(pid_t(pid)) != start) return "";  // gone, or the pid was reused
  ::kill(pid_t(pid), SIGTERM);
  return session.size() <= 64 ? session : "";
}

Result<void> write_owner(const std::string& owner_path, pid_t relay_pid,
                         const std::string& session) {
  std::string tmp = owner_path + ".new";
  std::ostringstream text;
  text << relay_pid << ' ' << process_start_time(relay_pid) << ' ' << session << '\n';
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return Unexpected(tmp + ": " + errno_text());
  std::string s = text.str();
  if (::write(fd.get(), s.data(), s.size()) != ssize_t(s.size()))
    return Unexpected(tmp + ": " + errno_text());
  if (::rename(tmp.c_str(), owner_path.c_str()) != 0)
    return Unexpected(owner_path + ": " + errno_text());
  return {};
}

}  // namespace

unsigned long long process_start_time(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces and ')': the fields follow its last ')'.
  auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 1));
  std::string field;
  // Fields 3..21, then the start time (field 22).
  for (int i = 3; i < 22; ++i)
    if (!(fields >> field)) return 0;
  unsigned long long start = 0;
  fields >> start;
  return start;
}

Result<std::pair<UniqueFd, PublishedExtender>> publish_extender_socket(const std::string& dir,
                                                                       const std::string& name,
                                                                       pid_t relay_pid,
                                                                       const std::string& session) {
  if (auto ok = check_directory(dir); !ok) return Unexpected(ok.error().message);
  PublishedExtender p;
  p.socket_path = bastion::extender_socket_path(dir, name);
  p.owner_path = bastion::extender_owner_path(dir, name);
  std::string tmp = p.socket_path + "." + std::to_string(::getpid());
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (tmp.size() >= sizeof sa.sun_path)
    return Unexpected("extender socket path " + tmp + " is too long for a Unix socket");
  std::memcpy(sa.sun_path, tmp.c_str(), tmp.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Unexpected("socket: " + errno_text());
  ::unlink(tmp.c_str());
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
    return Unexpected("bind " + tmp + ": " + errno_text());
  struct stat st {};
  if (::chmod(tmp.c_str(), 0600) != 0 || ::listen(fd.get(), 16) != 0 ||
      ::stat(tmp.c_str(), &st) != 0) {
    std::string why = tmp + ": " + errno_text();
    ::unlink(tmp.c_str());
    return Unexpected(why);
  }
  // Renamed over an older connection's socket: connections from now on reach this one.
  if (::rename(tmp.c_str(), p.socket_path.c_str()) != 0) {
    std::string why = p.socket_path + ": " + errno_text();
    ::unlink(tmp.c_str());
    return Unexpected(why);
  }
  p.dev = st.st_dev;
  p.ino = st.st_ino;
  p.replaced_session = close_older(p.owner_path);
  if (auto w = write_owner(p.owner_path, relay_pid, session); !w)
    log_error("extender %s: %s", name.c_str(), w.error().message.c_str());
  return std::make_pair(std::move(fd), std::move(p));
}

void withdraw_extender_socket(const PublishedExtender& p) {
  struct stat st {};
  if (::stat(p.socket_path.c_str(), &st) != 0 || st.st_dev != p.dev || st.st_ino != p.ino)
    return;  // replaced by a newer connection: its files now
  ::unlink(p.socket_path.c_str());
  ::unlink(p.owner_path.c_str());
}

}  // namespace postern::monitor
