// Match blocks: which connections a block applies to. Criteria are ANDed; each value is a pattern
// list ('*', '?', '!' negation) or, for addresses, patterns and CIDR blocks.
#include <arpa/inet.h>
#include <grp.h>
#include <pwd.h>
#include <strings.h>

#include <cstring>

#include "common/config/keywords.h"
#include "common/config/match_eval.h"
#include "common/match_pattern.h"

namespace postern::config::detail {
namespace {

std::vector<std::string_view> split_list(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string_view::npos) end = s.size();
    out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return out;
}

// Parses "addr/bits" (or "addr"): family, bytes, prefix length. False if malformed.
bool parse_cidr(std::string_view entry, int& family, unsigned char (&bytes)[16], int& bits) {
  std::string s(entry);
  size_t slash = s.find('/');
  std::string host = s.substr(0, slash);
  family = host.find(':') != std::string::npos ? AF_INET6 : AF_INET;
  if (inet_pton(family, host.c_str(), bytes) != 1) return false;
  int max = family == AF_INET ? 32 : 128;
  bits = max;
  if (slash != std::string::npos) {
    std::string b = s.substr(slash + 1);
    if (b.empty() || b.size() > 3 || b.find_first_not_of("0123456789") != std::string::npos)
      return false;
    bits = std::stoi(b);
    if (bits > max) return false;
    // Host bits must be zero, as OpenSSH insists.
    for (int i = bits; i < max; ++i)
      if (bytes[i / 8] & (0x80 >> (i % 8))) return false;
  }
  return true;
}

bool user_in_group(const std::string& user, std::string_view list) {
  struct passwd* pw = getpwnam(user.c_str());
  if (pw == nullptr) return false;
  int n = 64;
  std::vector<gid_t> gids(n);
  if (getgrouplist(user.c_str(), pw->pw_gid, gids.data(), &n) < 0) {
    gids.resize(n);
    if (getgrouplist(user.c_str(), pw->pw_gid, gids.data(), &n) < 0) return false;
  }
  gids.resize(n);
  // A group that a negated pattern names excludes the user, whatever the other groups match.
  bool positive = false;
  for (gid_t g : gids) {
    struct group* gr = getgrgid(g);
    if (gr == nullptr) continue;
    PatternMatch m = match_pattern_list(gr->gr_name, list);
    if (m == PatternMatch::kNegated) return false;
    positive = positive || m == PatternMatch::kMatch;
  }
  return positive;
}

constexpr const char* kAttributes[] = {"user",         "group",     "host",    "address",
                                       "localaddress", "localport", "rdomain", "version"};

// Criteria that stand alone, without a value: "all" and OpenSSH 10's "invalid-user".
bool is_bare(const std::string& attr) {
  return strcasecmp(attr.c_str(), "all") == 0 || strcasecmp(attr.c_str(), "invalid-user") == 0;
}

}  // namespace

int match_address_list(std::string_view addr, std::string_view list) {
  int afam = 0, abits;
  unsigned char abytes[16] = {};
  bool have_addr = !addr.empty() && parse_cidr(addr, afam, abytes, abits);
  bool positive = false;
  for (auto e : split_list(list)) {
    bool neg = !e.empty() && e[0] == '!';
    if (neg) e.remove_prefix(1);
    if (e.empty()) return -1;
    bool hit;
    // An entry whose address part is an IP address is a CIDR block (and must be a valid one);
    // anything else is a wildcard pattern.
    std::string host(e.substr(0, e.find('/')));
    unsigned char probe[16];
    bool is_ip = inet_pton(AF_INET, host.c_str(), probe) == 1 ||
                 inet_pton(AF_INET6, host.c_str(), probe) == 1;
    if (is_ip) {
      int fam, bits;
      unsigned char bytes[16] = {};
      if (!parse_cidr(e, fam, bytes, bits)) return -1;
      hit = have_addr && fam == afam;
      for (int i = 0; hit && i < bits; ++i) {
        unsigned char m = 0x80 >> (i % 8);
        if ((bytes[i / 8] & m) != (abytes[i / 8] & m)) hit = false;
      }
    } else {
      hit = !addr.empty() && match_pattern(addr, e, /*case_insensitive=*/true);
    }
    if (hit) {
      if (neg) return 0;
      positive = true;
    }
  }
  return positive ? 1 : 0;
}

std::vector<std::string> split_match_assignments(const std::vector<std::string>& words) {
  std::vector<std::string> out;
  bool expect_attribute = true;
  for (const auto& w : words) {
    size_t eq = w.find('=');
    // OpenSSH 10 lets a criterion be written "user=u1" as well as "user u1".
    if (expect_attribute && eq != std::string::npos && eq > 0) {
      out.push_back(w.substr(0, eq));
      // "user=" alone leaves the criterion without its value (an error, as "Match user").
      if (eq + 1 < w.size()) out.push_back(w.substr(eq + 1));
      expect_attribute = eq + 1 < w.size() || is_bare(out.back());
      continue;
    }
    out.push_back(w);
    expect_attribute = expect_attribute ? is_bare(w) : true;
  }
  return out;
}

bool check_match_criteria(const std::vector<std::string>& words, std::string& error) {
  if (words.empty()) {
    error = "One or more attributes required for Match";
    return false;
  }
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& attr = words[i];
    if (strcasecmp(attr.c_str(), "all") == 0) {
      if (words.size() != 1) {
        error = "'all' cannot be combined with other Match attributes";
        return false;
      }
      continue;
    }
    if (strcasecmp(attr.c_str(), "invalid-user") == 0) continue;
    bool known = false;
    for (const char* a : kAttributes) known = known || strcasecmp(attr.c_str(), a) == 0;
    if (!known) {
      error = "Unsupported Match attribute " + attr;
      return false;
    }
    if (i + 1 >= words.size()) {
      error = "Missing Match criteria for " + attr;
      return false;
    }
    const std::string& value = words[++i];
    if ((strcasecmp(attr.c_str(), "address") == 0 ||
         strcasecmp(attr.c_str(), "localaddress") == 0) &&
        match_address_list("", value) < 0) {
      // OpenSSH reports this one on its own, without "Bad Match condition".
      error = "\x01Invalid Match " + lower(attr) + " argument '" + value + "' at line ";
      return false;
    }
    if (strcasecmp(attr.c_str(), "localport") == 0) {
      if (value.empty() || value.size() > 5 ||
          value.find_first_not_of("0123456789") != std::string::npos || std::stoi(value) < 1 ||
          std::stoi(value) > 65535) {
        error = "Invalid LocalPort '" + value + "' on Match line";
        return false;
      }
    }
  }
  return true;
}

bool check_spec_covers(const std::vector<std::string>& words, const ConnectionInfo& ci,
                       std::string& error) {
  struct Need {
    const char* attribute;
    const char* spec;
    bool given;
  };
  // OpenSSH 9.2 insists only on lport (it skips the other attributes when they are missing).
  const Need needs[] = {{"LocalPort", "lport", ci.lport > 0}};
  for (size_t i = 0; i < words.size(); i += is_bare(words[i]) ? 1 : 2) {
    for (const Need& n : needs) {
      if (strcasecmp(words[i].c_str(), n.attribute) == 0 && !n.given) {
        error = std::string("'Match ") + n.attribute + "' in configuration but '" + n.spec +
                "' not in connection test specification.";
        return false;
      }
    }
  }
  return true;
}

bool evaluate_match(const std::vector<std::string>& words, const ConnectionInfo& ci) {
  for (size_t i = 0; i < words.size(); ++i) {
    std::string attr = lower(words[i]);
    if (attr == "all") return true;
    // OpenSSH 10: the user name names no account (known only once the client has sent one).
    if (attr == "invalid-user") {
      if (ci.user.empty() || !ci.invalid_user) return false;
      continue;
    }
    if (i + 1 >= words.size()) return false;
    const std::string& value = words[++i];
    bool ok = false;
    if (attr == "user")
      ok = !ci.user.empty() && match_pattern_list(ci.user, value) == PatternMatch::kMatch;
    else if (attr == "group")
      ok = !ci.user.empty() && user_in_group(ci.user, value);
    else if (attr == "host")
      ok = !ci.host.empty() && match_pattern_list(ci.host, value, true) == PatternMatch::kMatch;
    else if (attr == "address")
      ok = !ci.addr.empty() && match_address_list(ci.addr, value) == 1;
    else if (attr == "localaddress")
      ok = !ci.laddr.empty() && match_address_list(ci.laddr, value) == 1;
    else if (attr == "localport")
      ok = ci.lport > 0 && std::to_string(ci.lport) == value;
    else if (attr == "rdomain")
      ok = !ci.rdomain.empty() && match_pattern_list(ci.rdomain, value) == PatternMatch::kMatch;
    else if (attr == "version")
      // OpenSSH 10: patterns against the server's own version (what follows "SSH-2.0-").
      ok = match_pattern_list(ci.version.empty() ? server_version_for_match() : ci.version,
                              value) == PatternMatch::kMatch;
    if (!ok) return false;
  }
  return true;
}

}  // namespace postern::config::detail

namespace postern::config {

Result<ConnectionInfo> parse_connection_spec(std::string_view spec) {
  ConnectionInfo ci;
  size_t start = 0;
  while (start < spec.size()) {
    size_t end = spec.find(',', start);
    if (end == std::string_view::npos) end = spec.size();
    std::string_view item = spec.substr(start, end - start);
    start = end + 1;
    size_t eq = item.find('=');
    if (detail::lower(item) == "invalid-user") {
      ci.invalid_user = true;
      continue;
    }
    if (eq == std::string_view::npos)
      return Unexpected("Invalid test mode specification " + std::string(item));
    std::string key = detail::lower(item.substr(0, eq));
    std::string value(item.substr(eq + 1));
    if (key == "user")
      ci.user = value;
    else if (key == "host")
      ci.host = value;
    else if (key == "addr")
      ci.addr = value;
    else if (key == "laddr")
      ci.laddr = value;
    else if (key == "rdomain")
      ci.rdomain = value;
    else if (key == "lport") {
      if (value.empty() || value.size() > 5 ||
          value.find_first_not_of("0123456789") != std::string::npos || std::stoi(value) > 65535)
        return Unexpected("Invalid port '" + value + "' in test mode specification " +
                          std::string(item));
      ci.lport = std::stoi(value);
    } else {
      return Unexpected("Invalid test mode specification " + std::string(item));
    }
  }
  return ci;
}

}  // namespace postern::config
