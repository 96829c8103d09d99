#include "session/signal_names.h"

#include <csignal>

namespace postern::session {
namespace {

struct SignalName {
  const char* name;
  int signo;
};

// RFC 4254 §6.10.
constexpr SignalName kSignals[] = {
    {"ABRT", SIGABRT}, {"ALRM", SIGALRM}, {"FPE", SIGFPE},   {"HUP", SIGHUP},   {"ILL", SIGILL},
    {"INT", SIGINT},   {"KILL", SIGKILL}, {"PIPE", SIGPIPE}, {"QUIT", SIGQUIT}, {"SEGV", SIGSEGV},
    {"TERM", SIGTERM}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2},
};

}  // namespace

int signal_from_name(std::string_view name) {
  for (const auto& s : kSignals) {
    if (name == s.name) return s.signo;
  }
  return 0;
}

std::string signal_name(int signo) {
  for (const auto& s : kSignals) {
    if (signo == s.signo) return s.name;
  }
  return "SIG@openssh.com";
}

}  // namespace postern::session
