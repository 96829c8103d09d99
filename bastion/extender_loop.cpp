// sshd-bastion on an extender's connection (man/postern-bastion.5 EXTENDERS): the poll loop
// around ExtenderConnection. The listening socket comes from the monitor (EXTENDER_LISTEN); a
// newer connection of the same extender ends this one with SIGTERM (monitor/extender_socket.h),
// which is told to the client before the process exits.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "bastion/bastion_loop.h"
#include "bastion/extender_connection.h"
#include "bastion/socket_write.h"
#include "common/ipc_extender_messages.h"
#include "common/log.h"
#include "session/transport_sink.h"

namespace postern::bastion {

namespace {

volatile sig_atomic_t g_replaced = 0;

void on_sigterm(int) {
  g_replaced = 1;
}

constexpr size_t kBacklogLimit = 1024 * 1024;

// The port a forward for port 0 is said to have (RFC 4254 §7.1): no TCP port is bound, the
// number only names the forward, so any in the dynamic range (RFC 6335 §6) serves.
uint32_t pick_port() {
  uint32_t r = 0;
  if (::getrandom(&r, sizeof r, 0) != sizeof r) r = uint32_t(::getpid());
  return 49152 + r % (65536 - 49152);
}

}  // namespace

void prepare_extender_signals() {
  // SIGTERM stays blocked except inside ppoll(), so it is seen there and never lost between a
  // check and the wait.
  struct sigaction sa {};
  sa.sa_handler = on_sigterm;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, nullptr);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  ::sigprocmask(SIG_BLOCK, &block, nullptr);
}

int run_extender(ipc::Channel& monitor, ClientConnection client, const ipc::BastionSetup& setup) {
  session::TransportSink sink(client.transport);
  const std::string& name = setup.bastion_user;
  auto listener = [&](const std::string& address, uint32_t port) {
    ExtenderConnection::Listening out;
    auto r = monitor.call(ipc::ExtenderListenRequest{address, port});
    if (!r) {
      out.message = r.error().message;
    } else if (r->allowed && r->fds.size() == 1) {
      out.allowed = true;
      out.fd = std::move(r->fds.front());
      ::fcntl(out.fd.get(), F_SETFL, ::fcntl(out.fd.get(), F_GETFL) | O_NONBLOCK);
      log_info("extender %s: forwarding (tcpip-forward %s port %u)", name.c_str(), address.c_str(),
               port);
    } else {
      out.message = r->message;
    }
    return out;
  };
  ExtenderConnection ext(sink, listener, pick_port());
  sigset_t wait_mask;
  ::sigprocmask(SIG_SETMASK, nullptr, &wait_mask);
  sigdelset(&wait_mask, SIGTERM);
  std::vector<pollfd> fds;
  while (true) {
    if (g_replaced) {
      log_info("extender %s: replaced by a newer connection", name.c_str());
      disconnect_client(client, DisconnectReason::kByApplication,
                        "postern: replaced by a newer connection of extender " + name);
      return ipc::kExtenderReplacedExitCode;
    }
    while (client.transport.output_backlog() < kBacklogLimit) {
      auto m = client.transport.next_message();
      if (!m) break;
      ext.from_client(*m);
    }
    write_some(client.transport, client.fd);
    timespec now_ts{};
    clock_gettime(CLOCK_MONOTONIC, &now_ts);
    uint64_t now = uint64_t(now_ts.tv_sec);
    fds.clear();
    fds.push_back({client.fd, short(POLLIN | (client.transport.has_output() ? POLLOUT : 0)), 0});
    fds.push_back({monitor.fd(), POLLIN, 0});
    ext.add_poll_fds(fds, client.transport.output_backlog());
    int seconds = client.transport.next_timeout_seconds(now);
    timespec timeout{seconds, 0};
    int rc = ::ppoll(fds.data(), fds.size(), seconds >= 0 ? &timeout : nullptr, &wait_mask);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) throw ConnectionClosed(std::string("poll: ") + strerror(errno));
    if (fds[1].revents) return 255;  // the monitor went away
    clock_gettime(CLOCK_MONOTONIC, &now_ts);
    client.transport.tick(uint64_t(now_ts.tv_sec));
    ext.handle_poll(fds.data() + 2, fds.size() - 2);
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) &&
        !net::read_into(client.transport, client.fd))
      return 0;
  }
}

}  // namespace postern::bastion
