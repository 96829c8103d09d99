// SFTP requests (draft-ietf-secsh-filexfer-02 and OpenSSH PROTOCOL §4) as sftp-server and
// internal-sftp read them from the channel: the packet framing and every request's fields,
// executed for real against a scratch directory. Safety: the server runs read-only (-R), and a
// harness started as root first becomes nobody, so a request that slipped past -R could touch
// only what anyone may. The input is the client's byte stream, delivered in reads whose size
// the first byte chooses.
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "common/log.h"
#include "common/protocol_error.h"
#include "regress/fuzz/fuzz_input.h"
#include "sftp-server/server.h"

using namespace postern;

namespace {

std::string scratch_dir;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (geteuid() == 0 && (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 ||
                         setresuid(65534, 65534, 65534) != 0)) {
    std::abort();
  }
  char tmpl[] = "/tmp/postern-sftp-fuzz-XXXXXX";
  if (!mkdtemp(tmpl)) std::abort();
  scratch_dir = tmpl;
  std::ofstream(scratch_dir + "/file") << "some file content\n";
  mkdir((scratch_dir + "/dir").c_str(), 0755);
  std::ofstream(scratch_dir + "/dir/inner") << "x";
  symlink("file", (scratch_dir + "/link").c_str());
  log_set_level(LogLevel::kQuiet);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t step = size_t{data[0]} * 16 + 1;
  sftp::ServerOptions options;
  options.user = "nobody";
  options.home = scratch_dir;
  options.start_directory = scratch_dir;
  options.read_only = true;
  options.max_handles = 8;
  sftp::Server server(options);
  try {
    for (size_t pos = 1; pos < size; pos += step) {
      server.received_data(ByteView(data + pos, std::min(step, size - pos)));
      server.consume_output(server.output().size());
      server.process();
      server.consume_output(server.output().size());
    }
  } catch (const ProtocolError&) {
    // The caller closes the channel.
  }
  return 0;
}
