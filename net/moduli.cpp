// moduli(5) parsing and group choice for diffie-hellman-group-exchange (RFC 4419 §3).
#include "net/moduli.h"

#include <openssl/bn.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>

#include "common/log.h"
#include "common/ossl.h"
#include "common/text_lines.h"

namespace postern::net {
namespace {

// moduli(5) "type" and "tests" values.
constexpr unsigned kTypeSafePrime = 2;
constexpr unsigned kTestComposite = 0x01;

// The built-in groups used when the file offers nothing in range (sshd(8), FILES).
constexpr int kFallbackGroups[] = {14, 16, 18};

template <typename T>
bool parse_decimal(std::string_view s, T& out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 10);
  return ec == std::errc() && end == s.data() + s.size();
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Hex of any length (the generator is usually one digit) to a big-endian magnitude.
bool parse_hex(std::string_view s, Bytes& out) {
  if (s.empty()) return false;
  out.assign((s.size() + 1) / 2, 0);
  size_t nibble = (s.size() % 2) ? 1 : 0;  // an odd count starts in the low half of byte 0
  for (char c : s) {
    int v = hex_value(c);
    if (v < 0) return false;
    out[nibble / 2] |= uint8_t(nibble % 2 ? v : v << 4);
    ++nibble;
  }
  return true;
}

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

// One record: "timestamp type tests trials size generator modulus" (moduli(5)).
bool parse_line(std::string_view line, ModuliEntry& out) {
  auto f = split_fields(line);
  if (f.size() != 7) return false;
  uint64_t timestamp;
  unsigned type, tests, trials, size;
  if (!parse_decimal(f[0], timestamp) || !parse_decimal(f[1], type) ||
      !parse_decimal(f[2], tests) || !parse_decimal(f[3], trials) || !parse_decimal(f[4], size))
    return false;
  // Only safe primes that were tested and not found composite are fit for a server to hand out
  // (moduli(5): type 2 is "ready for use in sshd(8)").
  if (type != kTypeSafePrime || (tests & kTestComposite) || (tests & ~kTestComposite) == 0 ||
      trials == 0)
    return false;
  // The size field is the prime's bit length minus one (2047 for a 2048-bit prime).
  uint64_t bits = uint64_t(size) + 1;
  if (bits < uint64_t(kDhMinModulusBits) || bits > uint64_t(kDhMaxModulusBits)) return false;
  if (f[6].size() > kDhMaxModulusBits / 4 + 1 || f[5].size() > kDhMaxModulusBits / 4 + 1)
    return false;
  DhGroup g;
  if (!parse_hex(f[6], g.p) || !parse_hex(f[5], g.g)) return false;
  if (g.bits() != bits || !(g.p.back() & 1)) return false;
  BignumPtr p(BN_bin2bn(g.p.data(), int(g.p.size()), nullptr));
  BignumPtr gen(BN_bin2bn(g.g.data(), int(g.g.size()), nullptr));
  if (!p || !gen || !BN_sub_word(p.get(), 1)) return false;
  if (BN_cmp(gen.get(), BN_value_one()) <= 0 || BN_cmp(gen.get(), p.get()) >= 0) return false;
  // Keep p without leading zero bytes, so its length says its size.
  while (g.p.size() > 1 && g.p[0] == 0) g.p.erase(g.p.begin());
  while (g.g.size() > 1 && g.g[0] == 0) g.g.erase(g.g.begin());
  out = ModuliEntry{uint32_t(bits), std::move(g)};
  return true;
}

// RFC 4419 §3: "the smallest group it knows that is larger than the size the client requested",
// else "the largest group it knows". 0 when no size lies within [min, max].
uint32_t best_size(const std::vector<uint32_t>& sizes, uint32_t min, uint32_t wanted,
                   uint32_t max) {
  uint32_t above = 0, below = 0;
  for (uint32_t s : sizes) {
    if (s < min || s > max) continue;
    if (s >= wanted) {
      if (above == 0 || s < above) above = s;
    } else if (s > below) {
      below = s;
    }
  }
  return above ? above : below;
}

// Uniform in [0, n) from the CSPRNG, by rejection so no index is favoured.
Result<size_t> random_index(size_t n) {
  if (n <= 1) return size_t{0};
  uint32_t limit = UINT32_MAX - (UINT32_MAX % uint32_t(n));
  for (;;) {
    uint32_t r;
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&r), sizeof r) != 1)
      return Unexpected(ossl_error("RAND_bytes"));
    if (r < limit) return size_t(r % n);
  }
}

Result<DhGroup> choose_builtin(uint32_t min, uint32_t wanted, uint32_t max) {
  std::vector<DhGroup> groups;
  std::vector<uint32_t> sizes;
  for (int id : kFallbackGroups) {
    auto g = builtin_dh_group(id);
    if (!g) continue;
    sizes.push_back(uint32_t(g->bits()));
    groups.push_back(std::move(*g));
  }
  uint32_t best = best_size(sizes, min, wanted, max);
  for (size_t i = 0; i < groups.size(); ++i)
    if (best != 0 && sizes[i] == best) return std::move(groups[i]);
  return Unexpected("no built-in group between " + std::to_string(min) + " and " +
                    std::to_string(max) + " bits");
}

}  // namespace

std::vector<ModuliEntry> parse_moduli(std::string_view text, size_t* skipped) {
  std::vector<ModuliEntry> entries;
  size_t dropped = 0;
  TextLines lines(text);
  std::string_view line;
  while (lines.next(line)) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') continue;
    ModuliEntry e;
    if (parse_line(line, e)) {
      entries.push_back(std::move(e));
    } else {
      ++dropped;
    }
  }
  if (skipped) *skipped = dropped;
  return entries;
}

Result<DhGroup> choose_group(const std::vector<ModuliEntry>& entries, uint32_t min, uint32_t wanted,
                             uint32_t max) {
  // RFC 4419 §3 requires min <= n <= max of the request; below RFC 8270's floor nothing fits.
  if (min > wanted || wanted > max)
    return Unexpected("group exchange request out of order: min " + std::to_string(min) + ", n " +
                      std::to_string(wanted) + ", max " + std::to_string(max));
  if (max < kGexMinBits)
    return Unexpected("group exchange request max " + std::to_string(max) +
                      " is below the minimum of " + std::to_string(kGexMinBits) + " bits");
  min = std::max(min, kGexMinBits);
  max = std::min(max, kGexMaxBits);
  if (min > max) return Unexpected("group exchange request min is above the maximum of 8192 bits");
  wanted = std::clamp(wanted, min, max);

  std::vector<uint32_t> sizes;
  sizes.reserve(entries.size());
  for (const auto& e : entries) sizes.push_back(e.bits);
  uint32_t best = best_size(sizes, min, wanted, max);
  if (best == 0) {
    log_info("WARNING: no suitable moduli between %u and %u bits, using a built-in group", min,
             max);
    return choose_builtin(min, wanted, max);
  }
  size_t count = size_t(std::count(sizes.begin(), sizes.end(), best));
  auto pick = random_index(count);
  if (!pick) return Unexpected(pick.error());
  for (const auto& e : entries) {
    if (e.bits != best) continue;
    if ((*pick)-- == 0) return e.group;
  }
  return Unexpected("moduli: internal error choosing a group");
}

Result<DhGroup> choose_group(const std::string& moduli_path, uint32_t min, uint32_t wanted,
                             uint32_t max) {
  std::ifstream in(moduli_path, std::ios::binary);
  if (!in) {
    log_info("WARNING: could not open %s (%s), using a built-in group", moduli_path.c_str(),
             std::strerror(errno));
    return choose_group(std::vector<ModuliEntry>{}, min, wanted, max);
  }
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, size_t(in.gcount()));
    if (text.size() > kMaxModuliFileSize) {
      log_info("WARNING: %s is larger than %zu bytes, using a built-in group", moduli_path.c_str(),
               kMaxModuliFileSize);
      return choose_group(std::vector<ModuliEntry>{}, min, wanted, max);
    }
  }
  size_t skipped = 0;
  auto entries = parse_moduli(text, &skipped);
  if (skipped) log_debug("%s: skipped %zu unusable lines", moduli_path.c_str(), skipped);
  return choose_group(entries, min, wanted, max);
}

}  // namespace postern::net
