// config_dump: prints what postern makes of an sshd_config, as `sshd -T` does. Used by the
// comparison test against OpenSSH's sshd; takes the same -f, -o, -h, -C options.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/config/keywords.h"
#include "common/config/server_config.h"
#include "common/log.h"

using namespace postern::config;

int main(int argc, char** argv) {
  std::string file = "/etc/ssh/sshd_config";
  std::string spec;
  std::vector<std::string> options;
  std::vector<std::string> host_keys;
  LoadOptions load{"/etc/ssh"};
  postern::LogOptions log;
  log.to_stderr = true;  // "Deprecated option" and similar notes, as sshd -T shows them
  postern::log_init(log);
  int opt;
  bool test_only = false;
  bool round_trip = false;  // -R: also check that serialisation gives back an equal config
  // -T is implied; -t checks only; -d, -D, -e, -E are accepted and ignored so that the OpenSSH
  // regress scripts that only run `sshd -T` can drive this tool.
  while ((opt = getopt(argc, argv, "f:o:h:C:S:TtdDeE:RK")) != -1) {
    switch (opt) {
      case 'K':
        // The keyword table, one "Name<TAB>match|global" line each: man/sshd_config.5 is checked
        // against it (man/check_man.py).
        for (const auto& kw : detail::keyword_table())
          std::printf("%s\t%s\n", kw.name, (kw.flags & detail::kInMatch) ? "match" : "global");
        return 0;
      case 'f':
        file = optarg;
        break;
      case 'o':
        options.push_back(optarg);
        break;
      case 'h':
        host_keys.push_back(optarg);
        break;
      case 'C':
        spec = optarg;
        break;
      case 'S':
        load.sysconfdir = optarg;
        break;
      case 't':
        test_only = true;
        break;
      case 'R':
        round_trip = true;
        break;
      case 'T':
      case 'd':
      case 'D':
      case 'e':
      case 'E':
        break;
      default:
        fprintf(stderr, "usage: config_dump [-f file] [-o opt] [-h hostkey] [-C spec]\n");
        return 2;
    }
  }
  // -h host keys come before the file's HostKey lines, as with sshd.
  for (auto it = host_keys.rbegin(); it != host_keys.rend(); ++it)
    options.insert(options.begin(), "HostKey " + *it);
  auto cfg = load_server_config(file, options, load);
  if (!cfg) {
    fprintf(stderr, "%s\n", cfg.error().message.c_str());
    return 255;
  }
  ServerConfig c = *cfg;
  {
    auto ci = parse_connection_spec(spec);
    if (!ci) {
      fprintf(stderr, "%s\n", ci.error().message.c_str());
      return 255;
    }
    auto matched = apply_match_for_test(c, *ci);
    if (!matched) {
      fprintf(stderr, "%s\n", matched.error().message.c_str());
      return 255;
    }
    // sshd -T re-evaluates Match even without -C (an empty connection: only "Match All" holds).
    c = *matched;
  }
  if (round_trip) {
    auto back = deserialize_config(serialize_config(c));
    if (!back || !(*back == c) || dump_config(*back) != dump_config(c)) {
      fprintf(stderr, "serialisation round trip changed the configuration: %s\n",
              back ? "values differ" : back.error().message.c_str());
      return 1;
    }
  }
  if (!test_only) fputs(dump_config(c).c_str(), stdout);
  return 0;
}
