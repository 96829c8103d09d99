// `sshd-user`, the post-auth session process (DESIGN.md). Started by the monitor as root with a
// fresh exec; receives the user, the effective configuration and the transport state; becomes the
// user (ChrootDirectory, supplementary groups, gid, uid, no capabilities), imports the transport
// and runs the connection protocol (session/). Re-key signatures and ptys come from the monitor.
//
// fd 3: ipc channel to the monitor; fd 4: the client connection.
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "common/config/server_config.h"
#include "common/ipc.h"
#include "common/ipc_messages.h"
#include "common/log.h"
#include "monitor/chroot.h"
#include "net/sandbox.h"
#include "net/transport.h"
#include "postern_config.h"
#include "session/session.h"

namespace postern::monitor {
namespace {

constexpr int kChannelFd = 3;
constexpr int kSocketFd = 4;

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

class MonitorSigner : public net::HostKeySigner {
 public:
  MonitorSigner(ipc::Channel& ch, std::vector<std::string> algs, std::vector<Bytes> blobs)
      : m_ch(ch), m_algs(std::move(algs)), m_blobs(std::move(blobs)) {}
  std::vector<std::string> algorithms() const override { return m_algs; }
  Bytes public_key_blob(std::string_view algorithm) const override {
    for (size_t i = 0; i < m_algs.size(); ++i)
      if (m_algs[i] == algorithm) return m_blobs[i];
    return {};
  }
  Result<Bytes> sign(std::string_view algorithm, ByteView data) override {
    auto r = m_ch.call(ipc::SignRequest{std::string(algorithm), Bytes(data.begin(), data.end())});
    if (!r) return Unexpected(r.error());
    return std::move(r->signature);
  }

 private:
  ipc::Channel& m_ch;
  std::vector<std::string> m_algs;
  std::vector<Bytes> m_blobs;
};

class MonitorPrivilegedOps : public session::PrivilegedOps {
 public:
  explicit MonitorPrivilegedOps(ipc::Channel& ch) : m_ch(ch) {}
  Result<session::PtyAllocation> allocate_pty() override {
    auto r = m_ch.call(ipc::PtyRequest{});
    if (!r) return Unexpected(r.error());
    if (r->fds.size() != 2) throw ProtocolError("monitor: pty reply without two descriptors");
    session::PtyAllocation a;
    a.master = std::move(r->fds[0]);
    a.slave = std::move(r->fds[1]);
    a.tty_name = r->tty_name;
    return a;
  }

 private:
  ipc::Channel& m_ch;
};

// Becomes the user, as a login does: groups, gid, uid, no capabilities, no way back.
void become_user(const session::LoginUser& u, const config::ServerConfig& cfg) {
  if (::initgroups(u.name.c_str(), u.gid) != 0) fatal("initgroups: %s", std::strerror(errno));
  if (chroot_configured(cfg.chroot_directory))
    enter_chroot(cfg.chroot_directory, u.name, u.home, u.uid);  // monitor/chroot.h
  if (::setresgid(u.gid, u.gid, u.gid) != 0) fatal("setresgid %u: %s", u.gid, std::strerror(errno));
  if (u.uid != 0) {
    if (auto r = net::drop_capability_bounding_set(); !r) fatal("%s", r.error().message.c_str());
    if (::setresuid(u.uid, u.uid, u.uid) != 0)
      fatal("setresuid %u: %s", u.uid, std::strerror(errno));
    if (auto r = net::clear_capabilities(); !r) fatal("%s", r.error().message.c_str());
    if (::setuid(0) == 0 || ::seteuid(0) == 0) fatal("privilege drop failed: could regain root");
  }
  // The process holds the session keys: the user may not attach a debugger to it.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int run() {
  ::signal(SIGPIPE, SIG_IGN);
  ::fcntl(kChannelFd, F_SETFD, FD_CLOEXEC);
  ::fcntl(kSocketFd, F_SETFD, FD_CLOEXEC);
  ipc::Channel channel{UniqueFd(kChannelFd)};
  UniqueFd sock(kSocketFd);

  LogOptions lo;
  lo.to_stderr = true;
  log_init(lo);
  ipc::UserSetup setup;
  try {
    auto m = channel.receive();
    setup = ipc::decode<ipc::UserSetup>(m.data.view());
  } catch (const std::exception& e) {
    fatal("sshd-user: no setup from the monitor (%s); it is started by sshd-session", e.what());
  }
  lo.level = LogLevel(setup.log_level);
  log_init(lo);
  // Log lines go to the monitor, which writes them where the configuration says.
  log_set_sink([&channel](LogLevel level, std::string_view line) {
    try {
      channel.send(ipc::LogLine{uint32_t(level), std::string(line)});
    } catch (...) {
    }
  });
  auto cfg = config::deserialize_config(setup.config);
  if (!cfg) fatal("bad configuration from the monitor: %s", cfg.error().message.c_str());

  session::LoginUser user{setup.user, uid_t(setup.uid), gid_t(setup.gid), setup.home, setup.shell};
  session::PeerInfo peer{setup.remote_addr, int(setup.remote_port), setup.local_addr,
                         int(setup.local_port)};
  become_user(user, *cfg);
  enter_home_directory(user.home, chroot_configured(cfg->chroot_directory));

  MonitorSigner signer(channel, setup.host_key_algorithms, setup.host_key_blobs);
  net::TransportConfig tc;
  tc.role = net::Role::kServer;
  tc.version = std::string("SSH-2.0-postern_") + POSTERN_VERSION;
  if (!cfg->version_addendum.empty()) tc.version += " " + cfg->version_addendum;
  tc.kex_algorithms = split_list(cfg->kex_algorithms);
  tc.host_key_algorithms = split_list(cfg->host_key_algorithms);
  tc.ciphers = split_list(cfg->ciphers);
  tc.macs = split_list(cfg->macs);
  tc.rekey_bytes = uint64_t(cfg->rekey_limit_bytes);
  tc.rekey_seconds = uint64_t(cfg->rekey_limit_seconds);
  tc.server_sig_algs = split_list(cfg->pubkey_accepted_algorithms);
  tc.host_key_signer = &signer;
  tc.choose_dh_group = [&channel](uint32_t min, uint32_t n, uint32_t max) -> Result<net::DhGroup> {
    auto r = channel.call(ipc::ModuliRequest{min, n, max});
    if (!r) return Unexpected(r.error());
    return net::DhGroup{std::move(r->p), std::move(r->g)};
  };
  net::TransportState state{std::move(setup.transport_state)};
  auto transport = net::Transport::import_state(tc, state);
  state.bytes.clear();

  session::SessionOptions opts;
  opts.accept_env = cfg->accept_env;
  for (const auto& s : cfg->subsystems) opts.subsystems.emplace_back(s.name, s.command);
  opts.force_command = cfg->force_command;
  opts.permit_tty = cfg->permit_tty;
  opts.print_motd = cfg->print_motd;
  opts.max_sessions = unsigned(std::max(0, cfg->max_sessions));
  for (const auto& e : cfg->set_env) {
    size_t eq = e.find('=');
    if (eq != std::string::npos) opts.set_env.emplace_back(e.substr(0, eq), e.substr(eq + 1));
  }
  session::ForwardPolicy& fw = opts.forward;
  fw.allow_tcp = cfg->allow_tcp_forwarding;
  fw.allow_streamlocal = cfg->allow_stream_local_forwarding;
  fw.allow_agent = cfg->allow_agent_forwarding;
  fw.disable_all = cfg->disable_forwarding;
  fw.permit_open = cfg->permit_open;
  fw.permit_listen = cfg->permit_listen;
  fw.gateway_ports = cfg->gateway_ports;
  fw.stream_local_bind_mask = unsigned(cfg->stream_local_bind_mask);
  fw.stream_local_bind_unlink = cfg->stream_local_bind_unlink;
  opts.client_alive_interval = unsigned(std::max(0, cfg->client_alive_interval));
  opts.client_alive_count_max = unsigned(std::max(0, cfg->client_alive_count_max));
  opts.unused_connection_timeout = unsigned(std::max(0, cfg->unused_connection_timeout));
  opts.channel_timeouts = cfg->channel_timeout;
  opts.x11_forwarding = cfg->x11_forwarding;
  opts.x11_display_offset = unsigned(std::max(0, cfg->x11_display_offset));
  opts.x11_use_localhost = cfg->x11_use_localhost;
  if (!cfg->xauth_location.empty()) opts.xauth_location = cfg->xauth_location;
  MonitorPrivilegedOps ops(channel);
  return session::run_connection(*transport, sock.get(), user, peer, opts, ops);
}

}  // namespace
}  // namespace postern::monitor

int main() {
  try {
    return postern::monitor::run();
  } catch (const std::exception& e) {
    postern::fatal("sshd-user: %s", e.what());
  }
}
