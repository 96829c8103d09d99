// sshd(8)'s command line: -d -D -e -E -f -h -i -o -p -q -t -T -C -4 -6, and postern's -B
// (bastion mode), parsed into options the
// listener acts on. Options that are really configuration (-p, -h, -4, -6, -o) become
// "Keyword value" lines that load_server_config applies before the file, so they win.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace postern::monitor {

struct CommandLine {
  std::string config_file;                  // -f; empty: the default
  std::vector<std::string> config_options;  // -o, -p, -h, -4, -6 as config lines
  int debug = 0;                            // number of -d
  bool foreground = false;                  // -D
  bool log_stderr = false;                  // -e
  std::string log_file;                     // -E
  bool inetd = false;                       // -i
  bool quiet = false;                       // -q
  int test = 0;                             // -t: 1, -T: 2
  std::string connection_spec;              // -C
  bool rexec_disabled = false;              // -r (accepted and ignored: we always exec)
  bool bastion = false;                     // -B: bastion mode (default Port 2222)
};

// Parses argv. Errors carry OpenSSH's usage text or the bad option.
Result<CommandLine> parse_command_line(int argc, char** argv);
std::string usage_text();

}  // namespace postern::monitor
