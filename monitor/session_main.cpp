// `sshd-session`, the per-connection monitor (docs/architecture.md). Root, one per connection. It
// loads the host keys, starts the unprivileged `sshd-net` for everything before authentication and
// answers its requests (monitor.h), enforces LoginGraceTime, then starts the session process
// `sshd-user` with the transport state and keeps serving its requests (re-key signatures, ptys)
// until the connection ends.
//
// fd 0/1: the client connection (one socket, or stdin/stdout pipes with -i)
// fd 2:   stderr (debug output with -d / -e)
// fd 3:   the listener's ipc channel carrying SessionStart
// fd 4:   the listener's startup pipe (when SessionStart says so)
// fd 5:   sshd -B: the bastion policy, a sealed memfd (monitor/bastion_policy_blob.h)
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bastion/policy.h"
#include "bastion/route.h"
#include "common/config/match_eval.h"
#include "common/config/server_config.h"
#include "common/ipc.h"
#include "common/ipc_bastion_messages.h"
#include "common/ipc_messages.h"
#include "common/log.h"
#include "common/openssl_init.h"
#include "common/ssh_key.h"
#include "monitor/auth_backend.h"
#include "monitor/bastion_auth_backend.h"
#include "monitor/bastion_policy_blob.h"
#include "monitor/bastion_postauth.h"
#include "monitor/bastion_session.h"
#include "monitor/connection_refused.h"
#include "monitor/helper_path.h"
#include "monitor/host_certs.h"
#include "monitor/host_key_agent.h"
#include "monitor/inetd_relay.h"
#include "monitor/listener.h"
#include "monitor/monitor.h"
#include "monitor/pam_context.h"
#include "monitor/peer_name.h"
#include "monitor/proxy_header_reader.h"
#include "monitor/proxy_protocol.h"
#include "monitor/session_outcome.h"
#include "monitor/spawn.h"
#include "privsep_child/group_list.h"

namespace postern::monitor {
namespace {

constexpr int kSetupFd = 3;
constexpr int kStartupFd = 4;
constexpr int kPolicyFd = 5;
// Where the children find their descriptors (net/net_main.cpp, session/user_main.cpp).
constexpr int kChildChannelFd = 3;
constexpr int kChildSocketFd = 4;
// ProxyProtocolFrom: how long a load balancer has to send its header (at most LoginGraceTime).
// HAProxy sends it with the connection; this only bounds a stuck or hostile peer.
constexpr int kProxyHeaderTimeoutMs = 10000;

uint64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000 + uint64_t(ts.tv_nsec) / 1000000;
}

// Waits for a message from the child until deadline_ms (0: none). Returns nullopt on timeout.
std::optional<ipc::Message> receive_until(ipc::Channel& ch, uint64_t deadline_ms) {
  while (true) {
    int timeout = -1;
    if (deadline_ms != 0) {
      uint64_t now = now_ms();
      if (now >= deadline_ms) return std::nullopt;
      timeout = int(std::min<uint64_t>(deadline_ms - now, 60 * 60 * 1000));
    }
    pollfd p{ch.fd(), POLLIN, 0};
    int rc = ::poll(&p, 1, timeout);
    if (rc < 0) {
      if (errno == EINTR) continue;
      throw ConnectionClosed(std::string("poll: ") + std::strerror(errno));
    }
    if (rc == 0) continue;  // re-check the deadline
    return ch.receive();
  }
}

// PerSourcePenalties: tells the listener how the pre-auth phase ended, one byte on the startup
// pipe, then closes it (monitor/session_outcome.h). Nothing to tell without a pipe (-d, -i).
void report_outcome(UniqueFd& startup_pipe, SessionOutcome outcome) {
  if (!startup_pipe) return;
  char c = char(outcome);
  if (::write(startup_pipe.get(), &c, 1) != 1)
    log_debug("startup pipe: %s", std::strerror(errno));  // the listener re-executed: no matter
  startup_pipe.reset();
}

// PerSourcePenalties behind a load balancer: the client's address for the listener, before the
// outcome (monitor/session_outcome.h).
void report_proxied_source(UniqueFd& startup_pipe, const std::string& address) {
  if (!startup_pipe) return;
  std::string rec = kProxiedSourceRecord + address + "\n";
  if (rec.size() > kMaxProxiedSourceRecord) return;
  if (::write(startup_pipe.get(), rec.data(), rec.size()) != ssize_t(rec.size()))
    log_debug("startup pipe: %s", std::strerror(errno));
}

// The header a connection from a ProxyProtocolFrom address must begin with, read by a jailed child
// (monitor/proxy_header_reader.h). True to go on, with `peer` replaced by the client the header
// names (kept for "PROXY UNKNOWN" and v2 LOCAL: the load balancer's health checks); false, logged,
// when the header is missing or bad. The listener learns the client's address on the startup pipe
// for PerSourcePenalties (monitor/session_outcome.h).
bool proxied_peer(int client, const config::ServerConfig& cfg, Endpoint& peer,
                  UniqueFd& startup_pipe) {
  if (cfg.proxy_protocol_from.empty() ||
      config::detail::match_address_list(peer.address, cfg.proxy_protocol_from) != 1)
    return true;
  int timeout_ms = kProxyHeaderTimeoutMs;
  if (cfg.login_grace_time > 0) timeout_ms = std::min(timeout_ms, cfg.login_grace_time * 1000);
  ProxyHeaderResult r = read_proxy_header_jailed(client, timeout_ms);
  if (r.error != proxy_protocol::Error::kNone) {
    log_info("PROXY protocol header from %s port %d refused: %s", peer.address.c_str(), peer.port,
             proxy_protocol::describe(r.error));
    return false;
  }
  if (!r.header.has_client) {
    log_verbose("PROXY protocol v%d header from %s port %d names no client: keeping the address",
                r.header.version, peer.address.c_str(), peer.port);
    return true;
  }
  Endpoint client_end = proxy_protocol::client_endpoint(r.header);
  log_verbose("PROXY protocol v%d header from %s port %d: client %s port %d", r.header.version,
              peer.address.c_str(), peer.port, client_end.address.c_str(), client_end.port);
  report_proxied_source(startup_pipe, client_end.address);
  peer = client_end;
  return true;
}

int run() {
  ::signal(SIGPIPE, SIG_IGN);
  // Until the listener's setup arrives, errors go to stderr.
  LogOptions lo;
  lo.to_stderr = true;
  log_init(lo);

  ::fcntl(kSetupFd, F_SETFD, FD_CLOEXEC);
  ipc::Channel setup_channel{UniqueFd(kSetupFd)};
  ipc::SessionStart start;
  try {
    auto m = setup_channel.receive();
    start = ipc::decode<ipc::SessionStart>(m.data.view());
  } catch (const std::exception& e) {
    fatal("sshd-session: no setup from the listener (%s); it is started by sshd", e.what());
  }
  setup_channel = ipc::Channel();
  // Held until authentication succeeds: the listener counts it against MaxStartups.
  UniqueFd startup_pipe;
  if (start.startup_pipe) {
    startup_pipe.reset(kStartupFd);
    ::fcntl(kStartupFd, F_SETFD, FD_CLOEXEC);
  }
  lo.level = LogLevel(start.log_level);
  lo.facility = int(start.facility);
  lo.to_stderr = start.to_stderr;
  lo.log_file = start.log_file;
  log_init(lo);

  auto parsed = config::deserialize_config(start.config);
  if (!parsed) fatal("bad configuration from the listener: %s", parsed.error().message.c_str());
  config::ServerConfig cfg = std::move(*parsed);
  config::apply_log_verbose(cfg);

  // The client connection: one socket, or (inetd mode over pipes) a relay to a socketpair so
  // every later process sees one socket.
  UniqueFd client;
  struct stat st {};
  if (::fstat(0, &st) == 0 && S_ISSOCK(st.st_mode)) {
    client.reset(::fcntl(0, F_DUPFD_CLOEXEC, 10));
  } else {
    auto relayed = start_inetd_relay(0, 1);
    if (!relayed) fatal("%s", relayed.error().message.c_str());
    client = std::move(*relayed);
  }
  // fds 0 and 1 now only keep the connection open for nobody: point them at /dev/null.
  int devnull = ::open("/dev/null", O_RDWR);
  if (devnull >= 0) {
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    if (devnull > 2) ::close(devnull);
  }

  Endpoint peer = peer_endpoint(client.get());
  Endpoint local = local_endpoint(client.get());
  // ProxyProtocolFrom: a listed load balancer must send a PROXY header, whose client is then the
  // peer everywhere below (logs, UseDNS, Match, from=, PAM_RHOST, the bastion's sources and audit).
  if (!proxied_peer(client.get(), cfg, peer, startup_pipe)) {
    report_outcome(startup_pipe, SessionOutcome::kNoAuth);
    return 255;
  }
  log_verbose("Connection from %s port %d on %s port %d rdomain \"%s\"", peer.address.c_str(),
              peer.port, local.address.c_str(), local.port, cfg.rdomain.c_str());
  // UseDNS: asked once, here, as root; the name then serves every host pattern (peer_name.h).
  if (cfg.use_dns) peer.name = verified_peer_name(peer.address, system_name_lookups());
  // RefuseConnection (monitor/connection_refused.h), from what is known before the user name.
  config::ConnectionInfo early;
  early.host = peer.host();
  early.addr = peer.address;
  early.laddr = local.address;
  early.lport = local.port;
  if (config::apply_match(cfg, early).refuse_connection) {
    log_info("Refusing connection from %s port %d: RefuseConnection", peer.address.c_str(),
             peer.port);
    report_outcome(startup_pipe, SessionOutcome::kRefused);
    return 255;
  }

  std::vector<std::shared_ptr<const PrivateKey>> keys;
  const std::string agent = host_key_agent_socket(cfg.host_key_agent);
  for (const auto& path : cfg.host_keys) {
    auto k = PrivateKey::load_file(path);
    // HostKeyAgent: a key file we cannot read may be an agent's key (sshd_config(5)).
    if (!k && !agent.empty()) {
      auto held = agent_host_key(agent, path);
      if (held)
        k = std::move(held);
      else
        log_debug("host key %s not from the agent: %s", path.c_str(), held.error().message.c_str());
    }
    if (!k) {
      log_error("Unable to load host key \"%s\": %s", path.c_str(), k.error().message.c_str());
      continue;
    }
    // PROTOCOL.u2f: a security host key signs through the SecurityKeyProvider, dlopen'ed here in
    // the monitor when it signs (common/sk_provider.h checks the path first).
    if (k->security_key()) k->set_security_key_provider(cfg.security_key_provider);
    keys.push_back(std::make_shared<const PrivateKey>(std::move(*k)));
  }
  if (keys.empty()) fatal("sshd: no hostkeys available -- exiting.");
  std::vector<HostKeyEntry> entries = host_key_entries(keys);
  add_host_certificates(entries, keys, cfg.host_certificates);

  ipc::NetSetup setup;
  setup.config = start.config;
  setup.log_level = uint32_t(lo.level);
  for (const auto& e : entries) {
    setup.host_key_algorithms.push_back(e.algorithm);
    setup.host_key_blobs.push_back(e.certificate ? *e.certificate : e.key->public_key().blob());
  }
  setup.remote_addr = peer.address;
  setup.remote_port = uint32_t(peer.port);
  setup.local_addr = local.address;
  setup.local_port = uint32_t(local.port);
  // The proxy front door is a bastion door only (the listener opens it only with sshd -B).
  if (start.proxy_door && !start.bastion) fatal("a proxy front door connection without -B");
  setup.proxy_door = start.proxy_door;

  // sshd -B: the policy as the listener checked it; policy users and routes (bastion/).
  std::unique_ptr<BastionSession> bastion_session;
  std::unique_ptr<SystemAuthBackend> backend_owner;
  if (start.bastion) {
    ::fcntl(kPolicyFd, F_SETFD, FD_CLOEXEC);
    auto text = policy_from_memfd(kPolicyFd);
    ::close(kPolicyFd);
    if (!text) fatal("%s", text.error().message.c_str());
    auto policy = bastion::parse_policy(*text);
    if (!policy) fatal("bastion policy: %s", policy.error().message.c_str());
    bastion_session = std::make_unique<BastionSession>(std::move(*policy), peer);
    auto bastion_backend = std::make_unique<BastionAuthBackend>(bastion_session->policy());
    if (start.proxy_door) {
      bastion_session->set_proxy_door();
      bastion_backend->set_proxy_door();
    }
    backend_owner = std::move(bastion_backend);
  } else {
    backend_owner = std::make_unique<SystemAuthBackend>();
  }
  SystemAuthBackend& backend = *backend_owner;
  backend.local = local;
  // UsePAM: one PAM handle for the whole connection, held here in the monitor only; it outlives
  // the Monitor and ends (closing the PAM session) when this function returns.
  std::unique_ptr<PamContext> pam;
  if (cfg.use_pam) {
    pam = std::make_unique<PamContext>(start.pam_service.empty() ? "sshd" : start.pam_service, peer,
                                       local);
    backend.pam = pam.get();
  }
  Monitor monitor(cfg, entries, peer, local, backend);
  monitor.set_host_keys(keys);  // all of them, for hostkeys-00@openssh.com
  monitor.set_pam(pam.get());
  monitor.set_bastion(bastion_session.get());

  // ---- pre-auth: sshd-net -------------------------------------------------------------------
  auto [ours, theirs] = ipc::Channel::make_pair();
  ours.send(setup);
  auto net = ChildProcess::spawn(sshd_auth_program(cfg), {"sshd-net"},
                                 {{0, 0},
                                  {1, 1},
                                  {STDERR_FILENO, 2},
                                  {theirs.fd(), kChildChannelFd},
                                  {client.get(), kChildSocketFd}},
                                 {});
  if (!net) fatal("%s", net.error().message.c_str());
  theirs = ipc::Channel();

  uint64_t grace_deadline =
      cfg.login_grace_time > 0 ? now_ms() + uint64_t(cfg.login_grace_time) * 1000 : 0;
  // LoginGraceTime (sshd_config(5)): the monitor, not the child, keeps the clock.
  auto grace_exceeded = [&] {
    net->kill(SIGKILL);
    net->wait();
    report_outcome(startup_pipe, SessionOutcome::kGraceExceeded);
    // OpenSSH reports it as fatal ("fatal: Timeout before authentication for ..."), the form
    // fail2ban's filters expect.
    fatal("Timeout before authentication for %s port %d", peer.address.c_str(), peer.port);
  };
  // The replies too: a child that stops reading must not hold the monitor in sendmsg past the
  // grace time (ipc.h set_send_deadline; same clock as now_ms()).
  ours.set_send_deadline(grace_deadline);
  try {
    while (true) {
      auto m = receive_until(ours, grace_deadline);
      if (!m) grace_exceeded();
      monitor.handle(ours, *m);
      if (monitor.phase() == Phase::kAuthenticated && m->type == ipc::AuthDone::kType) break;
    }
  } catch (const ipc::SendTimedOut&) {
    grace_exceeded();
  } catch (const ConnectionClosed&) {
    // The child ended (client went away, auth failed, or a protocol error it logged itself).
    int status = net->wait();
    if (WIFSIGNALED(status))
      log_error("sshd-net for %s port %d %s", peer.address.c_str(), peer.port,
                describe_wait_status(status).c_str());
    // A failed method counts as an attempt; "none" alone (or nothing at all) does not. An
    // attempt for a user who does not exist is PerSourcePenalties' invaliduser (OpenSSH 10).
    report_outcome(startup_pipe, WIFSIGNALED(status)     ? SessionOutcome::kCrash
                                 : !monitor.failures()   ? SessionOutcome::kNoAuth
                                 : !monitor.user_valid() ? SessionOutcome::kInvalidUser
                                                         : SessionOutcome::kAuthFail);
    return 255;
  } catch (const ConnectionRefused& e) {
    net->kill(SIGKILL);
    net->wait();
    log_info("%s", e.what());
    report_outcome(startup_pipe, SessionOutcome::kRefused);
    return 255;
  } catch (const PamAccessDenied& e) {
    // The user authenticated but PAM's account stage refused: sshd's line, then the end.
    net->kill(SIGKILL);
    net->wait();
    log_error("%s [preauth]", e.what());
    return 255;
  } catch (const ProtocolError& e) {
    // A request out of phase or malformed: the child is not to be trusted any more.
    net->kill(SIGKILL);
    net->wait();
    log_error("monitor: %s; closing connection from %s port %d", e.what(), peer.address.c_str(),
              peer.port);
    // An unprivileged child that breaks the monitor protocol is treated as a compromised one.
    report_outcome(startup_pipe, SessionOutcome::kCrash);
    return 255;
  }
  // The child's work ends with AUTHDONE. It is killed rather than waited for: a child that
  // kept running would still hold the client socket next to the session process.
  ours = ipc::Channel();
  net->kill(SIGKILL);
  net->wait();

  // ---- post-auth: the session process --------------------------------------------------------
  report_outcome(startup_pipe, SessionOutcome::kAuthenticated);
  monitor.start_postauth();
  const Account& user = monitor.user();
  if (bastion_session) {
    BastionStart bs{monitor, *bastion_session, backend, lo.level, setup, peer, local};
    return run_bastion_session(bs, client);
  }
  ipc::UserSetup us;
  us.config = config::serialize_config(monitor.effective_config());
  us.log_level = uint32_t(lo.level);
  us.user = user.name;
  us.uid = user.uid;
  us.gid = user.gid;
  us.home = user.home;
  us.shell = user.shell;
  us.host_key_algorithms = setup.host_key_algorithms;
  us.host_key_blobs = setup.host_key_blobs;
  us.remote_addr = peer.address;
  us.remote_port = uint32_t(peer.port);
  us.local_addr = local.address;
  us.local_port = uint32_t(local.port);
  us.transport_state = monitor.take_transport_state();
  us.key_environment = monitor.key_environment();
  us.key_command = monitor.key_command();
  us.key_permit_open = monitor.key_permit_open();
  us.key_permit_listen = monitor.key_permit_listen();
  us.groups = privsep_child::encode_groups(privsep_child::account_groups(user.name, user.gid));
  if (pam) {
    // PAM's session stage, as root, before the user's process starts (sshd does the same);
    // its environment (pam_env and the like) goes into the user's sessions.
    if (!pam->open_session()) return 255;
    us.pam_env = pam->environment();
  }

  auto [mon, sess] = ipc::Channel::make_pair();
  mon.send(us);
  us.transport_state.clear();
  auto session = ChildProcess::spawn(find_helper("sshd-user"), {"sshd-user"},
                                     {{0, 0},
                                      {1, 1},
                                      {STDERR_FILENO, 2},
                                      {sess.fd(), kChildChannelFd},
                                      {client.get(), kChildSocketFd}},
                                     {});
  if (!session) fatal("%s", session.error().message.c_str());
  sess = ipc::Channel();
  client.reset();  // the session process owns the connection now
  log_debug("User child is on pid %ld", long(session->pid()));
  // From here the monitor only answers the session's few requests, for as long as it lasts:
  // the heap the login used (this setup with the configuration's text, the pre-auth exchanges)
  // goes back to the kernel rather than staying resident per idle session.
  us = ipc::UserSetup{};
  ::malloc_trim(0);

  try {
    while (true) {
      auto m = receive_until(mon, 0);
      monitor.handle(mon, *m);
    }
  } catch (const ConnectionClosed&) {
  } catch (const ProtocolError& e) {
    session->kill(SIGKILL);
    log_error("monitor: %s; closing connection from %s port %d", e.what(), peer.address.c_str(),
              peer.port);
  }
  int status = session->wait();
  if (WIFSIGNALED(status))
    log_error("session process for %s %s", user.name.c_str(), describe_wait_status(status).c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

}  // namespace
}  // namespace postern::monitor

int main() {
  postern::init_openssl_without_exit_handler();
  try {
    return postern::monitor::run();
  } catch (const std::exception& e) {
    // Unwinding has killed and reaped the children (ChildProcess); a bug or an exhausted
    // resource ends this one connection with a line in the log, never std::terminate.
    postern::fatal("sshd-session: %s", e.what());
  }
}
