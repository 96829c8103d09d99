#include "monitor/listener.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/log.h"

namespace postern::monitor {
namespace {

Endpoint endpoint_of(const sockaddr_storage& ss, socklen_t len) {
  Endpoint e;
  char host[NI_MAXHOST], serv[NI_MAXSERV];
  if (::getnameinfo(reinterpret_cast<const sockaddr*>(&ss), len, host, sizeof host, serv,
                    sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return e;
  e.address = host;
  e.port = std::atoi(serv);
  // ::ffff:a.b.c.d is an IPv4 peer on a dual-stack socket; logs name it as IPv4.
  if (e.address.rfind("::ffff:", 0) == 0 && e.address.find('.') != std::string::npos)
    e.address = e.address.substr(7);
  return e;
}

}  // namespace

Endpoint peer_endpoint(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) return {};
  return endpoint_of(ss, len);
}

Endpoint local_endpoint(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) return {};
  return endpoint_of(ss, len);
}

namespace {

// Binds and listens on every address `host` resolves to (all of them for "" the wildcard) at
// `port`, appending to `out`. Failures are logged and skipped.
void bind_endpoint(const std::string& host, int port, int family, bool proxy_door,
                   std::vector<ListenSocket>& out) {
  addrinfo hints{};
  hints.ai_family = family;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0) {
    log_error("bad addr or host: %s (%s)", host.empty() ? "<wildcard>" : host.c_str(),
              gai_strerror(rc));
    return;
  }
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    sockaddr_storage ss{};
    std::memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
    Endpoint ep = endpoint_of(ss, ai->ai_addrlen);
    UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
    if (!fd) {
      log_verbose("socket: %s", std::strerror(errno));
      continue;
    }
    int on = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    // Separate sockets for IPv4 and IPv6, as OpenSSH: an IPv6 wildcard must not take the
    // IPv4 port too.
    if (ai->ai_family == AF_INET6)
      ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    log_debug("Bind to port %d on %s.", port, ep.address.c_str());
    if (::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
      log_error("Bind to port %d on %s failed: %s.", port, ep.address.c_str(),
                std::strerror(errno));
      continue;
    }
    if (::listen(fd.get(), 128) != 0) {
      log_error("listen on [%s]:%d: %s", ep.address.c_str(), port, std::strerror(errno));
      continue;
    }
    log_info("Server listening on %s port %d%s.", ep.address.c_str(), port,
             proxy_door ? " (proxy front door)" : "");
    out.push_back(ListenSocket{std::move(fd), ep.address, port, proxy_door});
  }
  ::freeaddrinfo(res);
}

int socket_family(const config::ServerConfig& config) {
  return config.address_family == config::AddressFamily::kInet    ? AF_INET
         : config.address_family == config::AddressFamily::kInet6 ? AF_INET6
                                                                  : AF_UNSPEC;
}

}  // namespace

Result<std::vector<ListenSocket>> bind_listeners(const config::ServerConfig& config) {
  std::vector<ListenSocket> out;
  for (const auto& la : config.listen_addresses) {
    std::vector<int> ports;
    if (la.port != 0)
      ports.push_back(la.port);
    else
      ports = config.ports;
    for (int port : ports) bind_endpoint(la.host, port, socket_family(config), false, out);
  }
  if (out.empty()) return Unexpected("Cannot bind any address.");
  return out;
}

void bind_proxy_listeners(const std::vector<std::string>& addresses,
                          const config::ServerConfig& config, std::vector<ListenSocket>& out) {
  for (const std::string& a : addresses) {
    // "address:port" or "[v6]:port", as the policy loader checked (bastion/policy_values.h).
    size_t colon = a.rfind(':');
    if (colon == std::string::npos) continue;
    std::string host = a.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    int port = std::atoi(a.c_str() + colon + 1);
    if (port <= 0 || port > 65535) continue;
    size_t before = out.size();
    bind_endpoint(host, port, socket_family(config), true, out);
    if (out.size() == before) log_error("proxy_listen %s: nothing bound", a.c_str());
  }
}

}  // namespace postern::monitor
