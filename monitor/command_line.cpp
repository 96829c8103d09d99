#include "monitor/command_line.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "postern_config.h"

namespace postern::monitor {

std::string usage_text() {
  return std::string("postern ") + POSTERN_VERSION +
         "\nusage: sshd [-46BDdeiqTtV] [-C connection_spec] [-c host_cert_file]\n"
         "            [-E log_file] [-f config_file] [-g login_grace_time]\n"
         "            [-h host_key_file] [-o option] [-p port] [-u len]\n";
}

Result<CommandLine> parse_command_line(int argc, char** argv) {
  CommandLine cl;
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt(argc, argv, "46BC:c:dDeE:f:Gg:h:io:p:qrtTu:V")) != -1) {
    switch (c) {
      case '4':
        cl.config_options.push_back("AddressFamily inet");
        break;
      case '6':
        cl.config_options.push_back("AddressFamily inet6");
        break;
      case 'B':
        cl.bastion = true;  // postern's bastion mode (man/postern-bastion.5)
        break;
      case 'C':
        cl.connection_spec = optarg;
        break;
      case 'c':
        cl.config_options.push_back(std::string("HostCertificate ") + optarg);
        break;
      case 'd':
        if (cl.debug < 3) ++cl.debug;
        break;
      case 'D':
        cl.foreground = true;
        break;
      case 'e':
        cl.log_stderr = true;
        break;
      case 'E':
        cl.log_file = optarg;
        break;
      case 'f':
        cl.config_file = optarg;
        break;
      case 'g':
        cl.config_options.push_back(std::string("LoginGraceTime ") + optarg);
        break;
      case 'h':
        cl.config_options.push_back(std::string("HostKey ") + optarg);
        break;
      case 'i':
        cl.inetd = true;
        break;
      case 'o':
        cl.config_options.push_back(optarg);
        break;
      case 'p': {
        char* end = nullptr;
        long port = std::strtol(optarg, &end, 10);
        if (*optarg == '\0' || *end != '\0' || port <= 0 || port > 65535)
          return Unexpected(std::string("Bad port number: ") + optarg);
        cl.config_options.push_back(std::string("Port ") + optarg);
        break;
      }
      case 'q':
        cl.quiet = true;
        break;
      case 'r':
        cl.rexec_disabled = true;
        break;
      case 't':
        cl.test = std::max(cl.test, 1);
        break;
      case 'T':
      case 'G':  // OpenSSH 10's sshd(8): print the configuration; -T here checks no keys either
        cl.test = 2;
        break;
      case 'u':
        break;  // UseDNS-era utmp host length: accepted for compatibility
      case 'V':
        return Unexpected(std::string("postern ") + POSTERN_VERSION);
      default: {
        // As glibc's getopt words it for Debian's sshd.
        std::string what = optopt != 0 && std::strchr("CcEfghop", optopt) != nullptr
                               ? "option requires an argument -- '"
                               : "invalid option -- '";
        return Unexpected("sshd: " + what + char(optopt) + "'\n" + usage_text());
      }
    }
  }
  if (optind < argc)
    return Unexpected(std::string("Extra argument ") + argv[optind] + ".\n" + usage_text());
  return cl;
}

}  // namespace postern::monitor
