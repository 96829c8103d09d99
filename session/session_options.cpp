#include "session/session_options.h"

#include <algorithm>

#include "common/config/server_config.h"
#include "common/ipc_messages.h"

namespace postern::session {

SessionOptions session_options_from_config(const config::ServerConfig& cfg,
                                           const ipc::UserSetup& setup) {
  SessionOptions opts;
  opts.accept_env = cfg.accept_env;
  for (const auto& s : cfg.subsystems) opts.subsystems.emplace_back(s.name, s.command);
  opts.force_command = cfg.force_command;
  opts.permit_tty = cfg.permit_tty;
  opts.print_motd = cfg.print_motd;
  opts.print_last_log = cfg.print_last_log;
  opts.permit_user_rc = cfg.permit_user_rc;
  opts.force_command_from_key = setup.key_command;
  opts.permit_user_environment = cfg.permit_user_environment;
  opts.key_environment = setup.key_environment;
  opts.max_sessions = unsigned(std::max(0, cfg.max_sessions));
  for (const auto& e : cfg.set_env) {
    size_t eq = e.find('=');
    if (eq != std::string::npos) opts.set_env.emplace_back(e.substr(0, eq), e.substr(eq + 1));
  }
  // PAM's environment (pam_getenvlist in the monitor), after SetEnv, whose first value wins.
  for (const auto& e : setup.pam_env) {
    size_t eq = e.find('=');
    if (eq != std::string::npos && eq > 0)
      opts.set_env.emplace_back(e.substr(0, eq), e.substr(eq + 1));
  }
  ForwardPolicy& fw = opts.forward;
  fw.allow_tcp = cfg.allow_tcp_forwarding;
  fw.allow_streamlocal = cfg.allow_stream_local_forwarding;
  fw.allow_agent = cfg.allow_agent_forwarding;
  fw.disable_all = cfg.disable_forwarding;
  fw.permit_open = cfg.permit_open;
  fw.permit_listen = cfg.permit_listen;
  fw.key_permit_open = setup.key_permit_open;
  fw.key_permit_listen = setup.key_permit_listen;
  fw.gateway_ports = cfg.gateway_ports;
  fw.stream_local_bind_mask = unsigned(cfg.stream_local_bind_mask);
  fw.stream_local_bind_unlink = cfg.stream_local_bind_unlink;
  opts.client_alive_interval = unsigned(std::max(0, cfg.client_alive_interval));
  opts.client_alive_count_max = unsigned(std::max(0, cfg.client_alive_count_max));
  opts.unused_connection_timeout = unsigned(std::max(0, cfg.unused_connection_timeout));
  opts.channel_timeouts = cfg.channel_timeout;
  opts.x11_forwarding = cfg.x11_forwarding;
  opts.x11_display_offset = unsigned(std::max(0, cfg.x11_display_offset));
  opts.x11_use_localhost = cfg.x11_use_localhost;
  if (!cfg.xauth_location.empty()) opts.xauth_location = cfg.xauth_location;
  return opts;
}

}  // namespace postern::session
