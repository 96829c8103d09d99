#include "session/x11_forward.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "session/child_process.h"

namespace postern::session {

Result<ForwardListener> listen_x11(unsigned offset, bool localhost, unsigned& display) {
  for (unsigned n = offset; n < offset + kX11MaxDisplays && kX11BasePort + n <= 65535; ++n) {
    auto l = listen_tcp(localhost ? "127.0.0.1" : "", kX11BasePort + n);
    if (!l) continue;
    display = n;
    return l;
  }
  return Unexpected(std::string("Failed to allocate internet-domain X11 display socket."));
}

Result<void> run_xauth(const std::string& xauth, const std::string& auth_display,
                       const std::string& proto, const std::string& cookie,
                       const std::string& home) {
  ChildSpec spec;
  spec.path = xauth;
  spec.argv = {xauth, "-q", "-"};
  spec.env = {"HOME=" + home, "PATH=/usr/bin:/bin"};
  spec.cwd = home;
  auto child = spawn_child(spec);
  if (!child) return Unexpected(child.error());
  std::string commands =
      "remove " + auth_display + "\n" + "add " + auth_display + " " + proto + " " + cookie + "\n";
  // A few hundred bytes: the pipe takes them at once, non-blocking or not.
  ssize_t w = ::write(child->stdin_fd.get(), commands.data(), commands.size());
  child->stdin_fd.reset();
  int status = 0;
  while (::waitpid(child->pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (w != ssize_t(commands.size())) return Unexpected(std::string("xauth: short write"));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return Unexpected(std::string("xauth failed"));
  return {};
}

}  // namespace postern::session
