#include "privsep_child/group_list.h"

#include <grp.h>

#include "common/be_bytes.h"

namespace postern::privsep_child {
namespace {

// Linux's NGROUPS_MAX (include/uapi/linux/limits.h): setgroups(2) takes no more.
constexpr size_t kMaxGroups = 65536;

}  // namespace

std::vector<gid_t> account_groups(const std::string& user, gid_t primary) {
  std::vector<gid_t> groups(64);
  int n = int(groups.size());
  // -1 with n set to the number needed when the vector is too small; grow once to it and retry
  // (bounded: a group database that keeps growing between calls ends with what fits).
  for (int tries = 0; ::getgrouplist(user.c_str(), primary, groups.data(), &n) < 0; ++tries) {
    if (tries == 2 || size_t(n) > kMaxGroups) {
      n = int(groups.size());
      break;
    }
    groups.resize(size_t(n));
  }
  groups.resize(size_t(n));
  if (groups.empty()) groups.push_back(primary);
  return groups;
}

Bytes encode_groups(const std::vector<gid_t>& groups) {
  Bytes out(groups.size() * 4);
  for (size_t i = 0; i < groups.size(); ++i) store_be32(out.data() + 4 * i, uint32_t(groups[i]));
  return out;
}

Result<std::vector<gid_t>> decode_groups(ByteView wire) {
  if (wire.empty() || wire.size() % 4 != 0 || wire.size() / 4 > kMaxGroups)
    return Unexpected("group list of " + std::to_string(wire.size()) +
                      " bytes: expected 1 to 65536 u32s");
  std::vector<gid_t> groups;
  groups.reserve(wire.size() / 4);
  for (size_t i = 0; i < wire.size(); i += 4) groups.push_back(gid_t(load_be32(wire.data() + i)));
  return groups;
}

}  // namespace postern::privsep_child
