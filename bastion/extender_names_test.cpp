// Extender socket names: a policy name may hold any printable byte but '%', '@', ':' and space,
// so the file name must never leave the directory or let two names share a socket.
#include "bastion/extender_names.h"

#include <gtest/gtest.h>

namespace postern::bastion {
namespace {

TEST(ExtenderNames, PlainNamesStayReadable) {
  EXPECT_EQ(extender_socket_path("/run/postern/extenders", "dc2"),
            "/run/postern/extenders/dc2.sock");
  EXPECT_EQ(extender_owner_path("/d", "dc-2.lab_x"), "/d/dc-2.lab_x.owner");
}

TEST(ExtenderNames, NothingClimbsOutOfTheDirectory) {
  EXPECT_EQ(extender_file_stem("../etc"), "=2e.=2fetc");
  EXPECT_EQ(extender_file_stem(".hidden"), "=2ehidden");
  EXPECT_EQ(extender_file_stem("a/b"), "a=2fb");
  EXPECT_EQ(extender_socket_path("/d", "../x").find('/', 3), std::string::npos);
}

TEST(ExtenderNames, EscapedNamesDoNotCollide) {
  // '=' itself is escaped, so "a=2fb" (the name) and "a/b" differ.
  EXPECT_NE(extender_file_stem("a=2fb"), extender_file_stem("a/b"));
  EXPECT_EQ(extender_file_stem("a=b"), "a=3db");
}

}  // namespace
}  // namespace postern::bastion
