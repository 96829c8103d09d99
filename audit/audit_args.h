// postern-audit's command line (man/postern-audit.1).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "audit/asciicast_play.h"
#include "audit/audit_sessions.h"
#include "common/result.h"

namespace postern::audit {

enum class Subcommand { kVerify, kSessions, kShow, kPlay, kExport, kReindex, kHelp };

struct AuditArgs {
  Subcommand command = Subcommand::kHelp;
  std::vector<std::string> files;  // verify
  std::string policy;              // sessions, show, play, export
  std::string session;             // show, play, export
  std::optional<std::string> since;
  SessionFilter filter;  // user and target; since is parsed later against the clock
  bool json = false;
  // sessions, show, play: read the JSON audit log even when the session index is there.
  bool from_log = false;
  PlayOptions play;
  bool html = false;  // export: the one format there is, named so others can follow
};

// Parses argv (without the program name). The error is one line saying what is wrong.
Result<AuditArgs> parse_audit_args(const std::vector<std::string>& args);

inline constexpr const char* kAuditUsage =
    "usage: postern-audit verify FILE...\n"
    "       postern-audit sessions --policy FILE [--user U] [--target T] [--since TIME] [--json]\n"
    "                              [--from-log]\n"
    "       postern-audit show --policy FILE [--from-log] SESSION\n"
    "       postern-audit play --policy FILE [--speed N] [--no-wait] [--from-log] SESSION\n"
    "       postern-audit export --html --policy FILE SESSION > page.html\n"
    "       postern-audit reindex --policy FILE\n";

}  // namespace postern::audit
