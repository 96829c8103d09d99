// ssh-keysign: installed set-uid root so the ssh client can have hostbased requests signed
// with host keys the user cannot read (keysign/keysign.h describes the exchange). It opens the
// host keys, drops root for good, and then trusts nothing it reads.
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "common/log.h"
#include "keysign/keysign.h"
#include "postern_config.h"

using namespace postern;

namespace {

void drop_privileges() {
  gid_t gid = getgid();
  uid_t uid = getuid();
  if (setgroups(0, nullptr) != 0 && geteuid() == 0) fatal("setgroups: %s", strerror(errno));
  if (setresgid(gid, gid, gid) != 0) fatal("setresgid: %s", strerror(errno));
  if (setresuid(uid, uid, uid) != 0) fatal("setresuid: %s", strerror(errno));
  // Regaining root must be impossible from here on.
  if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) fatal("was able to restore root");
}

}  // namespace

int main() {
  LogOptions lo;
  lo.ident = "ssh-keysign";
  lo.to_stderr = true;
  log_init(lo);
  // Key material must never reach a core file or a debugger the user attaches.
  prctl(PR_SET_DUMPABLE, 0);

#ifdef POSTERN_KEYSIGN_TEST_DIR
  // The unit test's build: keys and ssh_config from a directory the test fills in.
  const std::string dir = POSTERN_KEYSIGN_TEST_DIR;
#else
  const std::string dir = POSTERN_SYSCONFDIR;
#endif
  std::vector<keysign::HostKey> keys = keysign::load_host_keys(
      {dir + "/ssh_host_ecdsa_key", dir + "/ssh_host_ed25519_key", dir + "/ssh_host_rsa_key"});
  drop_privileges();

  const std::string config = dir + "/ssh_config";
  if (!keysign::keysign_enabled(config)) fatal("ssh-keysign not enabled in %s", config.c_str());
  if (keys.empty()) fatal("could not open any host key");

  passwd* pw = getpwuid(getuid());
  if (!pw) fatal("getpwuid failed");
  std::string user = pw->pw_name;

  auto msg = keysign::read_message(STDIN_FILENO);
  if (!msg) fatal("%s", msg.error().message.c_str());
  auto req = keysign::parse_request(*msg);
  if (!req) fatal("%s", req.error().message.c_str());

  // The client names its connection: an inherited descriptor, not stdio. It is a socket, or a
  // pipe when the client reaches the server through ProxyCommand.
  int fd = int(req->socket_fd);
  struct stat st {};
  if (req->socket_fd > 1024 || fd <= STDERR_FILENO || fstat(fd, &st) != 0 ||
      !(S_ISSOCK(st.st_mode) || S_ISFIFO(st.st_mode)))
    fatal("bad fd = %u", req->socket_fd);
  auto host = keysign::local_host_name(fd);
  if (!host) fatal("cannot get local name for fd: %s", host.error().message.c_str());

  auto sig = keysign::sign_request(*req, keys, {*host, user});
  if (!sig) fatal("not a valid request: %s", sig.error().message.c_str());
  if (auto w = keysign::write_message(STDOUT_FILENO, keysign::encode_reply(*sig)); !w)
    fatal("%s", w.error().message.c_str());
  return 0;
}
