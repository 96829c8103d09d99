#include "monitor/bastion_postauth.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bastion/decide.h"
#include "common/config/server_config.h"
#include "common/ipc_bastion_messages.h"
#include "common/ipc_extender_messages.h"
#include "monitor/spawn.h"

namespace postern::monitor {

namespace {

// Where sshd-bastion finds its descriptors, as sshd-user (privsep_child/setup.h).
constexpr int kChildChannelFd = 3;
constexpr int kChildSocketFd = 4;

// The route the user name named, decided once at login: one "login" audit event. Returns the
// one line the user is told when it is refused, "" when allowed (or no route: jump mode).
std::string decide_login_route(BastionSession& b) {
  bastion::AuditEvent ev;
  ev.event = "login";
  const auto& route = b.route();
  if (b.extender() != nullptr) {
    ev.decision = "allow";
    ev.reason = "extender " + b.extender()->name + " authenticated; it may only forward";
    b.audit(ev);
    return "";
  }
  if (!route) {
    ev.decision = "allow";
    ev.reason = "authenticated; no route in the user name";
    b.audit(ev);
    return "";
  }
  ev.target = route->target;
  ev.target_user = route->target_user;
  // The door it came through, when not the SSH port's user name (monitor_proxy.cpp).
  if (b.proxy_door()) ev.detail = "proxy front door (" + b.proxy_kind() + ")";
  auto resolved = bastion::resolve_target(b.policy(), route->target, route->port);
  bastion::Decision d;
  if (resolved && !route->extender.empty() &&
      (resolved->target == nullptr || resolved->target->via != route->extender)) {
    // targetuser%target%extender%bastionuser: the extender named must be the target's `via`
    // (man/postern-bastion.5 EXTENDERS); a name cannot send a target through another network.
    ev.target = resolved->name;
    d.reason = "extender " + route->extender + " named; the target's via is " +
               (resolved->target && !resolved->target->via.empty() ? resolved->target->via
                                                                   : std::string("none"));
    d.user_message = resolved->name + " is not reached through extender " + route->extender;
  } else if (resolved) {
    ev.target = resolved->name;
    d = bastion::decide(b.policy(), b.subject(), *resolved, route->target_user, "");
  } else {
    d.reason = "not a target name or host name";
    d.user_message = "\"" + route->target + "\" is not a target or host name";
  }
  ev.decision = d.allowed ? "allow" : "deny";
  ev.role = d.role;
  ev.reason = b.route_picked() ? "picked: " + d.reason : d.reason;
  bool written = b.audit(ev);
  if (!d.allowed) return "postern: " + d.user_message;
  if (!written) return "postern: the bastion cannot write its audit log";
  return "";
}

// The extender's connection ended: its socket goes (unless a newer connection replaced it),
// and the audit says so.
void end_extender(BastionSession& b, const PublishedExtender& published, int status) {
  withdraw_extender_socket(published);
  bastion::AuditEvent ev;
  ev.event = "extender_disconnect";
  ev.target = b.extender() ? b.extender()->name : "";
  ev.reason = WIFEXITED(status) && WEXITSTATUS(status) == ipc::kExtenderReplacedExitCode
                  ? "replaced by a newer connection of the extender"
                  : "connection ended (" + describe_wait_status(status) + ")";
  b.audit(ev);
  log_info("extender %s disconnected: %s", ev.target.c_str(), ev.reason.c_str());
}

}  // namespace

int run_bastion_session(BastionStart& start, UniqueFd& client) {
  Monitor& monitor = start.monitor;
  BastionSession& b = start.session;
  const Account& user = monitor.user();
  // On the proxy front door the account is the target's; the bastion user is the policy user
  // whose key or certificate logged in (monitor/bastion_auth_backend.h).
  std::string bastion_user = b.proxy_door() ? b.proxy_bastion_user() : user.name;
  if (bastion_user.empty()) fatal("proxy front door: authenticated without a policy user");
  // group:NAME members: the groups of a system account; a policy user has none.
  b.set_logged_in(bastion_user, start.backend.system_account(user)
                                    ? account_group_names(user.name.c_str(), user.gid)
                                    : std::vector<std::string>{});
  ipc::BastionSetup bs;
  bs.config = config::serialize_config(monitor.effective_config());
  bs.log_level = uint32_t(start.log_level);
  bs.bastion_user = bastion_user;
  bs.session = b.id();
  bs.host_key_algorithms = start.net_setup.host_key_algorithms;
  bs.host_key_blobs = start.net_setup.host_key_blobs;
  bs.remote_addr = start.peer.address;
  bs.remote_port = uint32_t(start.peer.port);
  bs.local_addr = start.local.address;
  bs.local_port = uint32_t(start.local.port);
  bs.transport_state = monitor.take_transport_state();
  if (const auto& route = b.route()) {
    bs.direct = true;
    bs.target_user = route->target_user;
    bs.target = route->target;
    bs.port = uint32_t(route->port);
    bs.extender = route->extender;
  }
  bs.route_refusal = decide_login_route(b);
  bs.proxy_door = b.proxy_door();
  bs.connect_timeout = b.policy().bastion.connect_timeout;
  bs.max_file_size = b.policy().bastion.record_max_bytes;
  bs.extender_login = b.extender() != nullptr;

  // Its log lines go through us; it needs no stderr (and so holds no log file) unless -d.
  UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  int child_stderr =
      start.log_level >= LogLevel::kDebug1 || !devnull ? STDERR_FILENO : devnull.get();
  auto [mon, child] = ipc::Channel::make_pair();
  mon.send(bs);
  bs.transport_state.clear();
  auto relay = ChildProcess::spawn(find_helper("sshd-bastion"), {"sshd-bastion"},
                                   {{0, 0},
                                    {1, 1},
                                    {child_stderr, 2},
                                    {child.fd(), kChildChannelFd},
                                    {client.get(), kChildSocketFd}},
                                   {});
  if (!relay) fatal("%s", relay.error().message.c_str());
  b.set_relay_pid(relay->pid());
  child = ipc::Channel();
  client.reset();  // sshd-bastion owns the connection now
  log_debug("Bastion child is on pid %ld", long(relay->pid()));
  try {
    while (true) {
      auto m = mon.receive();
      monitor.handle(mon, m);
    }
  } catch (const ConnectionClosed&) {
  } catch (const ProtocolError& e) {
    relay->kill(SIGKILL);
    log_error("monitor: %s; closing connection from %s port %d", e.what(),
              start.peer.address.c_str(), start.peer.port);
  }
  int status = relay->wait();
  if (WIFSIGNALED(status))
    log_error("bastion process for %s %s", user.name.c_str(), describe_wait_status(status).c_str());
  if (auto& published = b.published_extender()) end_extender(b, *published, status);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

}  // namespace postern::monitor
