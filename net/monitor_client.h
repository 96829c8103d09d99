// What the monitor's unprivileged children (sshd-net before authentication, sshd-user after it)
// share in talking to the monitor: receiving their setup with logging routed to the monitor, the
// host key signer whose private halves stay in the monitor, and the server transport settings of
// the effective configuration (DESIGN.md).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/config/server_config.h"
#include "common/ipc.h"
#include "common/ipc_messages.h"
#include "common/log.h"
#include "net/host_key_signer.h"
#include "net/transport.h"

namespace postern::net {

// Receives the child's one setup message and from then on sends every log line to the monitor,
// which writes it where the configuration says (the children cannot reach syslog or files).
// Setup messages carry `log_level`. A missing or malformed setup is fatal.
template <typename Setup>
Setup receive_setup_from_monitor(ipc::Channel& monitor, const char* program) {
  LogOptions lo;
  lo.to_stderr = true;
  log_init(lo);
  Setup setup;
  try {
    auto m = monitor.receive();
    setup = ipc::decode<Setup>(m.data.view());
  } catch (const std::exception& e) {
    fatal("%s: no setup from the monitor (%s); it is started by sshd-session", program, e.what());
  }
  lo.level = LogLevel(setup.log_level);
  log_init(lo);
  log_set_sink([&monitor](LogLevel level, std::string_view line) {
    try {
      monitor.send(
          ipc::LogLine{uint32_t(level), std::string(line), uint32_t(log_facility_override())});
    } catch (...) {
      // The monitor is gone; nothing useful can be done with the line.
    }
  });
  return setup;
}

// The host keys as the transport sees them: public halves here, signatures from the monitor.
class MonitorHostKeySigner : public HostKeySigner {
 public:
  // Fatal unless there is one blob per algorithm.
  MonitorHostKeySigner(ipc::Channel& monitor, std::vector<std::string> algorithms,
                       std::vector<Bytes> blobs);
  std::vector<std::string> algorithms() const override { return m_algorithms; }
  Bytes public_key_blob(std::string_view algorithm) const override;
  Result<Bytes> sign(std::string_view algorithm, ByteView data) override;

 private:
  ipc::Channel& m_monitor;
  std::vector<std::string> m_algorithms;
  std::vector<Bytes> m_blobs;
};

// The server transport's settings from the effective configuration; host key signatures and
// group-exchange groups (the moduli file) come from the monitor.
TransportConfig server_transport_config(const config::ServerConfig& cfg, HostKeySigner& signer,
                                        ipc::Channel& monitor);

}  // namespace postern::net
