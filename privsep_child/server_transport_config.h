// The server transport's settings in a child of the monitor, from the effective configuration:
// host key signatures and group-exchange groups (the moduli file) come from the monitor.
#pragma once

#include "common/config/server_config.h"
#include "common/ipc.h"
#include "net/host_key_signer.h"
#include "net/transport.h"

namespace postern::privsep_child {

net::TransportConfig server_transport_config(const config::ServerConfig& cfg,
                                             net::HostKeySigner& signer, ipc::Channel& monitor);

}  // namespace postern::privsep_child
