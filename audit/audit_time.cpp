#include "audit/audit_time.h"

#include <ctime>

namespace postern::audit {
namespace {

// Reads exactly `n` digits at `pos`.
std::optional<int> digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

bool is_leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

std::optional<int64_t> date_ms(std::string_view s) {
  auto y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2);
  if (!y || !mo || !d || s.size() < 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (*mo < 1 || *mo > 12 || *d < 1) return std::nullopt;
  if (*d > kDays[*mo - 1] + (*mo == 2 && is_leap(*y) ? 1 : 0)) return std::nullopt;
  struct tm tm {};
  tm.tm_year = *y - 1900;
  tm.tm_mon = *mo - 1;
  tm.tm_mday = *d;
  return int64_t(timegm(&tm)) * 1000;
}

}  // namespace

std::optional<int64_t> parse_rfc3339_ms(std::string_view s) {
  auto day = date_ms(s);
  if (!day || s.size() < 20) return std::nullopt;
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return std::nullopt;
  auto h = digits(s, 11, 2), mi = digits(s, 14, 2), sec = digits(s, 17, 2);
  if (!h || !mi || !sec || s[13] != ':' || s[16] != ':') return std::nullopt;
  if (*h > 23 || *mi > 59 || *sec > 60) return std::nullopt;  // 60: a leap second
  int64_t ms = *day + (int64_t(*h) * 3600 + *mi * 60 + *sec) * 1000;
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    int64_t frac = 0, scale = 100;
    size_t start = ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      frac += (s[pos] - '0') * scale;  // digits past milliseconds add nothing
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
    ms += frac;
  }
  std::string_view zone = s.substr(pos);
  if (zone == "Z" || zone == "z") return ms;
  if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || zone[3] != ':') return std::nullopt;
  auto zh = digits(zone, 1, 2), zm = digits(zone, 4, 2);
  if (!zh || !zm || *zh > 23 || *zm > 59) return std::nullopt;
  int64_t offset = (int64_t(*zh) * 60 + *zm) * 60000;
  return zone[0] == '+' ? ms - offset : ms + offset;  // local = UTC + offset
}

Result<int64_t> parse_since(std::string_view s, int64_t now_ms) {
  if (auto t = parse_rfc3339_ms(s)) return *t;
  if (s.size() == 10)
    if (auto d = date_ms(s)) return *d;
  if (s.size() >= 2 && s.size() <= 10) {
    int64_t unit = 0;
    switch (s.back()) {
      case 's':
        unit = 1000;
        break;
      case 'm':
        unit = 60000;
        break;
      case 'h':
        unit = 3600000;
        break;
      case 'd':
        unit = 86400000;
        break;
    }
    auto n = digits(s, 0, s.size() - 1);
    if (unit != 0 && n) return now_ms - int64_t(*n) * unit;
  }
  return Unexpected("--since \"" + std::string(s) +
                    "\": not a time (2026-12-07T03:15:00Z, 2026-12-07, or 30m, 12h, 7d ago)");
}

}  // namespace postern::audit
