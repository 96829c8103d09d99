#include "monitor/peer_name.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "common/log.h"

namespace postern::monitor {
namespace {

bool is_numeric_address(const std::string& s) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// The address in one canonical text form, so "::1" and "0:0::1" compare equal.
std::string canonical(const std::string& address) {
  unsigned char buf[16];
  char out[INET6_ADDRSTRLEN];
  if (::inet_pton(AF_INET, address.c_str(), buf) == 1)
    return ::inet_ntop(AF_INET, buf, out, sizeof out) ? out : address;
  if (::inet_pton(AF_INET6, address.c_str(), buf) == 1)
    return ::inet_ntop(AF_INET6, buf, out, sizeof out) ? out : address;
  return address;
}

std::optional<std::string> system_reverse(const std::string& address) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* in4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, address.c_str(), &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
    len = sizeof *in4;
  } else if (::inet_pton(AF_INET6, address.c_str(), &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    len = sizeof *in6;
  } else {
    return std::nullopt;
  }
  char host[NI_MAXHOST];
  if (::getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, host, sizeof host, nullptr, 0,
                    NI_NAMEREQD) != 0)
    return std::nullopt;
  return std::string(host);
}

std::optional<std::vector<std::string>> system_forward(const std::string& name,
                                                       const std::string& address) {
  addrinfo hints{};
  unsigned char buf[16];
  hints.ai_family = ::inet_pton(AF_INET, address.c_str(), buf) == 1 ? AF_INET : AF_INET6;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(name.c_str(), nullptr, &hints, &res) != 0) return std::nullopt;
  std::vector<std::string> out;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    char host[NI_MAXHOST];
    if (::getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, nullptr, 0, NI_NUMERICHOST) ==
        0)
      out.emplace_back(host);
  }
  ::freeaddrinfo(res);
  return out;
}

}  // namespace

NameLookups system_name_lookups() {
  return NameLookups{system_reverse, system_forward};
}

std::string verified_peer_name(const std::string& address, const NameLookups& dns) {
  log_debug3("Trying to reverse map address %s.", address.c_str());
  std::optional<std::string> name = dns.reverse(address);
  if (!name || name->empty()) return {};
  // A PTR record holding an address would let a client pose as that address in from= patterns.
  if (is_numeric_address(*name)) {
    log_error("Nasty PTR record \"%s\" is set up for %s, ignoring", name->c_str(), address.c_str());
    return {};
  }
  std::transform(name->begin(), name->end(), name->begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  std::optional<std::vector<std::string>> addresses = dns.forward(*name, address);
  if (!addresses) {
    log_info("reverse mapping checking getaddrinfo for %.700s [%s] failed.", name->c_str(),
             address.c_str());
    return {};
  }
  std::string want = canonical(address);
  for (const auto& a : *addresses)
    if (canonical(a) == want) return *name;
  log_info("Address %.100s maps to %.600s, but this does not map back to the address.",
           address.c_str(), name->c_str());
  return {};
}

}  // namespace postern::monitor
