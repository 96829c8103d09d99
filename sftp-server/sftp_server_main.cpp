// sftp-server: the SFTP subsystem as a program (sftp-server(8)), speaking to the client on
// stdin and stdout. sshd runs it for "Subsystem sftp /usr/libexec/postern/sftp-server".
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/log.h"
#include "sftp-server/fd_loop.h"
#include "sftp-server/options.h"
#include "sftp-server/server.h"

using namespace postern;

namespace {

[[noreturn]] void usage(const std::string& why) {
  if (!why.empty()) fprintf(stderr, "sftp-server: %s\n", why.c_str());
  fputs(sftp::usage_text(), stderr);
  exit(1);
}

// SSH_CONNECTION is "client-address client-port server-address server-port" (ssh(1)).
std::string client_address() {
  const char* c = getenv("SSH_CONNECTION");
  if (!c || !*c) return "UNKNOWN";
  std::string s = c;
  return s.substr(0, s.find(' '));
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  Result<sftp::CommandLine> parsed = sftp::parse_command_line(args);
  if (!parsed) usage(parsed.error().message);
  sftp::CommandLine& cl = *parsed;
  if (cl.help) usage("");
  if (cl.query) {
    if (*cl.query != "requests") {
      fprintf(stderr, "Invalid query type\n");
      return 1;
    }
    for (std::string_view name : sftp::request_names())
      printf("%.*s\n", int(name.size()), name.data());
    return 0;
  }

  LogOptions lo;
  lo.ident = "sftp-server";
  lo.level = cl.log_level;
  lo.facility = cl.log_facility;
  lo.to_stderr = cl.log_stderr;
  log_init(lo);

  struct passwd* pw = getpwuid(getuid());
  if (!pw) fatal("No user found for uid %lu", (unsigned long)getuid());
  cl.options.user = pw->pw_name;
  cl.options.home = pw->pw_dir;
  cl.options.client_address = client_address();
  if (!cl.start_directory_template.empty()) {
    Result<std::string> dir =
        sftp::expand_start_directory(cl.start_directory_template, cl.options.user, cl.options.home);
    if (!dir)
      fatal("-d \"%s\": %s", cl.start_directory_template.c_str(), dir.error().message.c_str());
    cl.options.start_directory = *dir;
  }
  // A client that goes away must end us through write(2)'s EPIPE, not a signal.
  signal(SIGPIPE, SIG_IGN);

  int rc;
  {
    sftp::Server server(cl.options);
    // Keep the process's idea of "." in step with the server's, for anything that looks.
    if (chdir(server.cwd().c_str()) != 0) {
    }
    rc = sftp::run_fd_loop(server, STDIN_FILENO, STDOUT_FILENO);
  }
  return rc;
}
