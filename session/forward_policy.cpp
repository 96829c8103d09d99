#include "session/forward_policy.h"

#include <strings.h>

#include <charconv>

namespace postern::session {
namespace {

bool scope_allows(int scope, int direction) {
  return scope == ForwardScope::kAll || scope == direction;
}

// Splits "host:port" or "[host]:port" at the last colon; false when there is no port part.
bool split_host_port(std::string_view entry, std::string_view& host, std::string_view& port) {
  size_t colon = entry.rfind(':');
  if (colon == std::string_view::npos) return false;
  host = entry.substr(0, colon);
  port = entry.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return true;
}

bool port_matches(std::string_view pattern, uint32_t port) {
  if (pattern == "*") return true;
  uint32_t value = 0;
  auto [end, ec] = std::from_chars(pattern.data(), pattern.data() + pattern.size(), value);
  return ec == std::errc() && end == pattern.data() + pattern.size() && value == port;
}

bool host_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// The list's verdict: "any" allows all, "none" nothing, otherwise one entry must match.
template <typename Match>
bool list_permits(const std::vector<std::string>& list, Match match) {
  if (list.empty()) return true;
  for (const auto& e : list) {
    if (e == "any") return true;
    if (e == "none") return false;
  }
  for (const auto& e : list) {
    if (match(e)) return true;
  }
  return false;
}

}  // namespace

bool ForwardPolicy::local_tcp_allowed() const {
  return !disable_all && scope_allows(allow_tcp, ForwardScope::kLocal);
}
bool ForwardPolicy::remote_tcp_allowed() const {
  return !disable_all && scope_allows(allow_tcp, ForwardScope::kRemote);
}
bool ForwardPolicy::local_streamlocal_allowed() const {
  return !disable_all && scope_allows(allow_streamlocal, ForwardScope::kLocal);
}
bool ForwardPolicy::remote_streamlocal_allowed() const {
  return !disable_all && scope_allows(allow_streamlocal, ForwardScope::kRemote);
}

bool permit_open_entry_matches(std::string_view entry, std::string_view host, uint32_t port) {
  std::string_view h, p;
  if (!split_host_port(entry, h, p)) return false;
  return port_matches(p, port) && (h == "*" || host_equal(h, host));
}

bool permit_listen_entry_matches(std::string_view entry, std::string_view host, uint32_t port) {
  std::string_view h, p;
  if (!split_host_port(entry, h, p)) {
    // A bare port: any listen address (sshd_config(5) PermitListen).
    return port_matches(entry, port);
  }
  return port_matches(p, port) && (h == "*" || host_equal(h, host));
}

bool ForwardPolicy::open_permitted(std::string_view host, uint32_t port) const {
  auto match = [&](const std::string& e) { return permit_open_entry_matches(e, host, port); };
  return list_permits(permit_open, match) && list_permits(key_permit_open, match);
}

bool ForwardPolicy::listen_permitted(std::string_view host, uint32_t port) const {
  auto match = [&](const std::string& e) { return permit_listen_entry_matches(e, host, port); };
  return list_permits(permit_listen, match) && list_permits(key_permit_listen, match);
}

std::string ForwardPolicy::bind_address(std::string_view requested) const {
  // sshd_config(5) GatewayPorts: "no" binds the loopback only; "yes" the wildcard address;
  // "clientspecified" what the client named, with "" and "*" meaning every address and
  // "localhost" the loopback.
  switch (gateway_ports) {
    case GatewayMode::kYes:
      return "";
    case GatewayMode::kClientSpecified:
      if (requested.empty() || requested == "*" || requested == "0.0.0.0" || requested == "::")
        return "";
      return std::string(requested);
    default:
      return "localhost";
  }
}

}  // namespace postern::session
