#include "bastion/shared_library.h"

#include <gtest/gtest.h>

#include "bastion/libpq_api.h"
#include "bastion/sqlite_api.h"

namespace postern::bastion {
namespace {

TEST(SharedLibrary, AMissingLibraryIsAnErrorNamingIt) {
  auto lib = SharedLibrary::open("libpostern-no-such-library.so.9");
  ASSERT_FALSE(lib);
  EXPECT_NE(lib.error().message.find("cannot load libpostern-no-such-library.so.9"),
            std::string::npos)
      << lib.error().message;
}

TEST(SharedLibrary, AMissingSymbolIsNamedAndTheFoundOnesAreBound) {
  auto lib = SharedLibrary::open("libsqlite3.so.0");
  ASSERT_TRUE(lib) << lib.error().message;
  const char* (*version)() = nullptr;
  int (*nothing)() = nullptr;
  lib->bind("sqlite3_libversion", version);
  EXPECT_EQ(lib->missing(), "");
  lib->bind("sqlite3_no_such_function", nothing);
  lib->bind("sqlite3_another_missing_one", nothing);
  EXPECT_EQ(lib->missing(), "libsqlite3.so.0 has no sqlite3_no_such_function");
  ASSERT_NE(version, nullptr);
  EXPECT_EQ(std::string(version()).substr(0, 2), "3.");
}

TEST(SharedLibrary, TheIndexApisLoadOnceWithEveryFunction) {
  auto sq = sqlite();
  ASSERT_TRUE(sq) << sq.error().message;
  EXPECT_EQ(*sqlite(), *sq);  // the same table again
  EXPECT_NE((*sq)->column_bytes, nullptr);
  auto pq = libpq();
  ASSERT_TRUE(pq) << pq.error().message;
  EXPECT_NE((*pq)->getlength, nullptr);
  // A connection that cannot be made is an answer from the library, not a crash.
  PGconn* conn = (*pq)->connectdb("host=/nonexistent-postern-socket-dir dbname=x");
  ASSERT_NE(conn, nullptr);
  EXPECT_NE((*pq)->status(conn), CONNECTION_OK);
  (*pq)->finish(conn);
}

}  // namespace
}  // namespace postern::bastion
