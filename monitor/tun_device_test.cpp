#include "monitor/tun_device.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <pwd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>

namespace postern::monitor {
namespace {

constexpr int kNo = 0, kPointToPoint = 1, kEthernet = 2, kYes = 3;  // config::PermitTunnel

TEST(TunPolicy, PermitTunnelDecidesTheModes) {
  TunKeyOptions none;
  EXPECT_FALSE(decide_tun(kNo, none, kTunModePointToPoint, kTunUnitAny));
  EXPECT_FALSE(decide_tun(kNo, none, kTunModeEthernet, kTunUnitAny));
  EXPECT_TRUE(decide_tun(kPointToPoint, none, kTunModePointToPoint, kTunUnitAny));
  EXPECT_FALSE(decide_tun(kPointToPoint, none, kTunModeEthernet, kTunUnitAny));
  EXPECT_FALSE(decide_tun(kEthernet, none, kTunModePointToPoint, kTunUnitAny));
  EXPECT_TRUE(decide_tun(kEthernet, none, kTunModeEthernet, kTunUnitAny));
  EXPECT_TRUE(decide_tun(kYes, none, kTunModePointToPoint, 3));
  EXPECT_TRUE(decide_tun(kYes, none, kTunModeEthernet, 0));
  auto r = decide_tun(kNo, none, kTunModePointToPoint, 0);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("PermitTunnel"), std::string::npos);
}

TEST(TunPolicy, BadModesAndUnitsAreRefused) {
  TunKeyOptions none;
  EXPECT_FALSE(decide_tun(kYes, none, 0, kTunUnitAny));
  EXPECT_FALSE(decide_tun(kYes, none, 3, kTunUnitAny));
  EXPECT_FALSE(decide_tun(kYes, none, 0xffffffff, kTunUnitAny));
  EXPECT_FALSE(decide_tun(kYes, none, kTunModePointToPoint, 0x7ffffffe));
  EXPECT_FALSE(decide_tun(kYes, none, kTunModePointToPoint, 0xffffffff));
  auto any = decide_tun(kYes, none, kTunModePointToPoint, kTunUnitAny);
  ASSERT_TRUE(any);
  EXPECT_EQ(*any, kTunUnitAny);
  auto seven = decide_tun(kYes, none, kTunModePointToPoint, 7);
  ASSERT_TRUE(seven);
  EXPECT_EQ(*seven, 7u);
}

TEST(TunPolicy, KeyTunnelOptionForcesTheDevice) {
  TunKeyOptions forced;
  forced.device = "4";
  auto a = decide_tun(kYes, forced, kTunModePointToPoint, kTunUnitAny);
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, 4u);
  auto b = decide_tun(kYes, forced, kTunModePointToPoint, 4);
  ASSERT_TRUE(b);
  EXPECT_EQ(*b, 4u);
  EXPECT_FALSE(decide_tun(kYes, forced, kTunModePointToPoint, 5));
  // The key cannot widen PermitTunnel.
  EXPECT_FALSE(decide_tun(kNo, forced, kTunModePointToPoint, kTunUnitAny));
  TunKeyOptions any;
  any.device = "any";
  auto c = decide_tun(kYes, any, kTunModePointToPoint, 9);
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, 9u);
  TunKeyOptions bad;
  bad.device = "99999999999";
  EXPECT_FALSE(decide_tun(kYes, bad, kTunModePointToPoint, kTunUnitAny));
}

TEST(TunPolicy, RestrictRefusesUnlessTunnelIsNamed) {
  TunKeyOptions restricted;
  restricted.restrict = true;
  EXPECT_FALSE(decide_tun(kYes, restricted, kTunModePointToPoint, kTunUnitAny));
  restricted.device = "any";
  EXPECT_TRUE(decide_tun(kYes, restricted, kTunModePointToPoint, kTunUnitAny));
  restricted.device = "2";
  auto r = decide_tun(kYes, restricted, kTunModeEthernet, kTunUnitAny);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 2u);
}

bool tun_available() {
  if (::geteuid() != 0) return false;
  int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

TEST(TunDevice, RootCreatesTheNextFreeDevice) {
  if (!tun_available()) GTEST_SKIP() << "needs root and /dev/net/tun";
  auto tun = open_tun_device(kTunModePointToPoint, kTunUnitAny, "root", 0, 0);
  ASSERT_TRUE(tun) << tun.error().message;
  EXPECT_EQ(tun->name.rfind("tun", 0), 0u) << tun->name;
  ifreq ifr{};
  ASSERT_EQ(::ioctl(tun->fd.get(), TUNGETIFF, &ifr), 0);
  EXPECT_EQ(ifr.ifr_flags & (IFF_TUN | IFF_TAP | IFF_NO_PI), IFF_TUN | IFF_NO_PI);
  auto tap = open_tun_device(kTunModeEthernet, kTunUnitAny, "root", 0, 0);
  ASSERT_TRUE(tap) << tap.error().message;
  EXPECT_EQ(tap->name.rfind("tap", 0), 0u) << tap->name;
}

// A user may attach to a persistent device they own, and may not create one: the kernel
// decides with the user's credentials, not the monitor's.
TEST(TunDevice, UserAttachesOnlyToTheirOwnPersistentDevice) {
  if (!tun_available()) GTEST_SKIP() << "needs root and /dev/net/tun";
  passwd* nobody = ::getpwnam("nobody");
  if (nobody == nullptr) GTEST_SKIP() << "no user nobody";
  uint32_t unit = 4000 + uint32_t(::getpid() % 1000);
  EXPECT_FALSE(
      open_tun_device(kTunModePointToPoint, unit, "nobody", nobody->pw_uid, nobody->pw_gid));
  EXPECT_FALSE(
      open_tun_device(kTunModePointToPoint, kTunUnitAny, "nobody", nobody->pw_uid, nobody->pw_gid));

  int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ifreq ifr{};
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  std::snprintf(ifr.ifr_name, IFNAMSIZ, "tun%u", unit);
  ASSERT_EQ(::ioctl(fd, TUNSETIFF, &ifr), 0) << std::strerror(errno);
  ASSERT_EQ(::ioctl(fd, TUNSETOWNER, (unsigned long)nobody->pw_uid), 0);
  ASSERT_EQ(::ioctl(fd, TUNSETPERSIST, 1UL), 0);
  ::close(fd);

  auto mine = open_tun_device(kTunModePointToPoint, unit, "nobody", nobody->pw_uid, nobody->pw_gid);
  EXPECT_TRUE(mine) << mine.error().message;
  if (mine) {
    EXPECT_EQ(mine->name, "tun" + std::to_string(unit));
  }
  // Another user's persistent device stays closed to them.
  EXPECT_FALSE(open_tun_device(kTunModePointToPoint, unit, "nobody", nobody->pw_uid + 1,
                               nobody->pw_gid + 1));
  mine = Unexpected("closed");

  fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ioctl(fd, TUNSETIFF, &ifr), 0) << std::strerror(errno);
  EXPECT_EQ(::ioctl(fd, TUNSETPERSIST, 0UL), 0);
  ::close(fd);
}

}  // namespace
}  // namespace postern::monitor
