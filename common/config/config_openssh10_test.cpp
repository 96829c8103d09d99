// What OpenSSH 9.3-10.x added to sshd_config that postern reads (issue 17): SshdSessionPath and
// SshdAuthPath, RefuseConnection, Match criteria written key=value, Match version and
// invalid-user, Subsystem in Match blocks, no-clobber Subsystem lines and quoted subsystem
// commands.
#include <gtest/gtest.h>

#include <string>

#include "common/config/server_config.h"

namespace postern::config {
namespace {

ServerConfig parse_ok(std::string_view text) {
  auto r = parse_server_config(text, "test.conf", {}, LoadOptions{"/etc/ssh"});
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  return r ? *r : ServerConfig{};
}

std::string parse_error(std::string_view text) {
  auto r = parse_server_config(text, "test.conf", {}, LoadOptions{"/etc/ssh"});
  EXPECT_FALSE(r.has_value());
  return r ? "" : r.error().message;
}

ConnectionInfo user(std::string name) {
  ConnectionInfo ci;
  ci.user = std::move(name);
  ci.addr = "10.1.2.3";
  return ci;
}

// The lines of -T output that start with `keyword `.
std::vector<std::string> dumped(const ServerConfig& c, const std::string& keyword) {
  std::vector<std::string> out;
  std::string text = dump_config(c);
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    std::string line = text.substr(start, end - start);
    if (line.rfind(keyword + " ", 0) == 0) out.push_back(line);
    start = end + 1;
  }
  return out;
}

TEST(ConfigOpenSSH10, HelperPathsDefaultToPosternsOwnAndPrintWithOpenSSHsSpelling) {
  ServerConfig c = parse_ok("");
  EXPECT_TRUE(c.sshd_session_path.empty());
  EXPECT_TRUE(c.sshd_auth_path.empty());
  EXPECT_EQ(dumped(c, "sshdsessionpath"),
            std::vector<std::string>{"sshdsessionpath " + default_helper_path("sshd-session")});
  EXPECT_EQ(dumped(c, "sshdauthpath"),
            std::vector<std::string>{"sshdauthpath " + default_helper_path("sshd-net")});
  ASSERT_EQ(default_helper_path("sshd-net").back(), 't');
  EXPECT_EQ(default_helper_path("sshd-net").rfind("/sshd-net"),
            default_helper_path("sshd-net").size() - 9);
}

TEST(ConfigOpenSSH10, HelperPathsConfiguredFirstWinsAndSurviveTheTripToChildren) {
  ServerConfig c = parse_ok(
      "SshdSessionPath /opt/p/sshd-session\nSshdAuthPath /opt/p/sshd-net\n"
      "SshdSessionPath /other\n");
  EXPECT_EQ(c.sshd_session_path, "/opt/p/sshd-session");
  EXPECT_EQ(c.sshd_auth_path, "/opt/p/sshd-net");
  EXPECT_EQ(dumped(c, "sshdsessionpath"),
            std::vector<std::string>{"sshdsessionpath /opt/p/sshd-session"});
  auto back = deserialize_config(serialize_config(c));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->sshd_session_path, "/opt/p/sshd-session");
  EXPECT_EQ(back->sshd_auth_path, "/opt/p/sshd-net");
  // Unset stays unset in the child (it finds the built-in helper), not the printed default.
  auto blank = deserialize_config(serialize_config(parse_ok("")));
  ASSERT_TRUE(blank);
  EXPECT_TRUE(blank->sshd_auth_path.empty());
}

TEST(ConfigOpenSSH10, HelperPathsMustBeAbsoluteAndGlobal) {
  EXPECT_EQ(parse_error("SshdSessionPath sshd-session"),
            "test.conf line 1: SshdSessionPath must be an absolute path: sshd-session");
  EXPECT_EQ(parse_error("SshdAuthPath ./x"),
            "test.conf line 1: SshdAuthPath must be an absolute path: ./x");
  EXPECT_EQ(parse_error("Match User bob\n  SshdAuthPath /x"),
            "test.conf line 2: Directive 'SshdAuthPath' is not allowed within a Match block");
}

TEST(ConfigOpenSSH10, RefuseConnectionInMatch) {
  ServerConfig c = parse_ok("Match User mallory Address 10.0.0.0/8\n  RefuseConnection yes\n");
  EXPECT_FALSE(c.refuse_connection);
  EXPECT_EQ(dumped(c, "refuseconnection"), std::vector<std::string>{"refuseconnection no"});
  EXPECT_TRUE(apply_match(c, user("mallory")).refuse_connection);
  EXPECT_FALSE(apply_match(c, user("bob")).refuse_connection);
  EXPECT_EQ(dumped(apply_match(c, user("mallory")), "refuseconnection"),
            std::vector<std::string>{"refuseconnection yes"});
  EXPECT_EQ(parse_error("RefuseConnection perhaps"),
            "test.conf line 1: unsupported option \"perhaps\".");
}

TEST(ConfigOpenSSH10, DefaultsStayOpenSSH92s) {
  ServerConfig c = parse_ok("");
  EXPECT_EQ(c.openssh_defaults, OpenSSHDefaults::k92);
  EXPECT_EQ(dumped(c, "opensshdefaults"), std::vector<std::string>{"opensshdefaults 9.2"});
  EXPECT_NE(c.kex_algorithms.find("diffie-hellman-group14-sha256"), std::string::npos);
  EXPECT_FALSE(c.per_source_penalties.enabled);
  EXPECT_TRUE(dumped(c, "persourcepenalties").empty());
}

TEST(ConfigOpenSSH10, OpenSSH10DefaultsSwitch) {
  ServerConfig c = parse_ok("OpenSSHDefaults 10\n");
  EXPECT_EQ(c.openssh_defaults, OpenSSHDefaults::k10);
  EXPECT_EQ(c.kex_algorithms,
            "mlkem768x25519-sha256,"
            "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,"
            "curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
            "ecdh-sha2-nistp521");
  EXPECT_TRUE(c.per_source_penalties.enabled);
  EXPECT_EQ(c.per_source_penalties.crash, 90);
  // A list with + is applied to the defaults in force.
  ServerConfig plus =
      parse_ok("OpenSSHDefaults 10\nKexAlgorithms +diffie-hellman-group14-sha256\n");
  EXPECT_EQ(plus.kex_algorithms, c.kex_algorithms + ",diffie-hellman-group14-sha256");
  // What is configured wins over either set of defaults.
  ServerConfig off = parse_ok("OpenSSHDefaults 10\nPerSourcePenalties no\n");
  EXPECT_FALSE(off.per_source_penalties.enabled);
  // Serialised to a child, the choice and its effect survive.
  auto back = deserialize_config(serialize_config(c));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->kex_algorithms, c.kex_algorithms);
  EXPECT_TRUE(back->per_source_penalties.enabled);
  EXPECT_EQ(parse_error("OpenSSHDefaults 9.9"), "test.conf line 1: unsupported option \"9.9\".");
}

TEST(ConfigOpenSSH10, RefuseConnectionPenalty) {
  ServerConfig c = parse_ok("PerSourcePenalties refuseconnection:1m noauth:2s\n");
  EXPECT_EQ(c.per_source_penalties.refuse_connection, 60);
  EXPECT_EQ(parse_ok("PerSourcePenalties yes\n").per_source_penalties.refuse_connection, 10);
  std::vector<std::string> line = dumped(c, "persourcepenalties");
  ASSERT_EQ(line.size(), 1u);
  EXPECT_NE(line[0].find(" grace-exceeded:10 refuseconnection:60 max:600 "), std::string::npos)
      << line[0];
  EXPECT_EQ(parse_error("PerSourcePenalties refuseconnection:x"),
            "test.conf line 1: invalid refuseconnection time \"x\"");
}

TEST(ConfigOpenSSH10, InvalidUserPenaltyAndTheDumpOfOpenSSH10) {
  ServerConfig c = parse_ok("PerSourcePenalties invaliduser:2m authfail:3\n");
  EXPECT_EQ(c.per_source_penalties.invalid_user, 120);
  EXPECT_EQ(c.per_source_penalties.authfail, 3);
  EXPECT_EQ(parse_ok("PerSourcePenalties yes\n").per_source_penalties.invalid_user, 5);
  EXPECT_EQ(parse_error("PerSourcePenalties invaliduser:soon"),
            "test.conf line 1: invalid invaliduser time \"soon\"");
  // OpenSSH 10's sshd -T, word for word, for its defaults; and "no" when turned off.
  EXPECT_EQ(dumped(parse_ok("OpenSSHDefaults 10\n"), "persourcepenalties"),
            std::vector<std::string>{
                "persourcepenalties crash:90 authfail:5 invaliduser:5 noauth:1 grace-exceeded:10 "
                "refuseconnection:10 max:600 min:15 max-sources4:65536 max-sources6:65536 "
                "overflow:permissive overflow6:permissive"});
  EXPECT_EQ(dumped(parse_ok("OpenSSHDefaults 10\nPerSourcePenalties no\n"), "persourcepenalties"),
            std::vector<std::string>{"persourcepenalties no"});
  // Under 9.2's defaults (which lack the keyword) an unset or disabled one prints nothing.
  EXPECT_TRUE(dumped(parse_ok("PerSourcePenalties no\n"), "persourcepenalties").empty());
  // What -T prints reads back as the same setting (children get the configuration so).
  auto back = deserialize_config(serialize_config(c));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->per_source_penalties, c.per_source_penalties);
}

TEST(ConfigOpenSSH10, MatchCriteriaWrittenKeyEqualsValue) {
  ServerConfig c = parse_ok(
      "Match user=u1\n  MaxSessions 1\n"
      "Match host=a,b Address=10.0.0.0/8\n  MaxAuthTries 2\n"
      "Match User u2 group=nosuchgroup-xyz\n  Banner /b\n");
  // Stored as OpenSSH 9.2 words, so the children and -T read them the usual way.
  EXPECT_EQ(c.match_blocks[0], "user u1");
  EXPECT_EQ(c.match_blocks[1], "host a,b Address 10.0.0.0/8");
  EXPECT_EQ(apply_match(c, user("u1")).max_sessions, 1);
  EXPECT_EQ(apply_match(c, user("u2")).max_sessions, 10);
  ConnectionInfo from_b = user("x");
  from_b.host = "b";
  EXPECT_EQ(apply_match(c, from_b).max_auth_tries, 2);
  from_b.addr = "192.168.0.1";
  EXPECT_EQ(apply_match(c, from_b).max_auth_tries, 6);
  EXPECT_EQ(apply_match(c, user("u2")).banner, "");
  // A value containing '=' is a value, not a second criterion.
  ServerConfig v = parse_ok("Match User a=b\n  MaxSessions 3\n");
  EXPECT_EQ(apply_match(v, user("a=b")).max_sessions, 3);
  EXPECT_EQ(parse_error("Match foo=bar"),
            "Unsupported Match attribute foo\ntest.conf line 1: Bad Match condition");
  EXPECT_EQ(parse_error("Match user="),
            "Missing Match criteria for user\ntest.conf line 1: Bad Match condition");
}

TEST(ConfigOpenSSH10, MatchVersionTestsTheServersOwnVersion) {
  EXPECT_EQ(server_version_for_match().rfind("postern_", 0), 0u);
  ServerConfig c = parse_ok(
      "Match Version postern_*\n  MaxSessions 2\n"
      "Match version OpenSSH_*\n  MaxAuthTries 1\n");
  ServerConfig m = apply_match(c, ConnectionInfo{});
  EXPECT_EQ(m.max_sessions, 2);  // known before any user: applies at once
  EXPECT_EQ(m.max_auth_tries, 6);
  ConnectionInfo other;
  other.version = "OpenSSH_10.0";
  EXPECT_EQ(apply_match(c, other).max_auth_tries, 1);
  EXPECT_EQ(apply_match(c, other).max_sessions, 10);
  EXPECT_EQ(parse_error("Match Version"),
            "Missing Match criteria for Version\ntest.conf line 1: Bad Match condition");
}

TEST(ConfigOpenSSH10, MatchInvalidUser) {
  ServerConfig c = parse_ok("Match invalid-user Address 10.0.0.0/8\n  MaxAuthTries 1\n");
  EXPECT_EQ(c.match_blocks[0], "invalid-user Address 10.0.0.0/8");
  ConnectionInfo nobody = user("nosuchuser-xyz");
  nobody.invalid_user = true;
  EXPECT_EQ(apply_match(c, nobody).max_auth_tries, 1);
  EXPECT_EQ(apply_match(c, user("root")).max_auth_tries, 6);
  // Before a user name is known nobody is an invalid user.
  ConnectionInfo early;
  early.addr = "10.1.1.1";
  early.invalid_user = true;
  EXPECT_EQ(apply_match(c, early).max_auth_tries, 6);
  // -T -C takes OpenSSH 10's bare "invalid-user" flag.
  auto spec = parse_connection_spec("user=nosuchuser-xyz,addr=10.9.9.9,invalid-user");
  ASSERT_TRUE(spec);
  EXPECT_TRUE(spec->invalid_user);
  auto t = apply_match_for_test(c, *spec);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->max_auth_tries, 1);
  auto valid = parse_connection_spec("user=nosuchuser-xyz,addr=10.9.9.9");
  ASSERT_TRUE(valid);
  EXPECT_FALSE(valid->invalid_user);
  EXPECT_EQ(apply_match_for_test(c, *valid)->max_auth_tries, 6);
  // Serialised and read back by a child, the bare criterion keeps its meaning.
  auto back = deserialize_config(serialize_config(c));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(apply_match(*back, nobody).max_auth_tries, 1);
  EXPECT_EQ(parse_error("Match invalid-user all"),
            "'all' cannot be combined with other Match attributes\n"
            "test.conf line 1: Bad Match condition");
}

TEST(ConfigOpenSSH10, SubsystemCommandKeepsItsQuoting) {
  ServerConfig c = parse_ok("Subsystem xxx /bin/sh -c \"exit 23\"\n");
  ASSERT_EQ(c.subsystems.size(), 1u);
  EXPECT_EQ(c.subsystems[0].command, "/bin/sh -c \"exit 23\"");
  EXPECT_EQ(dumped(c, "subsystem"),
            std::vector<std::string>{"subsystem xxx /bin/sh -c \"exit 23\""});
  auto back = deserialize_config(serialize_config(c));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->subsystems, c.subsystems);
}

// A configuration written for OpenSSH 10.5 names its ML-DSA-44 hybrid key type; it parses, and
// is in the key type defaults only under OpenSSHDefaults 10.
TEST(ConfigOpenSSH10, MlDsaKeyTypeNamesParse) {
  ServerConfig c = parse_ok(
      "PubkeyAcceptedAlgorithms +ssh-mldsa44-ed25519@openssh.com\n"
      "HostKeyAlgorithms ^ssh-mldsa44-ed25519*\n"
      "CASignatureAlgorithms ssh-ed25519,ssh-mldsa44-ed25519@openssh.com\n");
  EXPECT_TRUE(c.pubkey_accepted_algorithms.ends_with(",ssh-mldsa44-ed25519@openssh.com"));
  EXPECT_TRUE(c.host_key_algorithms.starts_with(
      "ssh-mldsa44-ed25519@openssh.com,ssh-mldsa44-ed25519-cert-v01@openssh.com,"));
  // Debian 12's defaults do not change.
  ServerConfig def = parse_ok("");
  for (const std::string* list : {&def.pubkey_accepted_algorithms, &def.host_key_algorithms,
                                  &def.hostbased_accepted_algorithms, &def.ca_signature_algorithms})
    EXPECT_EQ(list->find("mldsa"), std::string::npos) << *list;
  ServerConfig ten = parse_ok("OpenSSHDefaults 10\n");
  for (const std::string* list : {&ten.pubkey_accepted_algorithms, &ten.host_key_algorithms,
                                  &ten.hostbased_accepted_algorithms})
    EXPECT_TRUE(list->starts_with("ssh-mldsa44-ed25519-cert-v01@openssh.com,ssh-ed25519-cert"))
        << *list;
  EXPECT_NE(ten.host_key_algorithms.find(",ssh-mldsa44-ed25519@openssh.com,ssh-ed25519,"),
            std::string::npos);
  EXPECT_TRUE(
      ten.ca_signature_algorithms.starts_with("ssh-mldsa44-ed25519@openssh.com,ssh-ed25519,"));
  EXPECT_EQ(ten.ca_signature_algorithms.find("cert"), std::string::npos);
}

TEST(ConfigOpenSSH10, RepeatedSubsystemKeepsTheFirst) {
  ServerConfig c = parse_ok("Subsystem xxx /a\nSubsystem xxx /b\nSubsystem yyy /c\n");
  ASSERT_EQ(c.subsystems.size(), 2u);
  EXPECT_EQ(c.subsystems[0].command, "/a");
  EXPECT_EQ(c.subsystems[1].command, "/c");
}

TEST(ConfigOpenSSH10, SubsystemInMatchOverridesTheGlobalOne) {
  ServerConfig c = parse_ok(
      "Subsystem xxx /global\nSubsystem sftp internal-sftp\n"
      "Match User bob\n  Subsystem xxx /bob\n  Subsystem xxx /bob-again\n  Subsystem new /n\n"
      "Match User *\n  Subsystem xxx /everyone\n");
  ServerConfig bob = apply_match(c, user("bob"));
  ASSERT_EQ(bob.subsystems.size(), 3u);
  EXPECT_EQ(bob.subsystems[0], (Subsystem{"xxx", "/bob"}));
  EXPECT_EQ(bob.subsystems[1], (Subsystem{"sftp", "internal-sftp"}));
  EXPECT_EQ(bob.subsystems[2], (Subsystem{"new", "/n"}));
  ServerConfig al = apply_match(c, user("al"));
  EXPECT_EQ(al.subsystems[0], (Subsystem{"xxx", "/everyone"}));
  EXPECT_EQ(al.subsystems.size(), 2u);
  // Without a user, no block applies.
  EXPECT_EQ(apply_match(c, ConnectionInfo{}).subsystems[0].command, "/global");
}

TEST(ConfigOpenSSH10, SubsystemInMatchAllOverridesAtLoad) {
  ServerConfig c = parse_ok("Subsystem xxx /main\nMatch all\n  Subsystem xxx /all\n");
  EXPECT_EQ(apply_match(c, user("u")).subsystems[0].command, "/all");
  ServerConfig n = parse_ok("Match all\n  Subsystem xxx /first\n  Subsystem xxx /second\n");
  EXPECT_EQ(apply_match(n, user("u")).subsystems[0].command, "/first");
}

}  // namespace
}  // namespace postern::config
