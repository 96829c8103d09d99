// The bastion policy (bastion.toml) and its templates (templates.json): parse_policy from text,
// as each connection's monitor parses what the listener read. The input is the TOML text, a line
// "----8<----" and the JSON text. A policy that parses is asked what the monitor asks of it.
#include <cstddef>
#include <cstdint>

#include "bastion/decide.h"
#include "bastion/policy.h"
#include "bastion/route.h"
#include "regress/fuzz/fuzz_input.h"

using namespace postern;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parts = fuzz::split_text(fuzz::as_text(data, size), "\n----8<----\n", 2);
  std::string_view templates = parts.size() > 1 ? parts[1] : std::string_view{};
  auto policy = bastion::parse_policy(parts[0], "bastion.toml", templates, "templates.json");
  if (!policy) return 0;
  for (const auto& user : policy->users) {
    bastion::Subject subject{user.name, {"ops"}, "192.0.2.7"};
    (void)bastion::reachable_targets(*policy, subject);
    for (const auto& target : policy->targets) {
      auto resolved = bastion::resolve_target(*policy, target.name, 0);
      if (!resolved) continue;
      for (const auto& account : target.users) {
        auto d = bastion::decide(*policy, subject, *resolved, account, "shell");
        if (d.allowed) FUZZ_CHECK(bastion::role_for(*policy, d) != nullptr);
      }
    }
    auto address = bastion::resolve_target(*policy, "10.1.2.3", 2222);
    if (address) (void)bastion::decide(*policy, subject, *address, "root", "");
  }
  return 0;
}
