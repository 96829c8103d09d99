// Which forwarding a connection may do: sshd_config(5) AllowTcpForwarding,
// AllowStreamLocalForwarding, AllowAgentForwarding, DisableForwarding, PermitOpen, PermitListen
// and GatewayPorts, decided in one place so every channel type asks the same questions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace postern::session {

// AllowTcpForwarding / AllowStreamLocalForwarding values (the same numbering as
// config::Forwarding, so the session process copies them through).
struct ForwardScope {
  enum : int { kNo, kLocal, kRemote, kAll };
};
// GatewayPorts values (config::GatewayPorts).
struct GatewayMode {
  enum : int { kNo, kYes, kClientSpecified };
};

struct ForwardPolicy {
  int allow_tcp = ForwardScope::kAll;
  int allow_streamlocal = ForwardScope::kAll;
  bool allow_agent = true;
  bool disable_all = false;                       // DisableForwarding
  std::vector<std::string> permit_open{"any"};    // "host:port", "any", "none"
  std::vector<std::string> permit_listen{"any"};  // "[host:]port", "any", "none"
  // authorized_keys permitopen= and permitlisten= (empty: the key adds no restriction), from
  // the monitor (ipc::UserSetup); a destination must pass both these and the configuration's
  // lists, as in sshd.
  std::vector<std::string> key_permit_open;
  std::vector<std::string> key_permit_listen;
  int gateway_ports = GatewayMode::kNo;
  unsigned stream_local_bind_mask = 0177;
  bool stream_local_bind_unlink = false;

  // direct-tcpip (-L, -D, -W, -J) and direct-streamlocal.
  bool local_tcp_allowed() const;
  bool remote_tcp_allowed() const;
  bool local_streamlocal_allowed() const;
  bool remote_streamlocal_allowed() const;
  bool agent_allowed() const { return allow_agent && !disable_all; }
  // PermitOpen: may the client reach host:port?
  bool open_permitted(std::string_view host, uint32_t port) const;
  // PermitListen: may the client listen on host:port? `host` is what the client asked for.
  bool listen_permitted(std::string_view host, uint32_t port) const;
  // The address to bind for a tcpip-forward request under GatewayPorts; "" means every address.
  std::string bind_address(std::string_view requested) const;
};

// One PermitOpen entry against a destination: "host:port", "[v6]:port", "*" wildcards for host
// or port. Exposed for the unit tests.
bool permit_open_entry_matches(std::string_view entry, std::string_view host, uint32_t port);
// One PermitListen entry: "port", "host:port", "*" wildcards.
bool permit_listen_entry_matches(std::string_view entry, std::string_view host, uint32_t port);

}  // namespace postern::session
