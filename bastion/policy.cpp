// Policy's lookups by name; the loaders (policy_loader.cpp, templates_loader.cpp) make names
// unique, so the first match is the only one.
#include "bastion/policy.h"

#include <algorithm>

namespace postern::bastion {
namespace {

template <typename T>
const T* find_named(const std::vector<T>& items, std::string_view name) {
  auto it = std::find_if(items.begin(), items.end(), [&](const T& t) { return t.name == name; });
  return it == items.end() ? nullptr : &*it;
}

}  // namespace

const PolicyUser* Policy::find_user(std::string_view name) const {
  return find_named(users, name);
}
const Target* Policy::find_target(std::string_view name) const {
  return find_named(targets, name);
}
const Role* Policy::find_role(std::string_view name) const {
  return find_named(roles, name);
}
const CertTemplate* Policy::find_template(std::string_view name) const {
  return find_named(templates, name);
}

}  // namespace postern::bastion
