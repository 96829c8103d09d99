// The direct-mode user name and target resolution (route.h; ../shared/BASTION.md "How people
// connect"). Messages go to the user, so they quote only what the user typed, escaped.
#include "bastion/route.h"

#include "bastion/policy_values.h"

namespace postern::bastion {
namespace {

// Longest user name parse_route reads (route.h).
constexpr size_t kMaxUserName = 256;
// targetuser%target%[port|extender%]bastionuser
constexpr size_t kMaxParts = 4;

// The target part may also be an IPv6 literal, which has ':'.
bool is_target_text(std::string_view s) {
  return detail::is_name(s) || detail::is_ip_literal(s);
}

}  // namespace

Result<std::optional<Route>> parse_route(std::string_view user_name) {
  if (user_name.find('%') == std::string_view::npos) return std::optional<Route>();
  if (user_name.size() > kMaxUserName)
    return Unexpected("user name longer than " + std::to_string(kMaxUserName) + " bytes");
  for (char c : user_name)
    if (c <= ' ' || c > '~')
      return Unexpected("user name holds a space or a byte outside printable ASCII");
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (parts.size() <= kMaxParts) {
    size_t pct = user_name.find('%', start);
    parts.push_back(user_name.substr(start, pct - start));
    if (pct == std::string_view::npos) break;
    start = pct + 1;
  }
  static const char kForms[] =
      " (targetuser%target%bastionuser, targetuser%target%port%bastionuser or "
      "targetuser%target%extender%bastionuser)";
  if (parts.size() < 3 || parts.size() > kMaxParts)
    return Unexpected(std::string("user name has ") + (parts.size() < 3 ? "too few" : "too many") +
                      " '%'-separated parts" + kForms);
  for (size_t i = 0; i < parts.size(); ++i)
    if (parts[i].empty())
      return Unexpected("user name has an empty part " + std::to_string(i + 1) + kForms);
  Route r;
  r.target_user = parts[0];
  r.target = parts[1];
  r.bastion_user = parts.back();
  if (!detail::is_name(r.target_user))
    return Unexpected("target user " + detail::quote_text(r.target_user) + " is not a valid name");
  if (!is_target_text(r.target))
    return Unexpected("target " + detail::quote_text(r.target) + " is not a valid name or address");
  if (!detail::is_name(r.bastion_user))
    return Unexpected("bastion user " + detail::quote_text(r.bastion_user) +
                      " is not a valid name");
  if (parts.size() == 4) {
    std::string_view third = parts[2];
    bool number = third.find_first_not_of("0123456789") == std::string_view::npos;
    if (number) {
      // route.h: a number is a port.
      auto port = detail::parse_port(third);
      if (!port)
        return Unexpected("port " + detail::quote_text(third) + " out of range (1 to 65535)");
      r.port = *port;
    } else {
      if (!detail::is_name(third))
        return Unexpected("extender " + detail::quote_text(third) + " is not a valid name");
      r.extender = third;
    }
  }
  return std::optional<Route>(std::move(r));
}

std::optional<ResolvedTarget> resolve_target(const Policy& policy, std::string_view typed,
                                             int port) {
  if (port < 0 || port > 65535) return std::nullopt;
  bool ip = detail::is_ip_literal(typed);
  if (!ip && !detail::is_name(typed)) return std::nullopt;
  // A [[target]] by name, at its own port: a different port is another service on that host,
  // which the target's grants do not cover, so it is then only an address (below).
  if (const Target* t = policy.find_target(typed); t && (port == 0 || port == t->port))
    return ResolvedTarget{t, t->name, t->address, t->port};
  for (const Target& t : policy.targets)
    if (detail::same_host(t.address, typed) && (port == 0 || port == t.port))
      return ResolvedTarget{&t, t.name, t.address, t.port};
  if (!ip && !detail::is_host_name(typed)) return std::nullopt;
  return ResolvedTarget{nullptr, std::string(typed), std::string(typed), port == 0 ? 22 : port};
}

}  // namespace postern::bastion
