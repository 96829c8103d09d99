// A user account as the passwd database gives it: who a login becomes. The monitor finds it
// (getpwnam, AllowUsers...), reads authorized_keys as it, and hands it to the session process,
// which becomes it.
#pragma once

#include <sys/types.h>

#include <string>

namespace postern {

struct Account {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
  // Braced so that code which needs no shell (authorized_keys checks) may leave it out of an
  // aggregate initializer without -Wmissing-field-initializers.
  std::string shell{};
};

}  // namespace postern
