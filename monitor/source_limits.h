// The listener's per-source accounting: PerSourceMaxStartups counted per PerSourceNetBlockSize
// block, and PerSourcePenalties (the keyword OpenSSH 9.8 added): a block whose connections end
// badly accumulates penalty seconds and, once past `min`, is refused until they run out.
//
// sshd-session tells the listener why a connection's pre-auth phase ended with one byte on its
// startup pipe (monitor/session_outcome.h); the listener turns it into a penalty here.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <array>
#include <compare>
#include <cstdint>
#include <map>
#include <string>

#include "common/config/server_config.h"
#include "monitor/session_outcome.h"

namespace postern::monitor {

// A source address masked to its netblock; IPv4-mapped IPv6 counts as IPv4.
struct SourceKey {
  int family = AF_UNSPEC;
  int bits = 0;
  std::array<uint8_t, 16> addr{};
  auto operator<=>(const SourceKey&) const = default;
};

SourceKey source_key(const sockaddr_storage& ss, int bits4, int bits6);
// "127.0.0.0/8"
std::string describe_source(const SourceKey& key);

enum class Penalty {
  kNone,
  kCrash,
  kAuthFail,
  kInvalidUser,
  kNoAuth,
  kGraceExceeded,
  kRefuseConnection
};
// Log text, as OpenSSH's "penalty: ..." reasons read.
const char* penalty_reason(Penalty p);
// The penalty for what sshd-session reported.
Penalty penalty_for(SessionOutcome outcome);
// The penalty for an sshd-session that ended without reporting (its wait status): a crash when a
// signal no administrator sends killed it, else none.
Penalty classify_silent_exit(int wait_status);

class SourceLimits {
 public:
  void configure(const config::ServerConfig& cfg);

  SourceKey key_of(const sockaddr_storage& ss) const;

  // Empty when a connection from `key` (numeric `address`) may be served, else the reason to
  // drop it ("past PerSourceMaxStartups", "penalty: failed authentication").
  std::string refusal(const SourceKey& key, const std::string& address, int64_t now);

  void started(const SourceKey& key) { ++m_unauth[key]; }
  void finished_startup(const SourceKey& key);
  // Records a penalty; true when it made the source refused.
  bool penalise(const SourceKey& key, const std::string& address, Penalty p, int64_t now);

  size_t penalised_sources() const { return m_penalties.size(); }

 private:
  struct Record {
    int64_t expiry = 0;
    bool active = false;
    Penalty last = Penalty::kNone;
  };
  void expire(int64_t now);
  bool exempt(const std::string& address) const;

  int m_per_source_max = 0x7fffffff;
  int m_bits4 = 32, m_bits6 = 128;
  config::PerSourcePenalties m_pen;
  std::string m_exempt;
  std::map<SourceKey, int> m_unauth;
  std::map<SourceKey, Record> m_penalties;
  bool m_overflow4 = false, m_overflow6 = false;  // table full and not permissive
};

}  // namespace postern::monitor
