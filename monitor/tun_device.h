// tun/tap devices for "tun@openssh.com" channels (OpenSSH PROTOCOL §2.3, ssh -w). The session
// process runs as the user and cannot open /dev/net/tun, so the monitor decides whether the
// request is allowed (PermitTunnel, the key's tunnel= and restrict options) and opens the
// device, then passes the descriptor over ipc.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace postern::monitor {

// PROTOCOL §2.3 tunnel modes; the same bits as config::PermitTunnel (yes = both).
inline constexpr uint32_t kTunModePointToPoint = 1;
inline constexpr uint32_t kTunModeEthernet = 2;
// "remote unit number" meaning "the next free device".
inline constexpr uint32_t kTunUnitAny = 0x7fffffff;

// What the authorized_keys line (or certificate) that logged the user in says about tunnels.
struct TunKeyOptions {
  bool restrict = false;              // "restrict": no tunnel unless tunnel= names one
  std::optional<std::string> device;  // tunnel="n" (or "any")
};

// Decides a tun@openssh.com request: the unit to open (kTunUnitAny for the next free one), or
// the reason it is refused. `permit_tunnel` is config::PermitTunnel (0 no, 1 point-to-point,
// 2 ethernet, 3 yes).
Result<uint32_t> decide_tun(int permit_tunnel, const TunKeyOptions& key, uint32_t mode,
                            uint32_t unit);

struct TunDevice {
  UniqueFd fd;
  std::string name;
};

// Opens /dev/net/tun and attaches it to "tunN"/"tapN" (the next free one for kTunUnitAny) with
// TUNSETIFF, without packet information headers. The attach happens with the user's
// credentials (a forked child that becomes the user), so the kernel's own rules decide: root
// may create devices, anyone else only attach to a persistent device they own or whose group
// they are in — sshd_config(5): "the permissions of the selected tun(4) device must allow
// access to the user".
Result<TunDevice> open_tun_device(uint32_t mode, uint32_t unit, const std::string& user, uid_t uid,
                                  gid_t gid);

}  // namespace postern::monitor
