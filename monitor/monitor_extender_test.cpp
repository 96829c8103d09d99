// Extenders through the monitors (monitor_extender.cpp, extender_socket.cpp,
// extender_connect.cpp) against a real policy and real Unix sockets: only an extender's
// connection may publish its socket, and only once; the socket is root's alone; a target `via`
// the extender is reached through it with SOCKS5 and its socket passed on once the CONNECT
// succeeded; a missing extender or a SOCKS failure is a clear, audited refusal; a route naming
// the wrong extender is refused; a newer connection of the extender replaces and closes the
// older one.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "bastion/policy.h"
#include "common/ipc_bastion_messages.h"
#include "common/ipc_extender_messages.h"
#include "monitor/bastion_session.h"
#include "monitor/monitor.h"
#include "monitor/monitor_test_support.h"

namespace postern::monitor {

struct MonitorPhaseProbe {
  static void set(Monitor& m, Phase p) { m.m_phase = p; }
};

namespace {

using namespace ipc;
namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

Bytes read_exactly(int fd, size_t n) {
  Bytes out(n);
  size_t at = 0;
  while (at < n) {
    ssize_t r = ::read(fd, out.data() + at, n - at);
    if (r <= 0) return {};
    at += size_t(r);
  }
  return out;
}

// The extender's side of one stream, as OpenSSH's `ssh -R 0` answers it: SOCKS5 with no
// authentication, then (on success) the target's first bytes. Records the request it got.
struct FakeExtender {
  FakeExtender(int listening_fd, uint8_t reply_code)
      : thread([this, listening_fd, reply_code] {
          UniqueFd c(::accept(listening_fd, nullptr, nullptr));
          if (!c) return;
          if (read_exactly(c.get(), 3) != Bytes{5, 1, 0}) return;
          Bytes sel = {5, 0};
          if (::write(c.get(), sel.data(), sel.size()) != 2) return;
          Bytes head = read_exactly(c.get(), 5);  // VER CMD RSV ATYP LEN (a domain name)
          if (head.size() != 5) return;
          Bytes rest = read_exactly(c.get(), size_t(head[4]) + 2);
          request = std::string(rest.begin(), rest.end() - 2);
          port = (int(rest[rest.size() - 2]) << 8) | rest.back();
          Bytes reply = {5, reply_code, 0, 1, 127, 0, 0, 1, 0, 0};
          std::string banner = "SSH-2.0-target\r\n";
          reply.insert(reply.end(), banner.begin(), banner.end());
          if (::write(c.get(), reply.data(), reply.size()) < 0) return;
          read_exactly(c.get(), 1);  // until the monitor's side closes
        }) {}
  ~FakeExtender() { thread.join(); }
  std::string request;
  int port = 0;
  std::thread thread;
};

class MonitorExtenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/postern-mext-XXXXXX";
    dir = ::mkdtemp(tmpl);
    ASSERT_EQ(std::system(("ssh-keygen -q -t ed25519 -N '' -f " + (dir / "ca").string()).c_str()),
              0);
    std::ofstream(dir / "templates.json") << R"([{"name": "t", "description": "d",
      "service": "SSH", "type": "openssh", "key_id": "%P", "principals": [], "extensions": []}])";
    std::string d = dir.string();
    std::ofstream(dir / "bastion.toml")
        << "[bastion]\nca_key = \"" << d << "/ca\"\ntemplates = \"" << d
        << "/templates.json\"\nknown_hosts = \"" << d << "/known_hosts\"\naudit_log = \"" << d
        << "/audit.jsonl\"\nserial_file = \"" << d << "/serial\"\nrecordings = \"" << d
        << "/rec\"\nextender_sockets = \"" << d << "/run/extenders\"\nconnect_timeout = \"2s\"\n\n"
        << "[[extender]]\nname = \"dc2\"\nkeys = []\n\n"
        << "[[extender]]\nname = \"dc3\"\nkeys = []\n\n"
        << "[[target]]\nname = \"db1\"\naddress = \"db1.dc2.internal\"\nport = 5432\n"
        << "users = [\"postgres\"]\nvia = \"dc2\"\n\n"
        << "[[role]]\nname = \"dba\"\nmembers = [\"alice\"]\ntargets = [\"db1\"]\n"
        << "target_users = [\"postgres\"]\nchannels = [\"shell\", \"direct-tcpip\"]\n"
        << "template = \"t\"\n";
    auto p = bastion::load_policy((dir / "bastion.toml").string());
    ASSERT_TRUE(p) << p.error().message;
    policy = *p;
    sockets = dir / "run" / "extenders";
  }
  void TearDown() override { fs::remove_all(dir); }

  // One connection: its session, its monitor (in the bastion phase) and its child's end.
  struct Connection {
    std::unique_ptr<BastionSession> session;
    std::unique_ptr<Monitor> monitor;
    testing::FakeChild child;
  };
  std::unique_ptr<Connection> connect(const std::string& user_name) {
    auto c = std::make_unique<Connection>();
    c->session = std::make_unique<BastionSession>(policy, Endpoint{"192.0.2.1", 5555, ""});
    c->monitor = std::make_unique<Monitor>(
        config::default_server_config(), std::vector<HostKeyEntry>{},
        Endpoint{"192.0.2.1", 5555, ""}, Endpoint{"192.0.2.2", 2222, ""}, backend);
    c->monitor->set_bastion(c->session.get());
    MonitorPhaseProbe::set(*c->monitor, Phase::kBastion);
    auto user = c->session->set_user_name(user_name);
    EXPECT_TRUE(user);
    c->session->set_logged_in(*user, {});
    return c;
  }
  template <typename Req>
  Result<typename Req::Reply> call(Connection& c, Req req) {
    return c.child.call(*c.monitor, std::move(req));
  }
  std::string audit() { return read_file(dir / "audit.jsonl"); }

  fs::path dir, sockets;
  bastion::Policy policy;
  testing::TwoAccounts backend;
};

TEST_F(MonitorExtenderTest, OnlyAnExtendersConnectionPublishesItsSocketAndOnlyOnce) {
  auto user = connect("alice");
  EXPECT_THROW((void)call(*user, ExtenderListenRequest{"localhost", 0}), ProtocolError);
  auto routed = connect("postgres%db1%alice");
  EXPECT_THROW((void)call(*routed, ExtenderListenRequest{"localhost", 0}), ProtocolError);
  EXPECT_FALSE(fs::exists(sockets / "dc2.sock"));

  auto ext = connect("dc2");
  auto r = call(*ext, ExtenderListenRequest{"localhost", 0});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->allowed) << r->message;
  ASSERT_EQ(r->fds.size(), 1u);
  int listening = 0;
  socklen_t len = sizeof listening;
  ASSERT_EQ(::getsockopt(r->fds[0].get(), SOL_SOCKET, SO_ACCEPTCONN, &listening, &len), 0);
  EXPECT_EQ(listening, 1);
  struct stat st {};
  ASSERT_EQ(::stat(sockets.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((sockets / "dc2.sock").c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NE(audit().find("\"event\":\"extender_connect\""), std::string::npos) << audit();
  EXPECT_THROW((void)call(*ext, ExtenderListenRequest{"localhost", 0}), ProtocolError);
}

TEST_F(MonitorExtenderTest, AnExtendersConnectionOpensNoTargetAndGetsNoCertificate) {
  auto ext = connect("dc2");
  EXPECT_THROW((void)call(*ext, TargetOpenRequest{"db1", 5432, "", "direct-tcpip", "::1:1"}),
               ProtocolError);
  EXPECT_THROW((void)call(*ext, IssueCertRequest{"db1", 0, "postgres", Bytes{1, 2, 3}}), ProtocolError);
}

TEST_F(MonitorExtenderTest, ADirectoryOthersMayEnterIsRefused) {
  fs::create_directories(sockets);
  fs::permissions(sockets, fs::perms(0755));
  auto ext = connect("dc2");
  auto r = call(*ext, ExtenderListenRequest{"localhost", 0});
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->allowed);
  EXPECT_TRUE(r->fds.empty());
  EXPECT_NE(audit().find("only root may enter"), std::string::npos) << audit();
}

TEST_F(MonitorExtenderTest, ATargetViaAnExtenderThatIsNotConnectedIsRefusedNamingIt) {
  auto user = connect("postgres%db1%alice");
  auto r = call(*user, TargetOpenRequest{"db1", 0, "postgres", "session", ""});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->allowed);
  EXPECT_NE(r->message.find("extender dc2 is not connected"), std::string::npos) << r->message;
  EXPECT_NE(audit().find("extender dc2 is not connected"), std::string::npos) << audit();
  EXPECT_NE(audit().find("\"decision\":\"deny\""), std::string::npos) << audit();
}

TEST_F(MonitorExtenderTest, ATargetViaAConnectedExtenderGetsTheStreamAfterSocks) {
  auto ext = connect("dc2");
  auto listen = call(*ext, ExtenderListenRequest{"localhost", 0});
  ASSERT_TRUE(listen && listen->allowed && listen->fds.size() == 1);
  FakeExtender fake(listen->fds[0].get(), 0);
  auto user = connect("postgres%db1%alice");
  auto r = call(*user, TargetOpenRequest{"db1", 0, "postgres", "session", ""});
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(r->allowed) << r->message;
  ASSERT_EQ(r->fds.size(), 1u);
  // The target's bytes, and nothing of the SOCKS reply, are what the relay reads first.
  std::string banner = "SSH-2.0-target\r\n";
  Bytes got = read_exactly(r->fds[0].get(), banner.size());
  EXPECT_EQ(std::string(got.begin(), got.end()), banner);
  r->fds.clear();
  fake.thread.join();
  fake.thread = std::thread([] {});
  EXPECT_EQ(fake.request, "db1.dc2.internal");
  EXPECT_EQ(fake.port, 5432);
  EXPECT_NE(audit().find("via extender dc2"), std::string::npos) << audit();
}

TEST_F(MonitorExtenderTest, ASocksFailureIsARefusalThatSaysWhy) {
  auto ext = connect("dc2");
  auto listen = call(*ext, ExtenderListenRequest{"localhost", 0});
  ASSERT_TRUE(listen && listen->allowed && listen->fds.size() == 1);
  FakeExtender fake(listen->fds[0].get(), 5);
  auto user = connect("alice");
  auto r = call(*user, TargetOpenRequest{"db1", 0, "", "direct-tcpip", "::1:40000"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->allowed);
  EXPECT_TRUE(r->fds.empty());
  EXPECT_NE(r->message.find("extender dc2 could not connect to db1.dc2.internal port 5432: "
                            "connection refused"),
            std::string::npos)
      << r->message;
}

TEST_F(MonitorExtenderTest, ARouteNamingAnotherExtenderIsRefusedAndNothingIsContacted) {
  auto ext = connect("dc3");
  auto listen = call(*ext, ExtenderListenRequest{"localhost", 0});
  ASSERT_TRUE(listen && listen->allowed);
  auto user = connect("postgres%db1%dc3%alice");
  auto r = call(*user, TargetOpenRequest{"db1", 0, "postgres", "session", ""});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->allowed);
  EXPECT_NE(r->message.find("db1 is not reached through extender dc3"), std::string::npos)
      << r->message;
  pollfd p{listen->fds[0].get(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0);  // nobody connected to dc3
}

TEST_F(MonitorExtenderTest, ANewerConnectionReplacesAndClosesTheOlder) {
  // The older connection's sshd-bastion: a child that waits for its signal.
  pid_t older_relay = ::fork();
  ASSERT_GE(older_relay, 0);
  if (older_relay == 0) {
    ::pause();
    _exit(0);
  }
  auto older = connect("dc2");
  older->session->set_relay_pid(older_relay);
  auto first = call(*older, ExtenderListenRequest{"localhost", 0});
  ASSERT_TRUE(first && first->allowed);
  struct stat before {};
  ASSERT_EQ(::stat((sockets / "dc2.sock").c_str(), &before), 0);

  auto newer = connect("dc2");
  newer->session->set_relay_pid(::getpid());
  auto second = call(*newer, ExtenderListenRequest{"localhost", 0});
  ASSERT_TRUE(second && second->allowed);
  int status = 0;
  ASSERT_EQ(::waitpid(older_relay, &status, 0), older_relay);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
  struct stat after {};
  ASSERT_EQ(::stat((sockets / "dc2.sock").c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino);
  EXPECT_NE(audit().find("replaces the older connection (session " + older->session->id()),
            std::string::npos)
      << audit();
  // The older connection's end leaves the newer's socket alone; the newer's end removes it.
  withdraw_extender_socket(*older->session->published_extender());
  EXPECT_TRUE(fs::exists(sockets / "dc2.sock"));
  withdraw_extender_socket(*newer->session->published_extender());
  EXPECT_FALSE(fs::exists(sockets / "dc2.sock"));
  EXPECT_FALSE(fs::exists(sockets / "dc2.owner"));
}

TEST_F(MonitorExtenderTest, AReusedPidIsNeverSignalled) {
  auto older = connect("dc2");
  older->session->set_relay_pid(::getpid());
  ASSERT_TRUE(call(*older, ExtenderListenRequest{"localhost", 0}));
  // The owner file names this process with another start time: a pid reused since.
  std::ofstream(sockets / "dc2.owner") << ::getpid() << " 1 0123456789abcdef\n";
  auto newer = connect("dc2");
  newer->session->set_relay_pid(::getpid());
  auto r = call(*newer, ExtenderListenRequest{"localhost", 0});  // we are alive to see this
  ASSERT_TRUE(r && r->allowed);
  EXPECT_TRUE(newer->session->published_extender()->replaced_session.empty());
}

}  // namespace
}  // namespace postern::monitor
