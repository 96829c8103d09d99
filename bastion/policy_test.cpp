#include "bastion/policy.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "bastion/test_files.h"

namespace postern::bastion {
namespace {

using testing::read_testdata;
using Strings = std::vector<std::string>;

Result<Policy> parse_example() {
  return parse_policy(read_testdata("bastion.toml"), "bastion.toml",
                      read_testdata("templates.json"), "templates.json");
}

// ---- the example files, as they stand, mean what their comments say ----

TEST(PolicyExample, Settings) {
  auto p = parse_example();
  ASSERT_TRUE(p) << p.error().message;
  const Settings& s = p->bastion;
  EXPECT_EQ(p->path, "bastion.toml");
  EXPECT_EQ(s.ca_key, "/etc/postern/bastion_ca");
  EXPECT_EQ(s.templates, "/etc/postern/templates.json");
  EXPECT_EQ(s.known_hosts, "/etc/postern/known_hosts");
  EXPECT_EQ(s.host_key_policy, HostKeyPolicy::kStrict);
  EXPECT_EQ(s.recordings, "/var/lib/postern/recordings");
  EXPECT_EQ(s.audit_log, "/var/log/postern/audit.jsonl");
  EXPECT_EQ(s.proxy_listen, Strings{"127.0.0.1:1080"});
  EXPECT_EQ(s.certificate_validity, 300u);  // "5m"
  EXPECT_EQ(s.record, (Strings{"shell", "exec"}));
  // Ours, not in the example: the defaults.
  EXPECT_EQ(s.serial_file, "/var/lib/postern/ca_serial");
  EXPECT_EQ(s.audit_database, "");  // SQLite beside audit_log
  EXPECT_EQ(s.connect_timeout, 10u);
  EXPECT_FALSE(s.record_input);
  EXPECT_EQ(s.record_max_bytes, 64ull << 20);
  EXPECT_FALSE(s.record_failure_allow);  // fail closed
  EXPECT_EQ(s.extender_sockets, "/run/postern/extenders");
}

TEST(PolicyExample, UsersTargetsExtenders) {
  auto p = parse_example();
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->users.size(), 2u);
  const PolicyUser* alice = p->find_user("alice");
  ASSERT_NE(alice, nullptr);
  ASSERT_EQ(alice->keys.size(), 1u);
  EXPECT_EQ(alice->keys[0].rfind("ssh-ed25519 ", 0), 0u);
  const PolicyUser* robot = p->find_user("ci-robot");
  ASSERT_NE(robot, nullptr);
  EXPECT_EQ(robot->keys[0].rfind("from=\"10.9.0.0/16\" ", 0), 0u);
  EXPECT_EQ(p->find_user("bob"), nullptr);

  ASSERT_EQ(p->targets.size(), 2u);
  const Target* web1 = p->find_target("web1");
  ASSERT_NE(web1, nullptr);
  EXPECT_EQ(web1->address, "10.1.0.5");
  EXPECT_EQ(web1->port, 22);
  EXPECT_EQ(web1->users, (Strings{"deploy", "root"}));
  EXPECT_EQ(web1->tags, (Strings{"prod", "web"}));
  EXPECT_EQ(web1->via, "");
  const Target* db1 = p->find_target("db1");
  ASSERT_NE(db1, nullptr);
  EXPECT_EQ(db1->address, "db1.internal.example");
  EXPECT_EQ(db1->port, 2222);
  EXPECT_EQ(db1->users, Strings{"postgres"});
  EXPECT_EQ(db1->tags, (Strings{"prod", "db"}));
  EXPECT_EQ(db1->via, "dc2");

  ASSERT_EQ(p->extenders.size(), 1u);
  EXPECT_EQ(p->extenders[0].name, "dc2");
  EXPECT_EQ(p->extenders[0].keys.size(), 1u);
}

TEST(PolicyExample, Roles) {
  auto p = parse_example();
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->roles.size(), 2u);
  const Role* ops = p->find_role("web-ops");
  ASSERT_NE(ops, nullptr);
  EXPECT_EQ(ops->members, (Strings{"alice", "group:wheel"}));
  EXPECT_EQ(ops->targets, (Strings{"web1", "tag:db"}));
  EXPECT_EQ(ops->target_users, Strings{"deploy"});
  EXPECT_EQ(ops->channels, (Strings{"shell", "exec", "sftp", "scp", "direct-tcpip"}));
  EXPECT_EQ(ops->credential, Credential::kCertificate);
  EXPECT_EQ(ops->template_name, "default-openssh-sha2");
  EXPECT_EQ(ops->source, (Strings{"0.0.0.0/0", "::/0"}));
  EXPECT_FALSE(ops->issue_certificates);
  const Role* automation = p->find_role("automation");
  ASSERT_NE(automation, nullptr);
  EXPECT_EQ(automation->members, Strings{"ci-robot"});
  EXPECT_EQ(automation->targets, Strings{"tag:web"});
  EXPECT_EQ(automation->channels, (Strings{"exec", "sftp", "scp"}));
  EXPECT_EQ(automation->source, (Strings{"0.0.0.0/0", "::/0"}));  // the default
  EXPECT_TRUE(automation->issue_certificates);
  EXPECT_EQ(p->find_role("nobody"), nullptr);
}

TEST(PolicyExample, Templates) {
  auto p = parse_example();
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->templates.size(), 3u);
  const CertTemplate* def = p->find_template("default-openssh-sha2");
  ASSERT_NE(def, nullptr);
  EXPECT_EQ(def->type, "openssh");
  EXPECT_EQ(def->service, "SSH");
  EXPECT_EQ(def->key_id, "%P@postern from %R serial %S");
  EXPECT_TRUE(def->principals.empty());  // the target user
  EXPECT_EQ(def->extensions.size(), 5u);
  EXPECT_EQ(def->rsa_signature_types, Strings{"rsa-sha2-512"});
  const CertTemplate* gh = p->find_template("GitHub Enterprise");
  ASSERT_NE(gh, nullptr);
  EXPECT_EQ(gh->extensions, Strings{"login@%H=%P"});
  EXPECT_TRUE(gh->rsa_signature_types.empty());
  // "restricted" derives from default-openssh-sha2: it gives its own key_id, principals and
  // (empty) extensions and inherits rsa_signature_types.
  const CertTemplate* r = p->find_template("restricted");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->type, "default-openssh-sha2");
  EXPECT_EQ(r->description, "No forwarding, no pty");
  EXPECT_EQ(r->key_id, "%P from %R to %H serial %S");
  EXPECT_EQ(r->principals, Strings{"%P"});
  EXPECT_TRUE(r->extensions.empty());
  EXPECT_EQ(r->rsa_signature_types, Strings{"rsa-sha2-512"});
}

// ---- durations ----

TEST(PolicyLoader, Durations) {
  struct Case {
    const char* value;  // as written in the file
    uint32_t seconds;
  } cases[] = {{"\"5m\"", 300},     {"\"90s\"", 90}, {"\"1h\"", 3600},
               {"\"1h30m\"", 5400}, {"\"45\"", 45},  {"120", 120}};
  for (const Case& c : cases) {
    std::string toml = std::string("[bastion]\ncertificate_validity = ") + c.value + "\n";
    auto p = parse_policy(toml, "b.toml", "[]", "t.json");
    ASSERT_TRUE(p) << c.value << ": " << p.error().message;
    EXPECT_EQ(p->bastion.certificate_validity, c.seconds) << c.value;
  }
}

TEST(PolicyLoader, ProxyListenWithoutPortIs1080) {
  auto p = parse_policy(
      "[bastion]\nproxy_listen = [\"127.0.0.1\", \"[::1]\", \"bastion.example:8080\"]\n", "b.toml",
      "[]", "t.json");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->bastion.proxy_listen,
            (Strings{"127.0.0.1:1080", "[::1]:1080", "bastion.example:8080"}));
}

TEST(PolicyLoader, EmptyFilesAreAnEmptyPolicy) {
  auto p = parse_policy("", "b.toml", "[]", "t.json");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_TRUE(p->roles.empty());
  EXPECT_EQ(p->bastion.certificate_validity, 300u);
}

// ---- broken files: each error names the file, the line and the key ----

// Table headers toml++'s parser checks with an internal assertion (found by the bastion_policy
// fuzzer): a typo like `[=]` aborted the monitor; now it is the file's error (bastion/toml.h).
TEST(PolicyLoader, HeadersTomlxxAssertsOnAreErrors) {
  for (const char* toml : {"[=]\n", "[.a]\n", "[\x01]\n", "[[=]]\n"}) {
    auto p = parse_policy(toml, "b.toml", "[]", "t.json");
    ASSERT_FALSE(p) << toml;
    EXPECT_NE(p.error().message.find("b.toml"), std::string::npos) << p.error().message;
  }
}

// A valid role at lines 6-12 (channels on line 12) and `extra` on line 13.
std::string role_with(const std::string& extra,
                      const std::string& channels = "channels = [\"shell\"]") {
  return "[bastion]\n"                              // 1
         "ca_key = \"/etc/postern/ca\"\n"           // 2
         "[[target]]\n"                             // 3
         "name = \"web1\"\n"                        // 4
         "address = \"10.1.0.5\"\n"                 // 5
         "[[role]]\n"                               // 6
         "name = \"r\"\n"                           // 7
         "members = [\"alice\"]\n"                  // 8
         "targets = [\"web1\"]\n"                   // 9
         "target_users = [\"deploy\"]\n"            // 10
         "template = \"default-openssh-sha2\"\n" +  // 11
         channels +
         "\n" +         // 12
         extra + "\n";  // 13
}

TEST(PolicyLoader, BrokenTomlFiles) {
  struct Case {
    const char* what;
    std::string toml;
    std::string error;  // the whole message
  } cases[] = {
      {"not TOML", "[bastion]\nca_key = /etc\n", ""},
      {"unknown key in a role", role_with("chanels = [\"shell\"]"),
       "b.toml:13: role \"r\": unknown key \"chanels\""},
      {"unknown table", "[[roles]]\nname = \"x\"\n", "b.toml:1: unknown table or key \"roles\""},
      {"unknown key in [bastion]", "[bastion]\nca_kye = \"/x\"\n",
       "b.toml:2: bastion: unknown key \"ca_kye\""},
      {"[[bastion]]", "[[bastion]]\n", "b.toml:1: bastion: expected a table ([bastion])"},
      {"[role]", "[role]\nname = \"x\"\n", "b.toml:1: role: expected tables ([[role]])"},
      {"wrong type: port", "[[target]]\nname = \"t\"\naddress = \"h\"\nport = \"22\"\n",
       "b.toml:4: target \"t\": port: expected an integer"},
      {"wrong type: channels", role_with("", "channels = \"shell\""),
       "b.toml:12: role \"r\": channels: expected an array of strings"},
      {"wrong type: issue_certificates", role_with("issue_certificates = \"yes\""),
       "b.toml:13: role \"r\": issue_certificates: expected true or false"},
      {"unknown channel", role_with("", "channels = [\"shell\",\n  \"ftp\"]"),
       "b.toml:13: role \"r\": channels: unknown channel \"ftp\""},
      {"unknown template",
       role_with("").replace(role_with("").find("default-openssh-sha2"), 20,
                             "nonesuch-template123"),
       "b.toml:11: role \"r\": template: unknown template \"nonesuch-template123\" (not in "
       "t.json)"},
      {"bad duration", "[bastion]\ncertificate_validity = \"5 minutes\"\n",
       "b.toml:2: bastion: certificate_validity: not a duration: \"5 minutes\" (e.g. \"5m\")"},
      {"zero duration", "[bastion]\nconnect_timeout = \"0s\"\n",
       "b.toml:2: bastion: connect_timeout: out of range (1 to 3600 seconds)"},
      {"relative path", "[bastion]\n\nknown_hosts = \"known_hosts\"\n",
       "b.toml:3: bastion: known_hosts: not an absolute path: \"known_hosts\""},
      {"relative extender_sockets", "[bastion]\nextender_sockets = \"run/ext\"\n",
       "b.toml:2: bastion: extender_sockets: not an absolute path: \"run/ext\""},
      {"relative templates", "[bastion]\ntemplates = \"t.json\"\n",
       "b.toml:2: bastion: templates: not an absolute path: \"t.json\""},
      {"host_key_policy", "[bastion]\nhost_key_policy = \"tofu\"\n",
       "b.toml:2: bastion: host_key_policy: expected \"strict\" or \"accept-new\", not \"tofu\""},
      {"proxy_listen", "[bastion]\nproxy_listen = [\"::1\"]\n",
       "b.toml:2: bastion: proxy_listen: not address[:port]: \"::1\""},
      {"proxy_listen port", "[bastion]\nproxy_listen = [\"[::1]:65536\"]\n",
       "b.toml:2: bastion: proxy_listen: not address[:port]: \"[::1]:65536\""},
      {"record", "[bastion]\nrecord = [\"shell\", \"x11\"]\n",
       "b.toml:2: bastion: record: expected shell, exec or sftp, not \"x11\""},
      {"record_input", "[bastion]\nrecord_input = \"yes\"\n",
       "b.toml:2: bastion: record_input: expected true or false"},
      {"record_max_bytes unit", "[bastion]\nrecord_max_bytes = \"64MB\"\n",
       "b.toml:2: bastion: record_max_bytes: not a size: \"64MB\" (e.g. \"64M\")"},
      {"record_max_bytes small", "[bastion]\nrecord_max_bytes = 100\n",
       "b.toml:2: bastion: record_max_bytes: out of range (4096 bytes to 1024T)"},
      {"record_max_bytes huge", "[bastion]\nrecord_max_bytes = \"99999T\"\n",
       "b.toml:2: bastion: record_max_bytes: not a size: \"99999T\" (e.g. \"64M\")"},
      {"record_failure", "[bastion]\nrecord_failure = \"ignore\"\n",
       "b.toml:2: bastion: record_failure: expected \"refuse\" or \"allow\", not \"ignore\""},
      {"via", "[[target]]\nname = \"t\"\naddress = \"h\"\nvia = \"dc9\"\n",
       "b.toml:4: target \"t\": via: unknown extender \"dc9\""},
      {"port 0", "[[target]]\nname = \"t\"\naddress = \"h\"\nport = 0\n",
       "b.toml:4: target \"t\": port: out of range (1 to 65535)"},
      {"port 65536", "[[target]]\nname = \"t\"\naddress = \"h\"\nport = 65536\n",
       "b.toml:4: target \"t\": port: out of range (1 to 65535)"},
      {"address", "[[target]]\nname = \"t\"\naddress = \"h h\"\n",
       "b.toml:3: target \"t\": address: neither an IP address nor a host name: \"h h\""},
      {"missing address", "[[target]]\nname = \"t\"\n",
       "b.toml:1: target \"t\": missing key address"},
      {"name with %", "[[target]]\nname = \"a%b\"\naddress = \"h\"\n",
       "b.toml:2: target: name: not a valid name \"a%b\" (printable ASCII without space, '%', "
       "'@' or ':')"},
      {"name with space", "[[user]]\nname = \"a b\"\n",
       "b.toml:2: user: name: not a valid name \"a b\" (printable ASCII without space, '%', '@' "
       "or ':')"},
      {"numeric extender", "[[extender]]\nname = \"2222\"\n",
       "b.toml:2: extender \"2222\": name: an extender name may not be a number"},
      {"duplicate user", "[[user]]\nname = \"a\"\n[[user]]\nname = \"a\"\n",
       "b.toml:4: user \"a\": name: duplicate user or extender name \"a\" (also line 2)"},
      {"user named as extender", "[[extender]]\nname = \"a\"\n[[user]]\nname = \"a\"\n",
       "b.toml:4: user \"a\": name: duplicate user or extender name \"a\" (also line 2)"},
      {"duplicate extender", "[[extender]]\nname = \"e\"\n[[extender]]\nname = \"e\"\n",
       "b.toml:4: extender \"e\": name: duplicate user or extender name \"e\" (also line 2)"},
      {"duplicate target",
       "[[target]]\nname = \"t\"\naddress = \"h\"\n[[target]]\nname = \"t\"\naddress = \"h\"\n",
       "b.toml:5: target \"t\": name: duplicate target name \"t\" (also line 2)"},
      {"duplicate role", role_with("") + "[[role]]\nname = \"r\"\n",
       "b.toml:15: role \"r\": name: duplicate role name \"r\" (also line 7)"},
      {"bad key", "[[user]]\nname = \"u\"\nkeys = [\"ssh-ed25519\"]\n", ""},
      {"comment as key", "[[user]]\nname = \"u\"\nkeys = [\"# nothing\"]\n",
       "b.toml:3: user \"u\": keys: empty or a comment, not a key"},
      {"bad member", role_with("").replace(role_with("").find("\"alice\""), 7, "\"gr p\""),
       "b.toml:8: role \"r\": members: not a user name, group:NAME or \"*\": \"gr p\""},
      {"unknown target", role_with("").replace(role_with("").find("\"web1\"]"), 6, "\"web2\""),
       "b.toml:9: role \"r\": targets: unknown target \"web2\" (a [[target]] name, tag:TAG, "
       "CIDR or host glob)"},
      {"bad CIDR target",
       role_with("").replace(role_with("").find("\"web1\"]"), 6, "\"10.1.0.0/8\""),
       "b.toml:9: role \"r\": targets: not an address or CIDR block: \"10.1.0.0/8\""},
      {"credential", role_with("credential = \"password\""),
       "b.toml:13: role \"r\": credential: expected certificate, agent or key:/path, not "
       "\"password\""},
      {"credential key path", role_with("credential = \"key:id_ed25519\""),
       "b.toml:13: role \"r\": credential: not an absolute path: \"id_ed25519\""},
      {"source", role_with("source = [\"10.0.0.0/33\"]"),
       "b.toml:13: role \"r\": source: not an address list: \"10.0.0.0/33\""},
      {"missing members", "[[role]]\nname = \"r\"\n", "b.toml:1: role \"r\": missing key members"},
  };
  std::string templates = read_testdata("templates.json");
  for (const Case& c : cases) {
    auto p = parse_policy(c.toml, "b.toml", templates, "t.json");
    ASSERT_FALSE(p) << c.what;
    if (c.error.empty()) {
      EXPECT_EQ(p.error().message.rfind("b.toml:", 0), 0u) << c.what << ": " << p.error().message;
    } else {
      EXPECT_EQ(p.error().message, c.error) << c.what;
    }
  }
}

TEST(PolicyLoader, NotTomlGivesLineAndColumn) {
  auto p = parse_policy("[bastion]\nca_key = /etc\n", "b.toml", "[]", "t.json");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message.rfind("b.toml:2:10: ", 0), 0u) << p.error().message;
}

TEST(PolicyLoader, BadKeyNamesTheParserError) {
  auto p =
      parse_policy("[[user]]\nname = \"u\"\nkeys = [\"ssh-ed25519\"]\n", "b.toml", "[]", "t.json");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message.rfind("b.toml:3: user \"u\": keys: not an authorized_keys line: ", 0),
            0u)
      << p.error().message;
}

// Options and key type must parse; undecodable key data (the example's placeholders) is let
// through, as sshd lets such an authorized_keys line match nothing.
TEST(PolicyLoader, UserKeys) {
  struct Case {
    std::string key;
    bool accepted;
    std::string error;  // part of the parser's message
  } cases[] = {
      {"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleExample u@h", true, ""},
      {"from=\\\"10.9.0.0/16\\\",no-pty ssh-ed25519 AAAAC3Nz u@h", true, ""},
      {"command=\\\"echo a b\\\" ssh-rsa AAAAB3NzaC1yc2E", true, ""},
      {"frm=\\\"10.9.0.0/16\\\" ssh-ed25519 AAAAC3Nz u@h", false, "frm"},
      {"ssh-ed2551 AAAAC3Nz u@h", false, "ssh-ed2551"},
      {"ssh-ed25519", false, "missing key data"},
      {"from=\\\"x ssh-ed25519 AAAAC3Nz", false, "missing end quote in options"},
  };
  for (const Case& c : cases) {
    auto p = parse_policy("[[user]]\nname = \"u\"\nkeys = [\"" + c.key + "\"]\n", "b.toml", "[]",
                          "t.json");
    if (c.accepted) {
      EXPECT_TRUE(p) << c.key << ": " << p.error().message;
      continue;
    }
    ASSERT_FALSE(p) << c.key;
    const std::string& msg = p.error().message;
    EXPECT_EQ(msg.rfind("b.toml:3: user \"u\": keys: not an authorized_keys line: ", 0), 0u) << msg;
    EXPECT_NE(msg.find(c.error), std::string::npos) << msg;
  }
}

TEST(PolicyLoader, UserTotp) {
  auto ok = parse_policy("[[user]]\nname = \"u\"\ntotp = \"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\"\n",
                         "b.toml", "[]", "t.json");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->find_user("u")->totp, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
  auto none = parse_policy("[[user]]\nname = \"u\"\n", "b.toml", "[]", "t.json");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->find_user("u")->totp, "");
  struct {
    const char* value;
    const char* error;
  } bad[] = {{"\"GEZDGNBV1\"", "b.toml:3: user \"u\": totp: not base32 (A-Z, 2-7)"},
             {"\"MZXW6YTB\"", "b.toml:3: user \"u\": totp: the secret must be 10 to 64 bytes"},
             {"42", "b.toml:3: user \"u\": totp: "}};
  for (const auto& b : bad) {
    auto p = parse_policy(std::string("[[user]]\nname = \"u\"\ntotp = ") + b.value + "\n", "b.toml",
                          "[]", "t.json");
    ASSERT_FALSE(p) << b.value;
    EXPECT_EQ(p.error().message.rfind(b.error, 0), 0u) << p.error().message;
  }
}

TEST(PolicyLoader, OptionalAndOurKeys) {
  auto p = parse_policy(
      "[bastion]\nhost_key_policy = \"accept-new\"\nserial_file = \"/s\"\nconnect_timeout = "
      "\"1m\"\nproxy_listen = [\"[::1]:1080\", \"localhost:1081\"]\nrecord = []\n"
      "record_input = true\nrecord_max_bytes = \"5M\"\nrecord_failure = \"allow\"\n"
      "extender_sockets = \"/run/ext\"\n"
      "[[role]]\nname = \"r\"\nmembers = [\"*\"]\ntargets = [\"10.0.0.0/8\", \"*.lab.example\"]\n"
      "target_users = [\"*\"]\nchannels = [\"direct-tcpip\"]\ncredential = \"key:/k\"\n"
      "source = []\n",
      "b.toml", "[]", "t.json");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->bastion.host_key_policy, HostKeyPolicy::kAcceptNew);
  EXPECT_EQ(p->bastion.serial_file, "/s");
  EXPECT_EQ(p->bastion.connect_timeout, 60u);
  EXPECT_EQ(p->bastion.proxy_listen, (Strings{"[::1]:1080", "localhost:1081"}));
  EXPECT_TRUE(p->bastion.record.empty());
  EXPECT_TRUE(p->bastion.record_input);
  EXPECT_EQ(p->bastion.record_max_bytes, 5ull << 20);
  EXPECT_TRUE(p->bastion.record_failure_allow);
  EXPECT_EQ(p->bastion.extender_sockets, "/run/ext");
  const Role& r = p->roles.at(0);
  EXPECT_EQ(r.credential, Credential::kKey);
  EXPECT_EQ(r.key_path, "/k");
  EXPECT_TRUE(r.template_name.empty());  // not needed for a stored key
  EXPECT_TRUE(r.source.empty());
}

TEST(PolicyLoader, AuditDatabase) {
  auto parse = [](const std::string& value) {
    return parse_policy("[bastion]\naudit_database = \"" + value + "\"\n", "b.toml", "[]",
                        "t.json");
  };
  EXPECT_EQ(parse_policy("", "b.toml", "[]", "t.json")->bastion.audit_database, "");
  for (const char* ok : {"sqlite:/var/lib/postern/index.db", "postgresql://u@/audit?host=/run",
                         "postgres://h/db", "off"}) {
    auto p = parse(ok);
    ASSERT_TRUE(p) << ok << ": " << p.error().message;
    EXPECT_EQ(p->bastion.audit_database, ok);
  }
  auto relative = parse("sqlite:index.db");
  ASSERT_FALSE(relative);
  EXPECT_EQ(relative.error().message,
            "b.toml:2: bastion: audit_database: not an absolute path: \"index.db\"");
  auto other = parse("mysql://h/db");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().message,
            "b.toml:2: bastion: audit_database: expected \"sqlite:/path\", "
            "\"postgresql://...\" or \"off\", not \"mysql://h/db\"");
}

// ---- templates.json ----

TEST(TemplatesLoader, BrokenTemplateFiles) {
  struct Case {
    const char* what;
    std::string json;
    std::string error;
  } cases[] = {
      {"not JSON", "[\n  {\"name\": }\n]",
       "t.json:2:12: syntax error while parsing value - "
       "unexpected '}'; expected '[', '{', or a literal"},
      {"not an array", "{}", "t.json:1: expected a JSON array of template objects"},
      {"element not an object", "[1]", "t.json: element 1 is not an object"},
      {"unknown field",
       "[\n {\n  \"name\": \"a\", \"type\": \"openssh\",\n  \"key_id\": \"k\", \"principals\": [],"
       "\n  \"extensions\": [],\n  \"colour\": \"red\"\n }\n]",
       "t.json:6: template \"a\": colour: unknown field \"colour\""},
      {"cyclic type",
       "[\n {\"name\": \"a\", \"type\": \"b\"},\n {\"name\": \"b\",\n  \"type\": \"a\"}\n]",
       "t.json:2: template \"a\": type: derivation cycle \"a\" -> \"b\" -> \"a\""},
      {"self type", "[\n {\"name\": \"a\",\n  \"type\": \"a\"}\n]",
       "t.json:3: template \"a\": type: derivation cycle \"a\" -> \"a\""},
      {"unknown type", "[\n {\"name\": \"a\",\n  \"type\": \"x509\"}\n]",
       "t.json:3: template \"a\": type: not \"openssh\" nor a template name: \"x509\""},
      {"missing type", "[\n {\"name\": \"a\"}\n]", "t.json:2: template \"a\": missing field type"},
      {"missing key_id of a root", "[\n {\"name\": \"a\", \"type\": \"openssh\"}\n]",
       "t.json:2: template \"a\": missing field key_id"},
      {"bad token",
       "[{\"name\": \"a\", \"type\": \"openssh\", \"key_id\": \"%u\", \"principals\": [], "
       "\"extensions\": []}]",
       "t.json:1: template \"a\": key_id: unknown token \"%u\" (allowed: %H %R %S %P %%)"},
      {"trailing %",
       "[{\"name\": \"a\", \"type\": \"openssh\", \"key_id\": \"k\", \"principals\": [\"%\"], "
       "\"extensions\": []}]",
       "t.json:1: template \"a\": principals: unknown token \"%\" (allowed: %H %R %S %P %%)"},
      {"bad rsa type",
       "[{\"name\": \"a\", \"type\": \"openssh\", \"key_id\": \"k\", \"principals\": [], "
       "\"extensions\": [],\n \"rsa_signature_types\": [\"rsa-sha1\"]}]",
       "t.json:2: template \"a\": rsa_signature_types: unknown signature type \"rsa-sha1\""},
      {"wrong type", "[{\"name\": \"a\", \"type\": \"openssh\", \"key_id\": 5}]",
       "t.json:1: template \"a\": key_id: expected a string"},
      {"service", "[{\"name\": \"a\", \"type\": \"b\", \"service\": \"RDP\"}]",
       "t.json:1: template \"a\": service: unsupported service \"RDP\" (only \"SSH\")"},
      {"duplicate name",
       "[{\"name\": \"a\", \"type\": \"b\"},\n{\"name\": \"a\", \"type\": \"b\"}]",
       "t.json:2: template \"a\": name: duplicate template name (also line 1)"},
      {"duplicate field", "[{\"name\": \"a\",\n \"name\": \"b\", \"type\": \"b\"}]",
       "t.json:2: field \"name\" given twice"},
      // Found by the bastion_policy fuzzer: an out-of-range number is no syntax error to
      // nlohmann-json (out_of_range, not parse_error) and ended the listener.
      {"number out of range", "[\n 5054533381e044946715\n]",
       "t.json:3: number overflow parsing '5054533381e044946715'"},  // where the parser stopped
  };
  for (const Case& c : cases) {
    auto p = parse_policy("", "b.toml", c.json, "t.json");
    ASSERT_FALSE(p) << c.what;
    EXPECT_EQ(p.error().message, c.error) << c.what;
  }
}

TEST(TemplatesLoader, DerivationChainAndOverride) {
  auto p = parse_policy("", "b.toml",
                        R"([
  {"name": "c", "type": "b", "principals": ["ops"]},
  {"name": "b", "type": "a", "extensions": []},
  {"name": "a", "type": "openssh", "key_id": "%P", "principals": [], "description": "base",
   "extensions": ["permit-pty"], "rsa_signature_types": ["rsa-sha2-256"]}
])",
                        "t.json");
  ASSERT_TRUE(p) << p.error().message;
  const CertTemplate* c = p->find_template("c");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->type, "b");
  EXPECT_EQ(c->description, "base");
  EXPECT_EQ(c->key_id, "%P");
  EXPECT_EQ(c->principals, Strings{"ops"});
  EXPECT_TRUE(c->extensions.empty());  // b's [] replaces a's list
  EXPECT_EQ(c->rsa_signature_types, Strings{"rsa-sha2-256"});
}

TEST(TemplatesLoader, LongChainIsRefused) {
  std::string json =
      "[{\"name\": \"t0\", \"type\": \"openssh\", \"key_id\": \"k\", "
      "\"principals\": [], \"extensions\": []}";
  for (int i = 1; i <= 20; ++i)
    json += ",\n{\"name\": \"t" + std::to_string(i) + "\", \"type\": \"t" + std::to_string(i - 1) +
            "\"}";
  json += "]";
  auto p = parse_policy("", "b.toml", json, "t.json");
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("type: derivation chain longer than 16"), std::string::npos)
      << p.error().message;
}

// ---- reading the files ----

class PolicyFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/bastion_policy_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    m_dir = tmpl;
  }
  void TearDown() override {
    for (const auto& f : m_files) unlink(f.c_str());
    rmdir(m_dir.c_str());
  }
  std::string write(const std::string& name, const std::string& text) {
    std::string path = m_dir + "/" + name;
    std::ofstream(path) << text;
    m_files.push_back(path);
    return path;
  }
  std::string m_dir;
  std::vector<std::string> m_files;
};

TEST_F(PolicyFiles, LoadsTheTemplatesTheTomlNames) {
  std::string t = write("templates.json", read_testdata("templates.json"));
  std::string toml = read_testdata("bastion.toml");
  toml.replace(toml.find("/etc/postern/templates.json"), 27, t);
  std::string b = write("bastion.toml", toml);
  auto text = read_policy_files(b);
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_EQ(text->toml_path, b);
  EXPECT_EQ(text->templates_path, t);
  EXPECT_EQ(text->templates, read_testdata("templates.json"));
  auto p = load_policy(b);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->templates.size(), 3u);
  EXPECT_EQ(p->bastion.templates, t);
}

TEST_F(PolicyFiles, Errors) {
  std::string missing = m_dir + "/nonesuch.toml";
  auto r = read_policy_files(missing);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, missing + ": No such file or directory");

  EXPECT_EQ(read_policy_files(m_dir).error().message, m_dir + ": not a regular file");

  std::string relative = write("relative.toml", "[bastion]\ntemplates = \"templates.json\"\n");
  EXPECT_EQ(read_policy_files(relative).error().message,
            relative + ":2: bastion: templates: not an absolute path: \"templates.json\"");

  std::string big = write("big.toml", std::string(4 * 1024 * 1024 + 1, '#'));
  EXPECT_EQ(read_policy_files(big).error().message, big + ": larger than 4194304 bytes");

  std::string no_templates =
      write("nt.toml", "[bastion]\ntemplates = \"" + m_dir + "/none.json\"\n");
  EXPECT_EQ(read_policy_files(no_templates).error().message,
            m_dir + "/none.json: No such file or directory");
}

}  // namespace
}  // namespace postern::bastion
