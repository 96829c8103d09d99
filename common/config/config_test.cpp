#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/config/server_config.h"
#include "common/config/tokens.h"
#include "common/log.h"

namespace postern::config {
namespace {

LoadOptions etc_ssh() {
  return LoadOptions{"/etc/ssh"};
}

ServerConfig parse_ok(std::string_view text, const std::vector<std::string>& opts = {}) {
  auto r = parse_server_config(text, "test.conf", opts, etc_ssh());
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  return r ? *r : ServerConfig{};
}

std::string parse_error(std::string_view text) {
  auto r = parse_server_config(text, "test.conf", {}, etc_ssh());
  EXPECT_FALSE(r.has_value());
  return r ? "" : r.error().message;
}

TEST(Config, Defaults) {
  ServerConfig c = parse_ok("");
  EXPECT_EQ(c.ports, std::vector<int>{22});
  ASSERT_EQ(c.listen_addresses.size(), 2u);
  EXPECT_EQ(c.listen_addresses[0].host, "::");
  EXPECT_EQ(c.listen_addresses[1].host, "0.0.0.0");
  EXPECT_EQ(c.permit_root_login, PermitRootLogin::kProhibitPassword);
  EXPECT_EQ(c.authorized_keys_files,
            (std::vector<std::string>{".ssh/authorized_keys", ".ssh/authorized_keys2"}));
  EXPECT_TRUE(c.strict_modes);
  EXPECT_EQ(c.max_auth_tries, 6);
  EXPECT_EQ(c.login_grace_time, 120);
  EXPECT_EQ(c.ciphers,
            "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,"
            "aes128-gcm@openssh.com,aes256-gcm@openssh.com");
  EXPECT_EQ(c.moduli_file, "/etc/ssh/moduli");
  EXPECT_EQ(c.host_keys.size(), 3u);
  EXPECT_EQ(c.log_level, LogLevel::kInfo);
  EXPECT_EQ(c.authentication_methods, std::vector<std::string>{"any"});
}

TEST(Config, FirstValueWinsAndSyntax) {
  ServerConfig c = parse_ok(
      "# comment\n"
      "  MaxAuthTries=3\n"
      "maxauthtries 9\n"
      "LoginGraceTime = 1h30m\n"
      "ForceCommand /bin/echo \"a b\"  \n"
      "AcceptEnv LANG LC_*\n"
      "AcceptEnv FOO\n"
      "SetEnv A=1 \"B=x y\"\n"
      "SetEnv C=3\n"
      "AuthorizedKeysFile none\n"
      "Subsystem sftp /usr/lib/openssh/sftp-server -l INFO\n");
  EXPECT_EQ(c.max_auth_tries, 3);
  EXPECT_EQ(c.login_grace_time, 5400);
  EXPECT_EQ(c.force_command, "/bin/echo \"a b\"");
  EXPECT_EQ(c.accept_env, (std::vector<std::string>{"LANG", "LC_*", "FOO"}));
  EXPECT_EQ(c.set_env, (std::vector<std::string>{"A=1", "B=x y"}));
  EXPECT_TRUE(c.authorized_keys_files.empty());
  ASSERT_EQ(c.subsystems.size(), 1u);
  EXPECT_EQ(c.subsystems[0].command, "/usr/lib/openssh/sftp-server -l INFO");
}

TEST(Config, CommandLineOptionsWin) {
  ServerConfig c = parse_ok("Port 22\nMaxSessions 2\n", {"Port=2222", "MaxSessions 5"});
  EXPECT_EQ(c.ports, (std::vector<int>{2222, 22}));
  EXPECT_EQ(c.max_sessions, 5);
}

TEST(Config, AlgorithmModifiers) {
  EXPECT_EQ(parse_ok("Ciphers +aes128-cbc").ciphers,
            "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,"
            "aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes128-cbc");
  EXPECT_EQ(parse_ok("Ciphers -*ctr").ciphers,
            "chacha20-poly1305@openssh.com,aes128-gcm@openssh.com,aes256-gcm@openssh.com");
  EXPECT_EQ(parse_ok("Ciphers ^aes256-ctr,aes128-cbc").ciphers,
            "aes256-ctr,aes128-cbc,chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,"
            "aes128-gcm@openssh.com,aes256-gcm@openssh.com");
  EXPECT_EQ(parse_ok("Ciphers aes128-ctr,aes128-ctr").ciphers, "aes128-ctr");
  EXPECT_EQ(parse_error("Ciphers foo"), "test.conf line 1: Bad SSH2 cipher spec 'foo'.");
  EXPECT_EQ(parse_error("MACs +foo"), "test.conf line 1: Bad SSH2 mac spec '+foo'.");
  // Removing every name leaves the defaults, as OpenSSH's sshd -T prints; found by the
  // sshd_config fuzzer: the empty list did not survive serialize/deserialize to the children.
  ServerConfig all_removed = parse_ok("Ciphers -*\nMACs -*s*,ahm1uac-64*");
  EXPECT_EQ(all_removed.ciphers, parse_ok("").ciphers);
  EXPECT_EQ(all_removed.macs, parse_ok("").macs);
  auto back = deserialize_config(serialize_config(all_removed));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, all_removed);
}

// The ML-KEM hybrids (issue 17) are accepted when named, in each modifier's form, but the
// default list stays Debian 12's (OpenSSH 9.2's), which `sshd -T` must keep matching.
TEST(Config, MlkemKexNamedNotDefault) {
  const std::string defaults = parse_ok("").kex_algorithms;
  EXPECT_EQ(defaults.find("mlkem"), std::string::npos);
  EXPECT_EQ(parse_ok("KexAlgorithms ^mlkem768x25519-sha256").kex_algorithms,
            "mlkem768x25519-sha256," + defaults);
  EXPECT_EQ(parse_ok("KexAlgorithms +mlkem768nistp256-sha256").kex_algorithms,
            defaults + ",mlkem768nistp256-sha256");
  EXPECT_EQ(parse_ok("KexAlgorithms mlkem768x25519-sha256,mlkem768nistp256-sha256").kex_algorithms,
            "mlkem768x25519-sha256,mlkem768nistp256-sha256");
  EXPECT_EQ(parse_ok("KexAlgorithms -mlkem*").kex_algorithms, defaults);
  EXPECT_EQ(parse_error("KexAlgorithms mlkem768x25519-sha512"),
            "Unsupported KEX algorithm \"mlkem768x25519-sha512\"\n"
            "test.conf line 1: Bad SSH2 KexAlgorithms 'mlkem768x25519-sha512'.");
}

TEST(Config, ValuesAndSizes) {
  ServerConfig c = parse_ok(
      "RekeyLimit 1G 1h\nIPQoS af21\nMaxStartups 5:20:50\n"
      "PerSourceNetBlockSize 24\nStreamLocalBindMask 022\n");
  EXPECT_EQ(c.rekey_limit_bytes, 1LL << 30);
  EXPECT_EQ(c.rekey_limit_seconds, 3600);
  EXPECT_EQ(c.ip_qos_interactive, 0x48);
  EXPECT_EQ(c.ip_qos_bulk, 0x48);
  EXPECT_EQ(c.max_startups_rate, 20);
  EXPECT_EQ(c.per_source_netblock_size_ipv4, 24);
  EXPECT_EQ(c.stream_local_bind_mask, 022);
}

TEST(Config, ErrorsInOpenSSHWords) {
  EXPECT_EQ(parse_error("Port 22\n\nFoo bar\n"),
            "test.conf: line 3: Bad configuration option: Foo\n"
            "test.conf: terminating, 1 bad configuration options");
  EXPECT_EQ(parse_error("Port\n"),
            "test.conf line 1: no argument after keyword \"Port\"\n"
            "test.conf: terminating, 1 bad configuration options");
  EXPECT_EQ(parse_error("PermitRootLogin yes yes\n"),
            "test.conf line 1: keyword PermitRootLogin extra arguments at end of line\n"
            "test.conf: terminating, 1 bad configuration options");
  EXPECT_EQ(parse_error("StrictModes maybe"), "test.conf line 1: unsupported option \"maybe\".");
  EXPECT_EQ(parse_error("MaxAuthTries -1"),
            "test.conf line 1: MaxAuthTries integer value too small.");
  EXPECT_EQ(parse_error("LoginGraceTime 1x"), "test.conf line 1: invalid time value.");
  EXPECT_EQ(parse_error("Port abc"), "test.conf line 1: Badly formatted port number.");
  EXPECT_EQ(parse_error("Match User bob\nPort 22"),
            "test.conf line 2: Directive 'Port' is not allowed within a Match block");
  EXPECT_EQ(parse_error("Match Foo bob"),
            "Unsupported Match attribute Foo\ntest.conf line 1: Bad Match condition");
  // Deprecated and ignored keywords are accepted.
  parse_ok("UsePrivilegeSeparation sandbox\nProtocol 2\nChallengeResponseAuthentication no\n");
}

TEST(Config, MatchEvaluation) {
  ServerConfig c = parse_ok(
      "PasswordAuthentication yes\n"
      "Match User bob,!root Address 10.0.0.0/8\n"
      "  PasswordAuthentication no\n"
      "  AcceptEnv X\n"
      "Match Address 192.168.1.0/24,!192.168.1.7\n"
      "  PasswordAuthentication yes\n"
      "  MaxSessions 1\n"
      "Match LocalPort 2222 Host *.example.com\n"
      "  Banner /etc/b\n"
      "Match All\n"
      "  MaxSessions 4\n");
  auto at = [&](ConnectionInfo ci) { return apply_match(c, ci); };
  ServerConfig bob = at({"bob", "h", "10.1.2.3", "10.0.0.1", 22, ""});
  EXPECT_FALSE(bob.password_authentication);
  EXPECT_EQ(bob.accept_env, std::vector<std::string>{"X"});
  EXPECT_EQ(bob.max_sessions, 4);
  ServerConfig other = at({"alice", "h", "10.1.2.3", "10.0.0.1", 22, ""});
  EXPECT_TRUE(other.password_authentication);
  EXPECT_EQ(at({"alice", "h", "192.168.1.5", "", 22, ""}).max_sessions, 1);
  EXPECT_EQ(at({"alice", "h", "192.168.1.7", "", 22, ""}).max_sessions, 4);
  EXPECT_EQ(at({"a", "X.Example.com", "1.1.1.1", "", 2222, ""}).banner, "/etc/b");
  EXPECT_EQ(at({"a", "X.Example.com", "1.1.1.1", "", 22, ""}).banner, "");
}

TEST(Config, IncludeWithGlobs) {
  auto dir = std::filesystem::temp_directory_path() / ("postern_cfg_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir / "conf.d");
  std::ofstream(dir / "conf.d" / "10-a.conf") << "MaxSessions 3\nInclude conf.d/nested.inc\n";
  std::ofstream(dir / "conf.d" / "20-b.conf") << "MaxSessions 7\nMaxAuthTries 2\n";
  std::ofstream(dir / "conf.d" / "nested.inc") << "PrintMotd no\n";
  std::ofstream(dir / "sshd_config") << "Include conf.d/*.conf\nMaxAuthTries 5\n";
  auto r = load_server_config((dir / "sshd_config").string(), {}, LoadOptions{dir.string()});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->max_sessions, 3);
  EXPECT_EQ(r->max_auth_tries, 2);
  EXPECT_FALSE(r->print_motd);
  std::ofstream(dir / "loop.conf") << "Include " << (dir / "loop.conf").string() << "\n";
  auto loop = load_server_config((dir / "loop.conf").string(), {}, LoadOptions{dir.string()});
  EXPECT_FALSE(loop);
  std::filesystem::remove_all(dir);
}

TEST(Config, SerializeRoundTrip) {
  ServerConfig c = parse_ok(
      "Port 2200\nListenAddress 127.0.0.1\nSetEnv \"A=x y\"\nForceCommand echo hi\n"
      "Ciphers -*cbc\nSubsystem sftp internal-sftp -l INFO\nAcceptEnv LANG\n"
      "Match User bob\n  X11Forwarding yes\n  AuthorizedKeysFile \"/etc/keys/%u\"\n");
  auto back = deserialize_config(serialize_config(c));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, c) << serialize_config(c) << "\n----\n" << serialize_config(*back);
  EXPECT_EQ(dump_config(*back), dump_config(c));
  ConnectionInfo bob{"bob", "", "", "", -1, ""};
  EXPECT_EQ(apply_match(*back, bob), apply_match(c, bob));
  EXPECT_TRUE(apply_match(*back, bob).x11_forwarding);
}

TEST(Config, ConnectionSpec) {
  auto ci = parse_connection_spec("user=bob,host=h.example,addr=1.2.3.4,laddr=5.6.7.8,lport=22");
  ASSERT_TRUE(ci);
  EXPECT_EQ(ci->user, "bob");
  EXPECT_EQ(ci->lport, 22);
  EXPECT_FALSE(parse_connection_spec("foo=bar"));
}

TEST(Config, MatchAllAppliesAtLoad) {
  // sshd applies "Match All" blocks when it reads the file as well as per connection.
  ServerConfig c = parse_ok("Match All\n  MaxAuthTries 2\nMatch User x\n  MaxAuthTries 4\n");
  EXPECT_EQ(c.max_auth_tries, 2);
  EXPECT_EQ(apply_match(c, {"x", "", "", "", -1, ""}).max_auth_tries, 2);
}

TEST(Config, MatchInsideIncludeInsideMatch) {
  auto dir = std::filesystem::temp_directory_path() / ("postern_cfgm_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "in.inc") << "Banner /b\nMatch User carol\n  PermitTTY no\n";
  std::ofstream(dir / "main") << "Match User bob\n  Include in.inc\n  MaxSessions 4\n";
  auto r = load_server_config((dir / "main").string(), {}, LoadOptions{dir.string()});
  ASSERT_TRUE(r) << r.error().message;
  ServerConfig bob = apply_match(*r, {"bob", "", "", "", -1, ""});
  EXPECT_EQ(bob.banner, "/b");
  EXPECT_EQ(bob.max_sessions, 4);  // back in bob's block after the included file
  EXPECT_TRUE(bob.permit_tty);
  // carol's block is nested in bob's: it needs both.
  EXPECT_TRUE(apply_match(*r, {"carol", "", "", "", -1, ""}).permit_tty);
  std::filesystem::remove_all(dir);
}

TEST(Config, ListenAddressesResolvedPerPort) {
  ServerConfig c =
      parse_ok("Port 2000\nPort 2001\nListenAddress 0:0::1\nListenAddress 127.0.0.1:5\n");
  ASSERT_EQ(c.listen_addresses.size(), 3u);
  EXPECT_EQ(c.listen_addresses[0], (ListenAddress{"::1", 2000, ""}));
  EXPECT_EQ(c.listen_addresses[1], (ListenAddress{"::1", 2001, ""}));
  EXPECT_EQ(c.listen_addresses[2], (ListenAddress{"127.0.0.1", 5, ""}));
  ServerConfig v4 = parse_ok("AddressFamily inet\nPort 7\n");
  ASSERT_EQ(v4.listen_addresses.size(), 1u);
  EXPECT_EQ(v4.listen_addresses[0].host, "0.0.0.0");
}

TEST(Config, RelativePathsBecomeAbsolute) {
  ServerConfig c = parse_ok("PidFile run/p.pid\nHostKey keys/hk\nChrootDirectory rel\n");
  std::string cwd = std::filesystem::current_path().string();
  EXPECT_EQ(c.pid_file, cwd + "/run/p.pid");
  EXPECT_EQ(c.host_keys, std::vector<std::string>{cwd + "/keys/hk"});
  EXPECT_EQ(c.chroot_directory, "rel");  // relative to the user's home, left alone
}

TEST(Config, AuthenticationMethodsMustBeSatisfiable) {
  EXPECT_EQ(parse_error("PasswordAuthentication no\nAuthenticationMethods password\n"),
            "Disabled method \"password\" in AuthenticationMethods list \"password\"\n"
            "AuthenticationMethods cannot be satisfied by enabled authentication methods");
  ServerConfig c = parse_ok("AuthenticationMethods publickey,password publickey\n");
  EXPECT_EQ(c.authentication_methods,
            (std::vector<std::string>{"publickey,password", "publickey"}));
}

TEST(Config, DumpHasOpenSSHFormats) {
  std::string d =
      dump_config(parse_ok("LogLevel DEBUG1\nStreamLocalBindMask 0\nIPQoS 8 0x10\n"
                           "RekeyLimit 64K 30\nPermitListen 1234\nMaxStartups 5\n"));
  EXPECT_NE(d.find("\nloglevel DEBUG\n"), std::string::npos);
  EXPECT_NE(d.find("\nstreamlocalbindmask 00\n"), std::string::npos);
  EXPECT_NE(d.find("\nipqos throughput lowdelay\n"), std::string::npos);
  EXPECT_NE(d.find("\nrekeylimit 65536 30\n"), std::string::npos);
  EXPECT_NE(d.find("\npermitlisten *:1234\n"), std::string::npos);
  EXPECT_NE(d.find("\nmaxstartups 5:30:5\n"), std::string::npos);
  EXPECT_EQ(d.find("port 22\naddressfamily any\nlistenaddress [::]:22\n"), 0u);
}

TEST(Config, PerSourcePenalties) {
  EXPECT_FALSE(parse_ok("").per_source_penalties.enabled);
  EXPECT_EQ(dump_config(parse_ok("")).find("persourcepenalties"), std::string::npos);
  ServerConfig c = parse_ok(
      "PerSourcePenalties crash:2m authfail:1m max-sources4:10 overflow:deny-all\n"
      "PerSourcePenaltyExemptList 10.0.0.0/8\n");
  EXPECT_TRUE(c.per_source_penalties.enabled);
  EXPECT_EQ(c.per_source_penalties.crash, 120);
  EXPECT_EQ(c.per_source_penalties.authfail, 60);
  EXPECT_EQ(c.per_source_penalties.noauth, 1);
  EXPECT_EQ(c.per_source_penalties.max_sources4, 10);
  EXPECT_FALSE(c.per_source_penalties.overflow_permissive);
  EXPECT_EQ(c.per_source_penalty_exempt_list, "10.0.0.0/8");
  auto back = deserialize_config(serialize_config(c));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, c);
  EXPECT_TRUE(parse_ok("PerSourcePenalties yes").per_source_penalties.enabled);
  EXPECT_EQ(parse_error("PerSourcePenalties bogus:1"),
            "test.conf line 1: unsupported PerSourcePenalties keyword \"bogus\"");
}

TEST(Config, ProxyProtocolFrom) {
  EXPECT_EQ(parse_ok("").proxy_protocol_from, "");
  // Printed last, after BastionPolicy, so the lines before are OpenSSH's.
  std::string d = dump_config(parse_ok(""));
  EXPECT_EQ(d.substr(d.rfind("\nbastionpolicy ")),
            "\nbastionpolicy /etc/postern/bastion.toml\n"
            "proxyprotocolfrom none\n");
  ServerConfig c = parse_ok("ProxyProtocolFrom 10.0.0.0/8,192.0.2.7,::1\n");
  EXPECT_EQ(c.proxy_protocol_from, "10.0.0.0/8,192.0.2.7,::1");
  EXPECT_NE(dump_config(c).find("\nproxyprotocolfrom 10.0.0.0/8,192.0.2.7,::1\n"),
            std::string::npos);
  auto back = deserialize_config(serialize_config(c));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, c);
  EXPECT_EQ(parse_ok("ProxyProtocolFrom none").proxy_protocol_from, "");
  EXPECT_EQ(parse_error("ProxyProtocolFrom 10.0.0.0/33"),
            "test.conf line 1: invalid address list for ProxyProtocolFrom: \"10.0.0.0/33\"");
  EXPECT_EQ(parse_error("Match User x\nProxyProtocolFrom 10.0.0.1"),
            "test.conf line 2: Directive 'ProxyProtocolFrom' is not allowed within a Match block");
}

// Random lines built from real keywords and odd values: parsing never crashes, and whatever is
// accepted survives serialisation unchanged.
TEST(Config, RandomConfigsRoundTrip) {
  const char* keywords[] = {"Port",
                            "ListenAddress",
                            "AcceptEnv",
                            "SetEnv",
                            "Subsystem",
                            "Ciphers",
                            "MACs",
                            "KexAlgorithms",
                            "PermitRootLogin",
                            "MaxStartups",
                            "RekeyLimit",
                            "IPQoS",
                            "PermitOpen",
                            "PermitListen",
                            "Match",
                            "ForceCommand",
                            "Banner",
                            "AuthorizedKeysFile",
                            "LoginGraceTime",
                            "Include",
                            "LogLevel",
                            "PerSourcePenalties",
                            "X11Forwarding",
                            "AuthenticationMethods",
                            "AllowUsers",
                            "ChannelTimeout",
                            "Foo"};
  const char* values[] = {"yes",
                          "no",
                          "none",
                          "any",
                          "22",
                          "0",
                          "-1",
                          "1h30m",
                          "10:30:100",
                          "+aes128-cbc",
                          "-*ctr",
                          "^curve25519-sha256",
                          "\"a b\"",
                          "'c d'",
                          "x=y",
                          "User",
                          "bob",
                          "Address",
                          "10.0.0.0/8",
                          "!1.2.3.4",
                          "All",
                          "[::1]:22",
                          "127.0.0.1",
                          "1G",
                          "af21",
                          "*:80",
                          "host:22",
                          "%h/k",
                          "\"",
                          "#",
                          "=",
                          "publickey,password",
                          "DEBUG3",
                          "crash:1m",
                          "sftp",
                          "/usr/lib/sftp-server",
                          "LocalPort",
                          "2222",
                          ""};
  // POSTERN_FUZZ_SEED picks another sequence (the default keeps the test deterministic).
  unsigned seed = getenv("POSTERN_FUZZ_SEED") ? unsigned(atoi(getenv("POSTERN_FUZZ_SEED"))) : 12345;
  auto rnd = [&](unsigned n) {
    seed = seed * 1103515245 + 12345;
    return (seed >> 16) % n;
  };
  int accepted = 0;
  for (int round = 0; round < 4000; ++round) {
    std::string text;
    for (unsigned line = 0, lines = 1 + rnd(3); line < lines; ++line) {
      text += keywords[rnd(std::size(keywords))];
      text += rnd(4) == 0 ? "=" : " ";
      for (unsigned w = 0, words = rnd(4); w < words; ++w)
        text += std::string(values[rnd(std::size(values))]) + " ";
      text += "\n";
    }
    auto r = parse_server_config(text, "fuzz", {}, etc_ssh());
    if (!r) {
      EXPECT_FALSE(r.error().message.empty());
      continue;
    }
    ++accepted;
    auto back = deserialize_config(serialize_config(*r));
    ASSERT_TRUE(back) << text << "\n" << back.error().message;
    EXPECT_EQ(*back, *r) << text;
    EXPECT_EQ(dump_config(apply_match(*back, {"bob", "h", "10.1.1.1", "127.0.0.1", 2222, ""})),
              dump_config(apply_match(*r, {"bob", "h", "10.1.1.1", "127.0.0.1", 2222, ""})))
        << text;
  }
  EXPECT_GT(accepted, 100);
}

TEST(Config, Tokens) {
  TokenValues v;
  v.set('u', "bob");
  v.set('h', "/home/bob");
  v.set('U', "1000");
  v.set('f', "SHA256:abc");
  auto p = expand_tokens("%h/.ssh/keys_%u_%U %%", TokenSet::kAuthorizedKeysFile, v);
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, "/home/bob/.ssh/keys_bob_1000 %");
  EXPECT_EQ(*expand_tokens("/bin/check %u %f", TokenSet::kAuthorizedKeysCommand, v),
            "/bin/check bob SHA256:abc");
  auto bad = expand_tokens("/srv/%f", TokenSet::kChrootDirectory, v);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "unknown key %f");
  EXPECT_FALSE(expand_tokens("/srv/%", TokenSet::kChrootDirectory, v));
}

}  // namespace
}  // namespace postern::config

namespace postern::config {
namespace {

// LogVerbose: the tags of log calls ("FILE:FUNCTION():LINE", FILE a base name) the patterns
// force, with OpenSSH's pattern-list syntax inside each word.
TEST(Config, LogVerbosePatternsForceLogCallsByPlace) {
  EXPECT_FALSE(log_forced("../monitor/monitor.cpp", "handle", 300));  // no filter installed
  apply_log_verbose(parse_ok("LogVerbose monitor.cpp:* *:kex_*():*,!*:kex_bad():* x.cpp:*:1?\n"));
  EXPECT_TRUE(log_forced("../monitor/monitor.cpp", "handle", 300));
  EXPECT_TRUE(log_forced("/abs/net/kexinit.cpp", "kex_negotiate", 7));
  EXPECT_FALSE(log_forced("/abs/net/kexinit.cpp", "kex_bad", 7));
  EXPECT_TRUE(log_forced("x.cpp", "f", 12));
  EXPECT_FALSE(log_forced("x.cpp", "f", 120));
  EXPECT_FALSE(log_forced("../monitor/monitor_test.cpp", "handle", 300));
  apply_log_verbose(parse_ok(""));
  EXPECT_FALSE(log_forced("../monitor/monitor.cpp", "handle", 300));
}

}  // namespace
}  // namespace postern::config
