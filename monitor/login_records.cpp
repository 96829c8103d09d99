#include "monitor/login_records.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <lastlog.h>
#include <sys/time.h>
#include <unistd.h>
#include <utmp.h>
#include <utmpx.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace postern::monitor {
namespace {

// Copies `s` into a fixed field, truncated, zero-padded (the fields need no terminator).
template <size_t N>
void set_field(char (&field)[N], const std::string& s) {
  std::memset(field, 0, N);
  std::memcpy(field, s.data(), std::min(N, s.size()));
}

template <size_t N>
std::string get_field(const char (&field)[N]) {
  return std::string(field, strnlen(field, N));
}

// "/dev/pts/3" → "pts/3", as utmp names terminals.
std::string line_of(const std::string& tty_name) {
  return tty_name.rfind("/dev/", 0) == 0 ? tty_name.substr(5) : tty_name;
}

// utmp's id: the last four characters of the line ("ts/3"), the convention of login(1).
void set_id(utmpx& ut, const std::string& line) {
  std::string id =
      line.size() > sizeof ut.ut_id ? line.substr(line.size() - sizeof ut.ut_id) : line;
  set_field(ut.ut_id, id);
}

void set_now(utmpx& ut) {
  struct timeval tv;
  ::gettimeofday(&tv, nullptr);
  ut.ut_tv.tv_sec = decltype(ut.ut_tv.tv_sec)(tv.tv_sec);
  ut.ut_tv.tv_usec = decltype(ut.ut_tv.tv_usec)(tv.tv_usec);
}

void set_address(utmpx& ut, const std::string& host) {
  static_assert(sizeof ut.ut_addr_v6 == 16);
  in6_addr a6;
  in_addr a4;
  if (::inet_pton(AF_INET, host.c_str(), &a4) == 1) {
    std::memcpy(ut.ut_addr_v6, &a4, sizeof a4);
  } else if (::inet_pton(AF_INET6, host.c_str(), &a6) == 1) {
    std::memcpy(ut.ut_addr_v6, &a6, sizeof a6);
  }
}

void write_utmp(const std::string& path, const utmpx& ut) {
  if (::utmpxname(path.c_str()) != 0) return;
  ::setutxent();
  if (::pututxline(&ut) == nullptr) log_debug("utmp %s: %s", path.c_str(), std::strerror(errno));
  ::endutxent();
}

}  // namespace

std::optional<LastLogin> read_lastlog(const std::string& path, uid_t uid) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return std::nullopt;
  struct lastlog ll;
  ssize_t n = ::pread(fd, &ll, sizeof ll, off_t(uid) * off_t(sizeof ll));
  ::close(fd);
  if (n != ssize_t(sizeof ll) || ll.ll_time == 0) return std::nullopt;
  return LastLogin{time_t(ll.ll_time), get_field(ll.ll_line), get_field(ll.ll_host)};
}

Result<void> write_lastlog(const std::string& path, uid_t uid, const LastLogin& entry) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return Unexpected("lastlog " + path + ": " + std::strerror(errno));
  struct lastlog ll;
  std::memset(&ll, 0, sizeof ll);
  ll.ll_time = decltype(ll.ll_time)(entry.time);
  set_field(ll.ll_line, entry.line);
  set_field(ll.ll_host, entry.host);
  ssize_t n = ::pwrite(fd, &ll, sizeof ll, off_t(uid) * off_t(sizeof ll));
  int err = errno;
  ::close(fd);
  if (n != ssize_t(sizeof ll)) return Unexpected("lastlog " + path + ": " + std::strerror(err));
  return {};
}

std::string last_login_message(const LastLogin& last) {
  char when[64];
  struct tm tm;
  time_t t = last.time;
  if (::localtime_r(&t, &tm) == nullptr ||
      ::strftime(when, sizeof when, "%a %b %e %H:%M:%S %Y", &tm) == 0)
    return "";
  std::string msg = std::string("Last login: ") + when;
  if (!last.host.empty()) msg += " from " + last.host;
  return msg + "\r\n";
}

LoginRecords::~LoginRecords() {
  logout_all();
}

void LoginRecords::pty_allocated(const std::string& tty_name) {
  // Finished ptys are forgotten, and a number the kernel hands out again starts afresh.
  std::erase_if(m_ptys, [&](const Pty& p) {
    return p.state == Pty::State::kLoggedOut ||
           (p.tty_name == tty_name && p.state == Pty::State::kAllocated);
  });
  Pty p;
  p.tty_name = tty_name;
  m_ptys.push_back(std::move(p));
}

Result<std::optional<LastLogin>> LoginRecords::login(const std::string& tty_name,
                                                     const std::string& user, uid_t uid,
                                                     const std::string& host, pid_t pid) {
  auto it = std::find_if(m_ptys.begin(), m_ptys.end(), [&](const Pty& p) {
    return p.tty_name == tty_name && p.state == Pty::State::kAllocated;
  });
  if (it == m_ptys.end())
    return Unexpected("login record for " + tty_name +
                      ", which is not a fresh pty of this session");
  it->state = Pty::State::kLoggedIn;
  it->pid = pid;
  it->host = host;
  std::string line = line_of(tty_name);

  utmpx ut;
  std::memset(&ut, 0, sizeof ut);
  ut.ut_type = USER_PROCESS;
  ut.ut_pid = pid;
  set_field(ut.ut_line, line);
  set_id(ut, line);
  set_field(ut.ut_user, user);
  set_field(ut.ut_host, host);
  set_address(ut, host);
  set_now(ut);
  write_utmp(m_paths.utmp, ut);
  ::updwtmpx(m_paths.wtmp.c_str(), &ut);

  // The previous entry is read before it is replaced: it is what "Last login:" shows.
  auto last = read_lastlog(m_paths.lastlog, uid);
  if (auto r = write_lastlog(m_paths.lastlog, uid, LastLogin{time(nullptr), line, host}); !r)
    log_debug("%s", r.error().message.c_str());
  return last;
}

Result<void> LoginRecords::logout(const std::string& tty_name) {
  auto it = std::find_if(m_ptys.begin(), m_ptys.end(), [&](const Pty& p) {
    return p.tty_name == tty_name && p.state == Pty::State::kLoggedIn;
  });
  if (it == m_ptys.end()) return Unexpected("logout record for " + tty_name + ", not logged in");
  it->state = Pty::State::kLoggedOut;
  std::string line = line_of(tty_name);

  utmpx ut;
  std::memset(&ut, 0, sizeof ut);
  ut.ut_type = DEAD_PROCESS;
  ut.ut_pid = it->pid;
  set_field(ut.ut_line, line);
  set_id(ut, line);
  set_address(ut, it->host);
  set_now(ut);
  write_utmp(m_paths.utmp, ut);
  // wtmp's logout record names the line only (last(1) pairs it with the login by line).
  std::memset(ut.ut_id, 0, sizeof ut.ut_id);
  std::memset(ut.ut_addr_v6, 0, sizeof ut.ut_addr_v6);
  ::updwtmpx(m_paths.wtmp.c_str(), &ut);
  return {};
}

void LoginRecords::logout_all() {
  for (auto& p : m_ptys) {
    if (p.state == Pty::State::kLoggedIn) (void)logout(p.tty_name);
  }
}

}  // namespace postern::monitor
