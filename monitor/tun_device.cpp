#include "monitor/tun_device.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "common/log.h"

namespace postern::monitor {
namespace {

// The largest unit a client may name: 0x7ffffffe and 0x7fffffff are reserved by ssh(1) for
// "error" and "any".
constexpr uint32_t kTunUnitMax = 0x7ffffffd;

std::optional<uint32_t> parse_unit(const std::string& s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + uint64_t(c - '0');
  }
  if (v > kTunUnitMax) return std::nullopt;
  return uint32_t(v);
}

// The user's supplementary groups, read before forking (NSS is not for a forked child).
std::vector<gid_t> user_groups(const std::string& user, gid_t gid) {
  int n = 64;
  std::vector<gid_t> groups(static_cast<size_t>(n));
  while (::getgrouplist(user.c_str(), gid, groups.data(), &n) < 0) {
    if (n <= int(groups.size()) || n > 65536) return {gid};
    groups.resize(size_t(n));
  }
  groups.resize(size_t(n));
  return groups;
}

// Runs TUNSETIFF as the user: a child that takes the user's groups and ids (which drops every
// capability) makes the call on the shared open file, then exits. Returns 0 or an errno value.
int attach_as_user(int fd, ifreq& ifr, const std::string& user, uid_t uid, gid_t gid) {
  std::vector<gid_t> groups = user_groups(user, gid);
  pid_t pid = ::fork();
  if (pid < 0) return errno;
  if (pid == 0) {
    if (::setgroups(groups.size(), groups.data()) != 0 || ::setresgid(gid, gid, gid) != 0 ||
        ::setresuid(uid, uid, uid) != 0)
      ::_exit(255);
    int rc = ::ioctl(fd, TUNSETIFF, &ifr);
    ::_exit(rc == 0 ? 0 : (errno > 0 && errno < 255 ? errno : EIO));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return errno;
  }
  if (!WIFEXITED(status)) return EIO;
  int code = WEXITSTATUS(status);
  return code == 255 ? EPERM : code;
}

}  // namespace

Result<uint32_t> decide_tun(int permit_tunnel, const TunKeyOptions& key, uint32_t mode,
                            uint32_t unit) {
  if (mode != kTunModePointToPoint && mode != kTunModeEthernet)
    return Unexpected("unsupported tunnel mode " + std::to_string(mode));
  // PermitTunnel: yes permits both modes, point-to-point and ethernet one each.
  if ((uint32_t(permit_tunnel) & mode) == 0)
    return Unexpected(std::string("PermitTunnel does not allow ") +
                      (mode == kTunModePointToPoint ? "point-to-point" : "ethernet") + " tunnels");
  if (unit != kTunUnitAny && unit > kTunUnitMax)
    return Unexpected("bad tunnel unit " + std::to_string(unit));
  if (key.device && *key.device != "any") {
    // tunnel="n" (sshd(8)): the key forces device n; a request for another one is refused.
    auto forced = parse_unit(*key.device);
    if (!forced) return Unexpected("bad tunnel= option \"" + *key.device + "\"");
    if (unit != kTunUnitAny && unit != *forced)
      return Unexpected("tunnel device " + std::to_string(unit) + " requested, key forces " +
                        std::to_string(*forced));
    return *forced;
  }
  // "restrict" turns off every forwarding the key does not turn back on (sshd(8)); tunnel=
  // is the only option that names tunnels, so it is what re-enables them.
  if (key.restrict && !key.device) return Unexpected("key is restricted (no tunnel= option)");
  return unit;
}

Result<TunDevice> open_tun_device(uint32_t mode, uint32_t unit, const std::string& user, uid_t uid,
                                  gid_t gid) {
  UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
  if (!fd) return Unexpected(std::string("open /dev/net/tun: ") + std::strerror(errno));
  ifreq ifr{};
  // IFF_NO_PI: packets without the kernel's 4-byte header; the channel has its own (§2.3).
  ifr.ifr_flags = short((mode == kTunModeEthernet ? IFF_TAP : IFF_TUN) | IFF_NO_PI);
  const char* prefix = mode == kTunModeEthernet ? "tap" : "tun";
  if (unit == kTunUnitAny)
    std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s%%d", prefix);
  else
    std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s%u", prefix, unit);
  std::string requested = ifr.ifr_name;
  int err = 0;
  if (uid == 0)
    err = ::ioctl(fd.get(), TUNSETIFF, &ifr) == 0 ? 0 : errno;
  else
    err = attach_as_user(fd.get(), ifr, user, uid, gid);
  if (err != 0)
    return Unexpected("TUNSETIFF " + requested + ": " + std::string(std::strerror(err)));
  // The kernel filled in the name ("tun%d" → "tun0"); in the forked case only the child saw it.
  ifreq got{};
  if (::ioctl(fd.get(), TUNGETIFF, &got) != 0)
    return Unexpected(std::string("TUNGETIFF: ") + std::strerror(errno));
  got.ifr_name[IFNAMSIZ - 1] = '\0';
  TunDevice dev;
  dev.fd = std::move(fd);
  dev.name = got.ifr_name;
  log_debug("tun device %s opened for %s (mode %u)", dev.name.c_str(), user.c_str(), mode);
  return dev;
}

}  // namespace postern::monitor
