#include "audit/audit_args.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace postern::audit {

Result<AuditArgs> parse_audit_args(const std::vector<std::string>& args) {
  AuditArgs a;
  if (args.empty()) return Unexpected("no command given");
  const std::string& cmd = args[0];
  if (cmd == "verify")
    a.command = Subcommand::kVerify;
  else if (cmd == "sessions")
    a.command = Subcommand::kSessions;
  else if (cmd == "show")
    a.command = Subcommand::kShow;
  else if (cmd == "play")
    a.command = Subcommand::kPlay;
  else if (cmd == "export")
    a.command = Subcommand::kExport;
  else if (cmd == "reindex")
    a.command = Subcommand::kReindex;
  else if (cmd == "help" || cmd == "-h" || cmd == "--help")
    return a;
  else
    return Unexpected("unknown command \"" + cmd + "\"");

  std::vector<std::string> operands;
  bool options_done = false;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& arg = args[i];
    auto value = [&](const char* name) -> Result<std::string> {
      if (i + 1 >= args.size()) return Unexpected(std::string(name) + " needs a value");
      return args[++i];
    };
    auto allowed = [&](std::initializer_list<Subcommand> in) {
      for (Subcommand s : in)
        if (s == a.command) return true;
      return false;
    };
    if (options_done || arg.empty() || arg[0] != '-' || arg == "-") {
      operands.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    bool known = true;
    if (arg == "--policy" && allowed({Subcommand::kSessions, Subcommand::kShow, Subcommand::kPlay,
                                      Subcommand::kExport, Subcommand::kReindex})) {
      auto v = value("--policy");
      if (!v) return Unexpected(v.error());
      a.policy = *v;
    } else if (arg == "--user" && allowed({Subcommand::kSessions})) {
      auto v = value("--user");
      if (!v) return Unexpected(v.error());
      a.filter.user = *v;
    } else if (arg == "--target" && allowed({Subcommand::kSessions})) {
      auto v = value("--target");
      if (!v) return Unexpected(v.error());
      a.filter.target = *v;
    } else if (arg == "--since" && allowed({Subcommand::kSessions})) {
      auto v = value("--since");
      if (!v) return Unexpected(v.error());
      a.since = *v;
    } else if (arg == "--json" && allowed({Subcommand::kSessions})) {
      a.json = true;
    } else if (arg == "--html" && allowed({Subcommand::kExport})) {
      a.html = true;
    } else if (arg == "--from-log" &&
               allowed({Subcommand::kSessions, Subcommand::kShow, Subcommand::kPlay})) {
      a.from_log = true;
    } else if (arg == "--no-wait" && allowed({Subcommand::kPlay})) {
      a.play.wait = false;
    } else if (arg == "--speed" && allowed({Subcommand::kPlay})) {
      auto v = value("--speed");
      if (!v) return Unexpected(v.error());
      char* end = nullptr;
      errno = 0;
      double speed = std::strtod(v->c_str(), &end);
      if (v->empty() || *end != '\0' || errno != 0 || !std::isfinite(speed) || speed <= 0 ||
          speed > 1000)
        return Unexpected("--speed \"" + *v + "\": not a number above 0 and at most 1000");
      a.play.speed = speed;
    } else {
      known = false;
    }
    if (!known) return Unexpected(cmd + ": unknown option \"" + arg + "\"");
  }

  if (a.command == Subcommand::kVerify) {
    if (operands.empty()) return Unexpected("verify: no FILE given");
    a.files = operands;
    return a;
  }
  if (a.command == Subcommand::kExport && !a.html)
    return Unexpected("export: a format is required (--html)");
  if (a.policy.empty()) return Unexpected(cmd + ": --policy FILE is required");
  if (a.command == Subcommand::kSessions || a.command == Subcommand::kReindex) {
    if (!operands.empty()) return Unexpected(cmd + ": unexpected \"" + operands[0] + "\"");
    return a;
  }
  if (operands.size() != 1)
    return Unexpected(cmd + (operands.empty() ? ": no SESSION given" : ": one SESSION only"));
  a.session = operands[0];
  return a;
}

}  // namespace postern::audit
