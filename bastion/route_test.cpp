#include "bastion/route.h"

#include <gtest/gtest.h>

#include "bastion/test_files.h"

namespace postern::bastion {
namespace {

TEST(ParseRoute, Forms) {
  struct Case {
    std::string user_name;
    Route want;
  } cases[] = {
      // ../shared/BASTION.md "How people connect"
      {"deploy%web1%alice", {"deploy", "web1", 0, "", "alice"}},
      {"deploy%web1%2222%alice", {"deploy", "web1", 2222, "", "alice"}},
      {"deploy%db1%dc2%alice", {"deploy", "db1", 0, "dc2", "alice"}},
      {"deploy%10.1.0.5%alice", {"deploy", "10.1.0.5", 0, "", "alice"}},
      {"deploy%2001:db8::1%22%alice", {"deploy", "2001:db8::1", 22, "", "alice"}},
      {"root%host.lab.example%1%ci-robot", {"root", "host.lab.example", 1, "", "ci-robot"}},
      {"u%t%65535%b", {"u", "t", 65535, "", "b"}},
      {"u%t%00022%b", {"u", "t", 22, "", "b"}},
      {std::string(252, 'u') + "%t%b", {std::string(252, 'u'), "t", 0, "", "b"}},  // 256 bytes
      {"u%t%0x16%b", {"u", "t", 0, "0x16", "b"}},  // not a number: an extender name
      {std::string(84, 'u') + "%" + std::string(84, 't') + "%" + std::string(86, 'b'),
       {std::string(84, 'u'), std::string(84, 't'), 0, "", std::string(86, 'b')}},
  };
  for (const Case& c : cases) {
    auto r = parse_route(c.user_name);
    ASSERT_TRUE(r) << c.user_name << ": " << r.error().message;
    ASSERT_TRUE(r->has_value()) << c.user_name;
    const Route& got = **r;
    EXPECT_EQ(got.target_user, c.want.target_user) << c.user_name;
    EXPECT_EQ(got.target, c.want.target) << c.user_name;
    EXPECT_EQ(got.port, c.want.port) << c.user_name;
    EXPECT_EQ(got.extender, c.want.extender) << c.user_name;
    EXPECT_EQ(got.bastion_user, c.want.bastion_user) << c.user_name;
  }
}

TEST(ParseRoute, PlainUserNamesAreNoRoute) {
  for (const std::string& name :
       std::vector<std::string>{"alice", "", "deploy@web1", "a:b", std::string(300, 'a')}) {
    auto r = parse_route(name);
    ASSERT_TRUE(r) << name;
    EXPECT_FALSE(r->has_value()) << name;
  }
}

TEST(ParseRoute, Refused) {
  struct Case {
    std::string user_name;
    std::string error;
  } cases[] = {
      // An ssh_config User with "%%" sends "%", so "%%" on the wire is an empty part.
      {"%%", "user name has an empty part 1"},
      {"deploy%%alice", "user name has an empty part 2"},
      {"%web1%alice", "user name has an empty part 1"},
      {"deploy%web1%", "user name has an empty part 3"},
      {"deploy%web1%%alice", "user name has an empty part 3"},
      {"deploy%web1", "user name has too few '%'-separated parts"},
      {"a%b%c%d%e", "user name has too many '%'-separated parts"},
      {std::string(300, '%'), "user name longer than 256 bytes"},
      {std::string(200, '%'), "user name has too many '%'-separated parts"},
      {"a%" + std::string(100, '%') + "b", "user name has too many '%'-separated parts"},
      {"a%%%b", "user name has an empty part 2"},
      {"deploy%web1%0%alice", "port \"0\" out of range (1 to 65535)"},
      {"deploy%web1%65536%alice", "port \"65536\" out of range (1 to 65535)"},
      {"deploy%web1%" + std::string(40, '9') + "%alice",
       "port \"" + std::string(40, '9') + "\" out of range (1 to 65535)"},
      {"deploy%web\x01%alice", "user name holds a space or a byte outside printable ASCII"},
      {"deploy%web1%alice\n", "user name holds a space or a byte outside printable ASCII"},
      {"deploy%web1%al\x7f", "user name holds a space or a byte outside printable ASCII"},
      {"dep loy%web1%alice", "user name holds a space or a byte outside printable ASCII"},
      {"deploy%web1%al\xc3\xa9", "user name holds a space or a byte outside printable ASCII"},
      {"deploy@x%web1%alice", "target user \"deploy@x\" is not a valid name"},
      {"deploy%web1%a:b", "bastion user \"a:b\" is not a valid name"},
      {"deploy%we:b1%alice", "target \"we:b1\" is not a valid name or address"},
      {"deploy%web1%dc:2%alice", "extender \"dc:2\" is not a valid name"},
      {"u%t%" + std::string(253, 'b'), "user name longer than 256 bytes"},
  };
  const std::string forms =
      " (targetuser%target%bastionuser, targetuser%target%port%bastionuser or "
      "targetuser%target%extender%bastionuser)";
  for (const Case& c : cases) {
    auto r = parse_route(c.user_name);
    ASSERT_FALSE(r) << c.user_name;
    const std::string& msg = r.error().message;
    // The part-count messages also show the forms.
    EXPECT_TRUE(msg == c.error || msg == c.error + forms) << c.user_name << ": " << msg;
    for (char ch : msg) EXPECT_TRUE(ch >= ' ' && ch <= '~') << "unprintable in " << msg;
  }
}

Policy example_policy() {
  auto p = parse_policy(testing::read_testdata("bastion.toml"), "bastion.toml",
                        testing::read_testdata("templates.json"), "templates.json");
  EXPECT_TRUE(p) << p.error().message;
  return p ? *p : Policy{};
}

TEST(ResolveTarget, Table) {
  Policy p = example_policy();
  const Target* web1 = p.find_target("web1");
  const Target* db1 = p.find_target("db1");
  ASSERT_TRUE(web1 && db1);
  struct Case {
    std::string typed;
    int port;
    const Target* target;
    std::string name, address;
    int want_port;
  } cases[] = {
      {"web1", 0, web1, "web1", "10.1.0.5", 22},
      {"web1", 22, web1, "web1", "10.1.0.5", 22},
      {"db1", 0, db1, "db1", "db1.internal.example", 2222},
      // The address (and port) a [[target]] names is that target.
      {"10.1.0.5", 0, web1, "web1", "10.1.0.5", 22},
      {"10.1.0.5", 22, web1, "web1", "10.1.0.5", 22},
      {"db1.internal.example", 2222, db1, "db1", "db1.internal.example", 2222},
      {"DB1.Internal.Example", 0, db1, "db1", "db1.internal.example", 2222},
      {"::ffff:10.1.0.5", 0, nullptr, "::ffff:10.1.0.5", "::ffff:10.1.0.5", 22},
      // Another port of a target's host is not that target: only address patterns may allow.
      {"10.1.0.5", 80, nullptr, "10.1.0.5", "10.1.0.5", 80},
      {"web1", 2222, nullptr, "web1", "web1", 2222},
      {"db1.internal.example", 22, nullptr, "db1.internal.example", "db1.internal.example", 22},
      // Unnamed: an address literal or a plausible host name.
      {"10.2.3.4", 0, nullptr, "10.2.3.4", "10.2.3.4", 22},
      {"2001:db8::7", 443, nullptr, "2001:db8::7", "2001:db8::7", 443},
      {"host-9.lab.example", 0, nullptr, "host-9.lab.example", "host-9.lab.example", 22},
  };
  for (const Case& c : cases) {
    auto r = resolve_target(p, c.typed, c.port);
    ASSERT_TRUE(r) << c.typed << ":" << c.port;
    EXPECT_EQ(r->target, c.target) << c.typed << ":" << c.port;
    EXPECT_EQ(r->name, c.name) << c.typed;
    EXPECT_EQ(r->address, c.address) << c.typed;
    EXPECT_EQ(r->port, c.want_port) << c.typed;
  }
}

TEST(ResolveTarget, NeitherNameNorHost) {
  Policy p = example_policy();
  for (std::string typed :
       {std::string(""), std::string("web 1"), std::string("web1\n"), std::string("-oProxyCommand"),
        std::string(".x"), std::string("a_b.example"), std::string("h\x01"), std::string(254, 'a'),
        std::string("a%b"), std::string("x@y")}) {
    EXPECT_FALSE(resolve_target(p, typed, 0)) << typed;
  }
  EXPECT_FALSE(resolve_target(p, "web1", -1));
  EXPECT_FALSE(resolve_target(p, "web1", 65536));
  EXPECT_TRUE(resolve_target(p, std::string(253, 'a'), 0));
}

}  // namespace
}  // namespace postern::bastion
