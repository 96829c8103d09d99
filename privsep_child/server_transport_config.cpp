#include "privsep_child/server_transport_config.h"

#include <sstream>
#include <string>
#include <vector>

#include "common/ipc_messages.h"
#include "postern_config.h"

namespace postern::privsep_child {
namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace

net::TransportConfig server_transport_config(const config::ServerConfig& cfg,
                                             net::HostKeySigner& signer, ipc::Channel& monitor) {
  net::TransportConfig tc;
  tc.role = net::Role::kServer;
  tc.version = std::string("SSH-2.0-postern_") + POSTERN_VERSION;
  if (!cfg.version_addendum.empty()) tc.version += " " + cfg.version_addendum;
  tc.kex_algorithms = split_list(cfg.kex_algorithms);
  tc.host_key_algorithms = split_list(cfg.host_key_algorithms);
  tc.ciphers = split_list(cfg.ciphers);
  tc.macs = split_list(cfg.macs);
  // Compression yes/delayed: what OpenSSH 9.2's sshd offers, "none,zlib@openssh.com" (the
  // client's order decides, RFC 4253 §7.1); no: "none" alone.
  if (cfg.compression == config::Compression::kNo)
    tc.compression = {"none"};
  else
    tc.compression = {"none", "zlib@openssh.com"};
  tc.rekey_bytes = uint64_t(cfg.rekey_limit_bytes);
  tc.rekey_seconds = uint64_t(cfg.rekey_limit_seconds);
  // server-sig-algs (RFC 8308 §3.1) lists the plain signature algorithms the server verifies,
  // whatever PubkeyAcceptedAlgorithms says, as OpenSSH 9.2's sshd does: a client picks the
  // signature algorithm for its key (and for a certificate of it) from this list, so a
  // PubkeyAcceptedAlgorithms of certificate names only must not leave it empty of RSA-SHA2.
  // The monitor applies PubkeyAcceptedAlgorithms to each request.
  tc.server_sig_algs = {"ssh-ed25519",
                        "sk-ssh-ed25519@openssh.com",
                        "ecdsa-sha2-nistp256",
                        "ecdsa-sha2-nistp384",
                        "ecdsa-sha2-nistp521",
                        "sk-ecdsa-sha2-nistp256@openssh.com",
                        "ssh-dss",
                        "ssh-rsa",
                        "rsa-sha2-256",
                        "rsa-sha2-512"};
  // OpenSSH 10.5's ML-DSA-44 hybrid is in no 9.2 list: it joins once PubkeyAcceptedAlgorithms
  // names it (or its certificate), so what a 9.2 configuration announces stays 9.2's.
  for (const auto& a : split_list(cfg.pubkey_accepted_algorithms))
    if (a == "ssh-mldsa44-ed25519@openssh.com" || a == "ssh-mldsa44-ed25519-cert-v01@openssh.com") {
      tc.server_sig_algs.push_back("ssh-mldsa44-ed25519@openssh.com");
      break;
    }
  tc.host_key_signer = &signer;
  tc.choose_dh_group = [&monitor](uint32_t min, uint32_t n, uint32_t max) -> Result<net::DhGroup> {
    auto r = monitor.call(ipc::ModuliRequest{min, n, max});
    if (!r) return Unexpected(r.error());
    return net::DhGroup{std::move(r->p), std::move(r->g)};
  };
  return tc;
}

}  // namespace postern::privsep_child
