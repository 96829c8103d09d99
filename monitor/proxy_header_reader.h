// Reading a PROXY protocol header (monitor/proxy_protocol.h) off a client socket. The bytes come
// from the network, so the root monitor does not parse them itself: it forks a child that closes
// every other descriptor, enters the privsep jail sshd-net uses (chroot, privsep user, no
// capabilities, seccomp) and reads and parses the header; the root process takes back a fixed
// 22-byte record and checks it field by field (docs/privilege-separation.md).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "monitor/proxy_protocol.h"

namespace postern::monitor {

struct ProxyHeaderResult {
  proxy_protocol::Error error = proxy_protocol::Error::kNone;
  proxy_protocol::Header header;
};

// Reads exactly the header from `fd` (nothing of the SSH bytes behind it), waiting at most
// timeout_ms in all. Runs in the jailed child; testable in process on a socketpair.
ProxyHeaderResult read_proxy_header(int fd, int timeout_ms);

// The record the child sends back: error, version, has_client, family (4 or 6), address (16),
// port (big-endian). decode_result refuses anything a parser could not have produced.
inline constexpr size_t kProxyResultSize = 22;
std::array<uint8_t, kProxyResultSize> encode_result(const ProxyHeaderResult& r);
std::optional<ProxyHeaderResult> decode_result(std::span<const uint8_t> record);

// The whole dance, in the monitor: fork, jail, read, take the record back, reap the child. A child
// that fails (the jail cannot be entered, a bug) or stays silent past the timeout is an error.
ProxyHeaderResult read_proxy_header_jailed(int fd, int timeout_ms);

}  // namespace postern::monitor
