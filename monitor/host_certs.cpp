#include "monitor/host_certs.h"

#include <algorithm>

#include "common/log.h"
#include "common/ssh_cert.h"

namespace postern::monitor {

void add_host_certificates(std::vector<HostKeyEntry>& entries,
                           const std::vector<std::shared_ptr<const PrivateKey>>& keys,
                           const std::vector<std::string>& paths) {
  std::vector<HostKeyEntry> certs;
  for (const auto& path : paths) {
    auto cert = Certificate::load_file(path);
    if (!cert) {
      log_error("Could not load host certificate \"%s\": %s", path.c_str(),
                cert.error().message.c_str());
      continue;
    }
    if (cert->cert_type() != CertType::kHost) {
      log_error("Could not load host certificate \"%s\": not a host certificate", path.c_str());
      continue;
    }
    auto owner = std::find_if(keys.begin(), keys.end(), [&](const auto& k) {
      return k->public_key().blob() == cert->key().blob();
    });
    if (owner == keys.end()) {
      log_error("No matching private key for certificate \"%s\"", path.c_str());
      continue;
    }
    for (const auto& alg : cert->algorithms()) {
      bool dup = std::any_of(certs.begin(), certs.end(),
                             [&](const HostKeyEntry& e) { return e.algorithm == alg; });
      if (!dup) certs.push_back({alg, *owner, cert->blob()});
    }
    log_debug("host certificate: %s", cert->log_description().c_str());
  }
  entries.insert(entries.begin(), certs.begin(), certs.end());
}

}  // namespace postern::monitor
