// `sshd`, the listener (docs/architecture.md): parses the command line and the configuration, binds
// the listening sockets and, for every connection, starts a fresh `sshd-session` (the
// per-connection monitor) with the socket as its fds 0 and 1 and the configuration, already parsed,
// sent over an ipc channel on fd 3. It holds no host key and never reads from a client.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/rand.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/config/match_eval.h"
#include "common/config/server_config.h"
#include "common/ipc.h"
#include "common/ipc_messages.h"
#include "common/log.h"
#include "common/ssh_key.h"
#include "monitor/bastion_policy_blob.h"
#include "monitor/command_line.h"
#include "monitor/daemon_files.h"
#include "monitor/helper_path.h"
#include "monitor/host_key_agent.h"
#include "monitor/listener.h"
#include "monitor/session_outcome.h"
#include "monitor/source_limits.h"
#include "monitor/spawn.h"
#include "monitor/systemd.h"
#include "postern_config.h"

namespace postern::monitor {
namespace {

// Signal handlers only set a flag and wake the poll loop through a pipe (async-signal-safe).
volatile sig_atomic_t g_terminate = 0;
volatile sig_atomic_t g_hangup = 0;
volatile sig_atomic_t g_child = 0;
int g_wake_fd = -1;

void on_signal(int sig) {
  int saved = errno;
  if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT) g_terminate = sig;
  if (sig == SIGHUP) g_hangup = 1;
  if (sig == SIGCHLD) g_child = 1;
  if (g_wake_fd >= 0) (void)!::write(g_wake_fd, "x", 1);
  errno = saved;
}

void install_signals(int wake_fd) {
  g_wake_fd = wake_fd;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGCHLD}) sigaction(sig, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

LogLevel effective_level(const CommandLine& cl, LogLevel configured) {
  if (cl.debug > 0) return LogLevel(int(LogLevel::kDebug1) + cl.debug - 1);
  if (cl.quiet) return LogLevel::kQuiet;
  return configured;
}

// The privilege separation directory must exist, be root's and not writable by others
// (docs/architecture.md; the pre-auth child is chrooted there). Created when missing.
// Starts sshd-session for one connection: socket on fds 0 and 1, setup datagram on fd 3, and
// the write end of its startup pipe on fd 4 (closed once the user has authenticated).
// With sshd -B, the sealed policy memfd is its fd 5 (monitor/bastion_policy_blob.h).
Result<ChildProcess> start_session(const std::string& path, int in_fd, int out_fd,
                                   const ipc::SessionStart& start, int startup_fd, int policy_fd) {
  auto [ours, theirs] = ipc::Channel::make_pair();
  ipc::SessionStart copy = start;
  copy.startup_pipe = startup_fd >= 0;
  ours.send(copy);  // queued in the socket; the child reads it after exec
  std::vector<FdMapping> fds = {{in_fd, 0}, {out_fd, 1}, {STDERR_FILENO, 2}, {theirs.fd(), 3}};
  if (startup_fd >= 0) fds.push_back({startup_fd, 4});
  if (policy_fd >= 0) fds.push_back({policy_fd, 5});
  return ChildProcess::spawn(path, {"sshd-session"}, fds);
}

// MaxStartups start:rate:full (sshd_config(5)): below start every connection is served, at full
// none; between, refusals grow linearly from rate% to 100%.
bool drop_connection(const config::ServerConfig& cfg, size_t startups) {
  int n = int(startups);
  if (n >= cfg.max_startups_full) return true;
  if (n < cfg.max_startups_begin) return false;
  if (cfg.max_startups_full <= cfg.max_startups_begin) return true;
  double p = 100.0 - cfg.max_startups_rate;
  p *= double(n - cfg.max_startups_begin) / double(cfg.max_startups_full - cfg.max_startups_begin);
  p += cfg.max_startups_rate;
  uint32_t r = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&r), sizeof r) != 1) return true;
  return double(r % 100) < p;
}

[[noreturn]] void exec_session_inetd(const std::string& path, const ipc::SessionStart& start,
                                     int policy_fd) {
  auto [ours, theirs] = ipc::Channel::make_pair();
  ipc::SessionStart copy = start;
  ours.send(copy);
  if (::dup2(theirs.fd(), 3) < 0) fatal("dup2: %s", std::strerror(errno));
  if (policy_fd >= 0 && ::dup2(policy_fd, 5) < 0) fatal("dup2: %s", std::strerror(errno));
  char* argv[] = {const_cast<char*>("sshd-session"), nullptr};
  char* envp[] = {nullptr};
  ::execve(path.c_str(), argv, envp);
  fatal("exec %s: %s", path.c_str(), std::strerror(errno));
}

int check_host_keys(const config::ServerConfig& cfg) {
  int loaded = 0;
  const std::string agent = host_key_agent_socket(cfg.host_key_agent);
  for (const auto& path : cfg.host_keys) {
    auto key = PrivateKey::load_file(path);
    if (!key && !agent.empty()) key = agent_host_key(agent, path);
    if (!key) {
      log_error("Unable to load host key: %s", path.c_str());
      continue;
    }
    ++loaded;
  }
  return loaded;
}

// -d serves one connection. A connection that closes before sending anything (a port probe
// waiting for the server to come up) is not that connection; a client that waits for our version
// line first is served after a short wait.
bool closed_without_a_word(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 300) <= 0) return false;
  char c;
  return ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

std::string self_exe() {
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return {};
  self[n] = '\0';
  return self;
}

// SIGHUP: the new configuration is checked by a child `sshd -t` with our own arguments before we
// re-exec, so a bad one leaves the running configuration serving (issue 3; OpenSSH would die).
bool configuration_checks(char** argv) {
  std::string exe = self_exe();
  if (exe.empty()) return false;
  std::vector<std::string> args;
  for (char** a = argv; *a != nullptr; ++a) args.push_back(*a);
  args.push_back("-t");
  std::vector<char*> av;
  for (auto& a : args) av.push_back(a.data());
  av.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) {
    ::execv(exe.c_str(), av.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// Per-connection socket options from the configuration (TCPKeepAlive; IPQoS's interactive class
// until the session knows better).
void tune_connection(int fd, const config::ServerConfig& cfg) {
  int on = cfg.tcp_keep_alive ? 1 : 0;
  ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  Endpoint local = local_endpoint(fd);
  int tos = cfg.ip_qos_interactive;
  if (tos >= 0) {
    if (local.address.find(':') == std::string::npos)
      ::setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
    else
      ::setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof tos);
  }
}

// A connection the listener has started and not yet seen authenticate.
struct Startup {
  UniqueFd pipe;  // read end of its startup pipe
  pid_t pid = -1;
  SourceKey source;
  std::string address;
  int64_t started = 0;
  // False while a ProxyProtocolFrom load balancer's connection has not named its client: the
  // balancer's own address is neither counted nor penalised (every client behind it shares it).
  bool counted = true;
};

// What an sshd-session wrote on its startup pipe since the last read (monitor/session_outcome.h).
StartupReport read_report(int pipe_fd) {
  char buf[kMaxProxiedSourceRecord + 1];
  ssize_t n;
  do {
    n = ::read(pipe_fd, buf, sizeof buf);
  } while (n < 0 && errno == EINTR);
  return parse_startup_report(std::string_view(buf, n > 0 ? size_t(n) : 0));
}

std::optional<SessionOutcome> read_outcome(int pipe_fd) {
  return read_report(pipe_fd).outcome;
}

// The source key of a numeric address the monitor sent; nullopt if it is none.
std::optional<sockaddr_storage> numeric_sockaddr(const std::string& address) {
  sockaddr_storage ss{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    return ss;
  }
  if (::inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    return ss;
  }
  return std::nullopt;
}

bool from_proxy(const config::ServerConfig& cfg, const std::string& address) {
  return !cfg.proxy_protocol_from.empty() &&
         config::detail::match_address_list(address, cfg.proxy_protocol_from) == 1;
}

int64_t monotonic_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec);
}

int run(int argc, char** argv) {
  // Descriptors our own parent left open are none of our business (and would leak into every
  // connection's processes).
  // Socket-activated listeners (fds 3..) are ours though.
  int activated = activated_fd_count();
  ::close_range(3 + unsigned(activated), ~0U, 0);
  bool reexeced = std::getenv("POSTERN_REEXEC") != nullptr;
  ::unsetenv("POSTERN_REEXEC");
  // Until the configuration says otherwise, messages go to stderr.
  LogOptions lo;
  lo.to_stderr = true;
  log_init(lo);

  auto cl = parse_command_line(argc, argv);
  if (!cl) {
    std::fprintf(stderr, "%s\n", cl.error().message.c_str());
    return 1;
  }
  std::string config_file =
      cl->config_file.empty() ? std::string(POSTERN_SYSCONFDIR) + "/sshd_config" : cl->config_file;
  config::LoadOptions load_options;
  if (cl->bastion) load_options.default_port = 2222;  // man/postern-bastion.5
  auto cfg = config::load_server_config(config_file, cl->config_options, load_options);
  if (!cfg) {
    std::fprintf(stderr, "%s\n", cfg.error().message.c_str());
    return 255;
  }

  lo.level = effective_level(*cl, cfg->log_level);
  lo.facility = cfg->syslog_facility;
  lo.to_stderr = cl->log_stderr || cl->debug > 0 || cl->test > 0;
  lo.log_file = cl->log_file;
  log_init(lo);
  config::apply_log_verbose(*cfg);

  // sshd -B: the policy is read and checked here, once, and a broken one stops us (and keeps a
  // SIGHUP from replacing a running policy: configuration_checks runs us with -t).
  std::optional<bastion::PolicyText> policy;
  if (cl->bastion) {
    auto loaded = load_checked_bastion_policy(cfg->bastion_policy);
    if (!loaded) {
      std::fprintf(stderr, "%s\n", loaded.error().message.c_str());
      return 255;
    }
    policy = std::move(*loaded);
  }

  if (cl->test == 2) {
    // Match is evaluated even without -C, as OpenSSH does (all criteria then fail to match).
    config::ConnectionInfo ci;
    if (!cl->connection_spec.empty()) {
      auto spec = config::parse_connection_spec(cl->connection_spec);
      if (!spec) {
        std::fprintf(stderr, "%s\n", spec.error().message.c_str());
        return 255;
      }
      ci = *spec;
    }
    auto matched = config::apply_match_for_test(*cfg, ci);
    if (!matched) {
      std::fprintf(stderr, "%s\n", matched.error().message.c_str());
      return 255;
    }
    std::string text = config::dump_config(*matched);
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
  }
  // The pre-auth child runs as this user (docs/architecture.md); without it no connection can be
  // served.
  if (::getpwnam(POSTERN_PRIVSEP_USER) == nullptr) {
    log_error("Privilege separation user %s does not exist", POSTERN_PRIVSEP_USER);
    return 255;
  }
  // SshdSessionPath / SshdAuthPath: a helper we would exec as root must be root's alone.
  if (auto helpers = check_configured_helpers(*cfg); !helpers) {
    log_error("%s", helpers.error().message.c_str());
    return 255;
  }
  const std::string session_program = sshd_session_program(*cfg);
  if (cl->test == 1) {
    if (check_host_keys(*cfg) == 0) {
      log_error("sshd: no hostkeys available -- exiting.");
      return 1;
    }
    return 0;
  }
  if (::geteuid() != 0) {
    std::fprintf(stderr, "sshd: must be run as root (privilege separation)\n");
    return 255;
  }
  if (!ensure_privsep_dir()) return 255;

  ipc::SessionStart start;
  start.config = config::serialize_config(*cfg);
  start.log_level = uint32_t(lo.level);
  start.facility = uint32_t(lo.facility);
  start.to_stderr = lo.to_stderr;
  start.log_file = lo.log_file;
  // The PAM service is the name we were run as, as with OpenSSH's sshd: a copy or link named
  // "sshd-foo" uses /etc/pam.d/sshd-foo.
  start.pam_service = argc > 0 && argv[0] != nullptr ? argv[0] : "sshd";
  if (size_t slash = start.pam_service.rfind('/'); slash != std::string::npos)
    start.pam_service.erase(0, slash + 1);
  if (start.pam_service.empty()) start.pam_service = "sshd";
  UniqueFd policy_fd;
  if (policy) {
    auto memfd = policy_to_memfd(*policy);
    if (!memfd) fatal("%s", memfd.error().message.c_str());
    policy_fd = std::move(*memfd);
    start.bastion = true;
  }

  if (cl->inetd) {
    // The connection is on stdin/stdout; the process split is the same (docs/architecture.md).
    start.to_stderr = cl->log_stderr;
    exec_session_inetd(session_program, start, policy_fd.get());
  }

  Result<std::vector<ListenSocket>> listeners =
      activated > 0 ? Result<std::vector<ListenSocket>>(adopt_activated(activated))
                    : bind_listeners(*cfg);
  if (!listeners) fatal("%s", listeners.error().message.c_str());
  // sshd -B: the proxy front door's ports too, handed over unread like any other (BASTION.md).
  if (auto parsed = policy ? bastion::parse_policy(*policy) : Unexpected("no policy"))
    bind_proxy_listeners(parsed->bastion.proxy_listen, *cfg, *listeners);
  // Not for our children; kept aside for our own re-exec on SIGHUP.
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");

  // After a SIGHUP re-exec we are daemonised already: keep our pid (PidFile, systemd's MAINPID).
  if (cl->debug == 0 && !cl->foreground && !reexeced) {
    if (::daemon(0, 0) != 0) fatal("daemon() failed: %s", std::strerror(errno));
    lo.to_stderr = cl->log_stderr;
    log_init(lo);
    start.to_stderr = lo.to_stderr;
  }
  if (cl->debug == 0) write_pid_file(cfg->pid_file);
  SourceLimits limits;
  limits.configure(*cfg);

  int wake[2];
  if (::pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) fatal("pipe: %s", std::strerror(errno));
  UniqueFd wake_rd(wake[0]), wake_wr(wake[1]);
  install_signals(wake_wr.get());
  sd_notify_text("READY=1\nMAINPID=" + std::to_string(long(::getpid())) + "\n");

  std::map<pid_t, ChildProcess> children;
  std::vector<Startup> startups;            // the unauthenticated connections
  std::map<pid_t, Startup> ended_startups;  // startup pipe at EOF, child not reaped yet
  std::vector<pollfd> pfds;
  while (true) {
    if (g_terminate) {
      log_info("Received signal %d; terminating.", int(g_terminate));
      sd_notify_text("STOPPING=1\n");
      if (cl->debug == 0 && !cfg->pid_file.empty()) ::unlink(cfg->pid_file.c_str());
      // Connections in progress go on: their sshd-session processes are on their own.
      for (auto& [pid, child] : children) (void)child.try_wait();
      for (auto& [pid, child] : children) child.detach();  // never kill live sessions
      return 0;
    }
    if (g_hangup) {
      g_hangup = 0;
      if (!configuration_checks(argv)) {
        log_error("Received SIGHUP; the new configuration is bad: keeping the running one.");
        continue;
      }
      log_info("Received SIGHUP; restarting.");
      sd_notify_text("RELOADING=1\n");
      ::setenv("POSTERN_REEXEC", "1", 1);
      if (activated > 0) {
        // Socket-activated listeners survive the exec at the same numbers (fds 3..).
        for (auto& l : *listeners) ::fcntl(l.fd.get(), F_SETFD, 0);
        ::setenv("LISTEN_FDS", std::to_string(activated).c_str(), 1);
        ::setenv("LISTEN_PID", std::to_string(long(::getpid())).c_str(), 1);
      } else {
        listeners->clear();
      }
      std::string exe = self_exe();
      if (!exe.empty()) ::execv(exe.c_str(), argv);
      fatal("re-exec on SIGHUP failed: %s", std::strerror(errno));
    }
    if (g_child) {
      g_child = 0;
      // Reap every child, including those started before a SIGHUP re-exec (not in the map).
      int status = 0;
      pid_t pid;
      while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
        auto it = children.find(pid);
        if (it != children.end()) {
          it->second.set_status(status);
          children.erase(it);
        }
        // A connection that ended before it could report (monitor/session_outcome.h): only a
        // crash of sshd-session itself is the client's doing. Its pipe may still hold the
        // report when the SIGCHLD came first.
        Startup rec;
        std::optional<SessionOutcome> outcome;
        auto st = std::find_if(startups.begin(), startups.end(),
                               [pid](const Startup& s) { return s.pid == pid; });
        if (st != startups.end()) {
          rec = std::move(*st);
          startups.erase(st);
          if (rec.counted) limits.finished_startup(rec.source);
          outcome = read_outcome(rec.pipe.get());
        } else if (auto e = ended_startups.find(pid); e != ended_startups.end()) {
          rec = std::move(e->second);
          ended_startups.erase(e);
        } else {
          continue;  // authenticated, or started before a re-exec
        }
        Penalty p = outcome ? penalty_for(*outcome) : classify_silent_exit(status);
        if (!outcome && p == Penalty::kNone)
          log_debug("sshd-session %ld for %s ended without a report (%s)", long(pid),
                    rec.address.c_str(), describe_wait_status(status).c_str());
        if (rec.counted) limits.penalise(rec.source, rec.address, p, monotonic_seconds());
      }
    }
    pfds.clear();
    pfds.push_back({wake_rd.get(), POLLIN, 0});
    for (const auto& l : *listeners) pfds.push_back({l.fd.get(), POLLIN, 0});
    size_t first_startup = pfds.size();
    for (const auto& st : startups) pfds.push_back({st.pipe.get(), POLLIN, 0});
    int rc = ::poll(pfds.data(), pfds.size(), -1);
    if (rc < 0) {
      if (errno == EINTR) continue;
      fatal("poll: %s", std::strerror(errno));
    }
    if (pfds[0].revents) {
      char buf[64];
      while (::read(wake_rd.get(), buf, sizeof buf) > 0) {
      }
    }
    // A startup pipe readable: its sshd-session reports how the pre-auth phase ended (one byte,
    // monitor/session_outcome.h), or it closed without a word because the process died.
    for (size_t i = pfds.size(); i-- > first_startup;) {
      if (!pfds[i].revents) continue;
      auto it = startups.begin() + long(i - first_startup);
      StartupReport report = read_report(it->pipe.get());
      if (report.proxied_source && !it->counted) {
        // Behind a load balancer: from now on the connection is its client's (ProxyProtocolFrom).
        auto ss = numeric_sockaddr(*report.proxied_source);
        if (ss) {
          SourceKey key = limits.key_of(*ss);
          std::string why = limits.refusal(key, *report.proxied_source, monotonic_seconds());
          if (!why.empty()) {
            log_info("drop connection from [%s] via [%s] (PROXY protocol) %s",
                     report.proxied_source->c_str(), it->address.c_str(), why.c_str());
            if (auto c = children.find(it->pid); c != children.end()) c->second.kill(SIGTERM);
          } else {
            it->source = key;
            it->address = *report.proxied_source;
            it->counted = true;
            limits.started(key);
          }
        }
      }
      if (!report.outcome && !report.eof) continue;  // the connection goes on
      if (it->counted) limits.finished_startup(it->source);
      std::optional<SessionOutcome> outcome = report.outcome;
      if (outcome) {
        if (it->counted)
          limits.penalise(it->source, it->address, penalty_for(*outcome), monotonic_seconds());
        startups.erase(it);
      } else {
        // Judged when it is reaped (the SIGCHLD may come before or after this).
        it->pipe.reset();
        ended_startups.emplace(it->pid, std::move(*it));
        startups.erase(it);
        g_child = 1;
      }
    }
    for (size_t i = 1; i < first_startup; ++i) {
      if (!(pfds[i].revents & POLLIN)) continue;
      sockaddr_storage peer{};
      socklen_t peer_len = sizeof peer;
      UniqueFd conn(
          ::accept4(pfds[i].fd, reinterpret_cast<sockaddr*>(&peer), &peer_len, SOCK_CLOEXEC));
      if (!conn) {
        if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
          log_error("accept: %s", std::strerror(errno));
        continue;
      }
      if (cl->debug > 0 && closed_without_a_word(conn.get())) continue;
      SourceKey source = limits.key_of(peer);
      Endpoint from = peer_endpoint(conn.get());
      // A load balancer's connections are judged by the client its PROXY header names (above).
      bool proxied = from_proxy(*cfg, from.address);
      if (cl->debug == 0) {
        std::string why =
            proxied ? std::string() : limits.refusal(source, from.address, monotonic_seconds());
        if (why.empty() && drop_connection(*cfg, startups.size())) why = "past MaxStartups";
        if (!why.empty()) {
          Endpoint on = local_endpoint(conn.get());
          log_info("drop connection #%zu from [%s]:%d on [%s]:%d %s", startups.size(),
                   from.address.c_str(), from.port, on.address.c_str(), on.port, why.c_str());
          continue;
        }
      }
      tune_connection(conn.get(), *cfg);
      int sp[2] = {-1, -1};
      if (cl->debug == 0 && ::pipe2(sp, O_CLOEXEC) != 0) {
        log_error("pipe: %s", std::strerror(errno));
        continue;
      }
      UniqueFd startup_rd(sp[0]), startup_wr(sp[1]);
      ipc::SessionStart conn_start = start;
      conn_start.proxy_door = (*listeners)[i - 1].proxy_door;
      auto child = start_session(session_program, conn.get(), conn.get(), conn_start,
                                 startup_wr.get(), policy_fd.get());
      startup_wr.reset();
      if (!child) {
        log_error("%s", child.error().message.c_str());
        continue;
      }
      if (cl->debug > 0) {
        // -d: one connection, served in the foreground; then the listener exits.
        listeners->clear();
        conn.reset();
        int st = child->wait();
        return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
      }
      pid_t pid = child->pid();
      children.emplace(pid, std::move(*child));
      if (!proxied) limits.started(source);
      startups.push_back(
          Startup{std::move(startup_rd), pid, source, from.address, monotonic_seconds(), !proxied});
    }
  }
}

}  // namespace
}  // namespace postern::monitor

int main(int argc, char** argv) {
  return postern::monitor::run(argc, argv);
}
