// The moduli(5) file of Diffie-Hellman groups and the server's choice of a group for
// diffie-hellman-group-exchange (RFC 4419 §3). sshd(8): "If no usable groups are found in this
// file then fixed internal groups will be used."
//
// The file is read by whichever process may open it (in postern the monitor, since the net
// child is sandboxed); the chosen group then goes to make_dh_kex (net/kex_method.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "net/kex_dh.h"

namespace postern::net {

// RFC 8270 §3 raises RFC 4419's minimum group size to 2048 bits; 8192 is the largest group
// OpenSSH's moduli file and built-in groups provide, and what a server is expected to clamp to.
inline constexpr uint32_t kGexMinBits = 2048;
inline constexpr uint32_t kGexMaxBits = 8192;
// A moduli file larger than this is refused rather than read (the stock one is ~600 KB).
inline constexpr size_t kMaxModuliFileSize = 16 * 1024 * 1024;

struct ModuliEntry {
  uint32_t bits;  // bit length of p (the file's size field is one less)
  DhGroup group;
};

// Parses moduli(5) text. Lines that are blank, comments, malformed, or not usable by a server
// (not a tested safe prime, size field disagreeing with the modulus, bad generator) are skipped;
// `skipped`, when given, counts the non-comment lines dropped.
std::vector<ModuliEntry> parse_moduli(std::string_view text, size_t* skipped = nullptr);

// The group for a client's SSH_MSG_KEX_DH_GEX_REQUEST (min, n, max). Bounds are clamped to
// [kGexMinBits, kGexMaxBits] and n into them. Among entries within [min, max] the best size is
// the smallest at least n, else the largest below n; one entry of that size is chosen at random.
// With no entry in range the built-in groups 14/16/18 are tried by the same rule. An error means
// the request itself is unacceptable (min > n, n > max, max < kGexMinBits) or nothing fits.
Result<DhGroup> choose_group(const std::vector<ModuliEntry>& entries, uint32_t min, uint32_t wanted,
                             uint32_t max);

// Reads `moduli_path` (missing or unreadable: built-in groups only) and chooses as above.
Result<DhGroup> choose_group(const std::string& moduli_path, uint32_t min, uint32_t wanted,
                             uint32_t max);

}  // namespace postern::net
