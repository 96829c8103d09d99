#include "monitor/source_limits.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstring>

#include "common/config/match_eval.h"
#include "common/log.h"

namespace postern::monitor {
namespace {

void mask_bits(std::array<uint8_t, 16>& a, int len, int bits) {
  for (int i = 0; i < len; ++i) {
    int keep = std::clamp(bits - i * 8, 0, 8);
    a[size_t(i)] &= uint8_t(keep == 0 ? 0 : 0xff << (8 - keep));
  }
}

}  // namespace

SourceKey source_key(const sockaddr_storage& ss, int bits4, int bits6) {
  SourceKey k;
  if (ss.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(ss);
    k.family = AF_INET;
    std::memcpy(k.addr.data(), &in.sin_addr, 4);
  } else if (ss.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(ss);
    if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) {
      k.family = AF_INET;
      std::memcpy(k.addr.data(), in6.sin6_addr.s6_addr + 12, 4);
    } else {
      k.family = AF_INET6;
      std::memcpy(k.addr.data(), in6.sin6_addr.s6_addr, 16);
    }
  } else {
    return k;
  }
  k.bits = k.family == AF_INET ? std::clamp(bits4, 0, 32) : std::clamp(bits6, 0, 128);
  mask_bits(k.addr, k.family == AF_INET ? 4 : 16, k.bits);
  return k;
}

std::string describe_source(const SourceKey& key) {
  char buf[INET6_ADDRSTRLEN] = "UNKNOWN";
  if (key.family == AF_INET || key.family == AF_INET6)
    ::inet_ntop(key.family, key.addr.data(), buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(key.bits);
}

const char* penalty_reason(Penalty p) {
  switch (p) {
    case Penalty::kCrash:
      return "penalty: caused crash";
    case Penalty::kAuthFail:
      return "penalty: failed authentication";
    case Penalty::kInvalidUser:
      return "penalty: attempted authentication by invalid user";
    case Penalty::kNoAuth:
      return "penalty: connections without attempting authentication";
    case Penalty::kGraceExceeded:
      return "penalty: exceeded LoginGraceTime";
    case Penalty::kRefuseConnection:
      return "penalty: connection prohibited by RefuseConnection";
    case Penalty::kNone:
      break;
  }
  return "penalty";
}

Penalty penalty_for(SessionOutcome outcome) {
  switch (outcome) {
    case SessionOutcome::kAuthFail:
      return Penalty::kAuthFail;
    case SessionOutcome::kInvalidUser:
      return Penalty::kInvalidUser;
    case SessionOutcome::kNoAuth:
      return Penalty::kNoAuth;
    case SessionOutcome::kGraceExceeded:
      return Penalty::kGraceExceeded;
    case SessionOutcome::kCrash:
      return Penalty::kCrash;
    case SessionOutcome::kRefused:
      return Penalty::kRefuseConnection;
    case SessionOutcome::kAuthenticated:
      break;
  }
  return Penalty::kNone;
}

Penalty classify_silent_exit(int wait_status) {
  if (!WIFSIGNALED(wait_status)) return Penalty::kNone;
  int sig = WTERMSIG(wait_status);
  // Signals an administrator (or we) send are no crash.
  return sig == SIGTERM || sig == SIGKILL || sig == SIGHUP || sig == SIGINT ? Penalty::kNone
                                                                            : Penalty::kCrash;
}

void SourceLimits::configure(const config::ServerConfig& cfg) {
  m_per_source_max = cfg.per_source_max_startups;
  m_bits4 = cfg.per_source_netblock_size_ipv4;
  m_bits6 = cfg.per_source_netblock_size_ipv6;
  m_pen = cfg.per_source_penalties;
  m_exempt = cfg.per_source_penalty_exempt_list;
}

SourceKey SourceLimits::key_of(const sockaddr_storage& ss) const {
  return source_key(ss, m_bits4, m_bits6);
}

void SourceLimits::finished_startup(const SourceKey& key) {
  auto it = m_unauth.find(key);
  if (it == m_unauth.end()) return;
  if (--it->second <= 0) m_unauth.erase(it);
}

void SourceLimits::expire(int64_t now) {
  for (auto it = m_penalties.begin(); it != m_penalties.end();) {
    if (it->second.expiry <= now) {
      log_debug("penalty for %s expired", describe_source(it->first).c_str());
      it = m_penalties.erase(it);
    } else {
      ++it;
    }
  }
  size_t n4 = 0, n6 = 0;
  for (const auto& [k, r] : m_penalties) (k.family == AF_INET ? n4 : n6)++;
  if (n4 < size_t(m_pen.max_sources4)) m_overflow4 = false;
  if (n6 < size_t(m_pen.max_sources6)) m_overflow6 = false;
}

bool SourceLimits::exempt(const std::string& address) const {
  return !m_exempt.empty() && config::detail::match_address_list(address, m_exempt) == 1;
}

std::string SourceLimits::refusal(const SourceKey& key, const std::string& address, int64_t now) {
  if (m_pen.enabled && !exempt(address)) {
    expire(now);
    auto it = m_penalties.find(key);
    if (it != m_penalties.end() && it->second.active) return penalty_reason(it->second.last);
    if ((key.family == AF_INET && m_overflow4) || (key.family == AF_INET6 && m_overflow6))
      return "penalty: too many penalised sources";
  }
  auto it = m_unauth.find(key);
  if (it != m_unauth.end() && it->second >= m_per_source_max) return "past PerSourceMaxStartups";
  return {};
}

bool SourceLimits::penalise(const SourceKey& key, const std::string& address, Penalty p,
                            int64_t now) {
  if (!m_pen.enabled || p == Penalty::kNone || exempt(address)) return false;
  int seconds = p == Penalty::kCrash              ? m_pen.crash
                : p == Penalty::kAuthFail         ? m_pen.authfail
                : p == Penalty::kInvalidUser      ? m_pen.invalid_user
                : p == Penalty::kNoAuth           ? m_pen.noauth
                : p == Penalty::kRefuseConnection ? m_pen.refuse_connection
                                                  : m_pen.grace_exceeded;
  if (seconds <= 0) return false;
  expire(now);
  auto it = m_penalties.find(key);
  bool is_new = it == m_penalties.end();
  if (is_new) {
    size_t limit = size_t(key.family == AF_INET ? m_pen.max_sources4 : m_pen.max_sources6);
    size_t used = 0;
    for (const auto& [k, r] : m_penalties) used += k.family == key.family;
    if (used >= limit) {
      bool permissive =
          key.family == AF_INET ? m_pen.overflow_permissive : m_pen.overflow6_permissive;
      if (!permissive) {
        (key.family == AF_INET ? m_overflow4 : m_overflow6) = true;
        log_info("penalty table full; refusing all new %s connections",
                 key.family == AF_INET ? "IPv4" : "IPv6");
      }
      return false;
    }
    it = m_penalties.emplace(key, Record{now, false, p}).first;
  }
  Record& r = it->second;
  // Penalties add up, to at most `max` seconds from now.
  r.expiry = std::min(std::max(r.expiry, now) + seconds, now + int64_t(m_pen.max));
  r.last = p;
  bool was_active = r.active;
  if (r.expiry - now >= m_pen.min) r.active = true;
  // OpenSSH 9.8's line, which fail2ban-style tools have started to read.
  log_verbose("srclimit_penalise: %s: %s %s %s penalty of %lld seconds for %s",
              key.family == AF_INET ? "ipv4" : "ipv6", is_new ? "new" : "update",
              describe_source(key).c_str(), r.active ? "active" : "deferred",
              static_cast<long long>(r.expiry - now), penalty_reason(p));
  return r.active && !was_active;
}

}  // namespace postern::monitor
