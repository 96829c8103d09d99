#include "monitor/inetd_relay.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

namespace postern::monitor {
namespace {

std::string read_some(int fd) {
  char buf[64];
  ssize_t n = ::read(fd, buf, sizeof buf);
  return n > 0 ? std::string(buf, size_t(n)) : std::string();
}

TEST(InetdRelay, CopiesBothWaysBetweenPipesAndOneSocket) {
  int in[2], out[2];
  ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  auto sock = start_inetd_relay(in[0], out[1]);
  ASSERT_TRUE(sock) << sock.error().message;
  ::close(in[0]);
  ::close(out[1]);

  ASSERT_EQ(::write(in[1], "from client", 11), 11);
  EXPECT_EQ(read_some(sock->get()), "from client");
  ASSERT_EQ(::write(sock->get(), "from server", 11), 11);
  EXPECT_EQ(read_some(out[0]), "from server");

  // The client's EOF reaches the server side as EOF; the server closing ends the relay.
  ::close(in[1]);
  EXPECT_EQ(read_some(sock->get()), "");
  sock->reset();
  EXPECT_EQ(read_some(out[0]), "");
  ::close(out[0]);
  while (::waitpid(-1, nullptr, 0) > 0) {
  }
}

}  // namespace
}  // namespace postern::monitor
