// The monitor's bastion requests (monitor_bastion.cpp) against a real policy, a real CA key and
// real listening sockets: a refused target is never contacted, an allowed one is connected and
// its socket passed, the host key is checked before anything is certified, a certificate is
// issued once and only for the login's target user, and every decision is an audit line.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "bastion/audit_index_db.h"
#include "bastion/policy.h"
#include "common/ipc_bastion_messages.h"
#include "common/ssh_cert.h"
#include "common/wire.h"
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

// A listening socket on 127.0.0.1 that records whether anyone connected.
struct Listener {
  Listener() {
    fd.reset(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    socklen_t len = sizeof sa;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sa), &len);
    port = ntohs(sa.sin_port);
    EXPECT_EQ(::listen(fd.get(), 4), 0);
  }
  bool contacted() {
    UniqueFd c(::accept(fd.get(), nullptr, nullptr));
    return bool(c);
  }
  UniqueFd fd;
  int port = 0;
};

std::string read_file(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class MonitorBastionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/postern-mbt-XXXXXX";
    dir = ::mkdtemp(tmpl);
    ASSERT_EQ(std::system(("ssh-keygen -q -t ed25519 -N '' -f " + (dir / "ca").string()).c_str()),
              0);
    std::ofstream(dir / "templates.json") << R"([{"name": "t", "description": "d",
      "service": "SSH", "type": "openssh", "key_id": "%P@postern from %R serial %S",
      "principals": [], "extensions": ["permit-pty"]}])";
    std::ofstream(dir / "known_hosts") << "";
    std::string d = dir.string();
    std::string toml =
        "[bastion]\nca_key = \"" + d + "/ca\"\ntemplates = \"" + d +
        "/templates.json\"\nknown_hosts = \"" + d + "/known_hosts\"\n" + "audit_log = \"" + d +
        "/audit.jsonl\"\nserial_file = \"" + d + "/serial\"\nrecordings = \"" + d + "/rec\"\n\n" +
        "[[target]]\nname = \"web1\"\naddress = \"127.0.0.1\"\nport = " +
        std::to_string(web1.port) + "\nusers = [\"deploy\", \"root\"]\n\n" +
        "[[target]]\nname = \"secret\"\naddress = \"127.0.0.1\"\nport = " +
        std::to_string(secret.port) + "\nusers = [\"root\"]\n\n" +
        "[[role]]\nname = \"ops\"\nmembers = [\"alice\"]\ntargets = [\"web1\"]\n" +
        "target_users = [\"deploy\"]\nchannels = [\"shell\", \"exec\", "
        "\"direct-tcpip\", \"sftp\", \"scp\"]\ncredential = \"certificate\"\ntemplate = \"t\"\n\n" +
        "[[role]]\nname = \"robots\"\nmembers = [\"ci-robot\"]\n" +
        "targets = [\"web1\"]\ntarget_users = [\"deploy\"]\nchannels = " +
        "[\"exec\"]\ntemplate = \"t\"\nissue_certificates = true\n";
    std::ofstream(dir / "bastion.toml") << toml;
    auto policy = bastion::load_policy((dir / "bastion.toml").string());
    ASSERT_TRUE(policy) << policy.error().message;
    session = std::make_unique<BastionSession>(std::move(*policy), Endpoint{"192.0.2.1", 5555, ""});
    config = config::default_server_config();
    monitor = std::make_unique<Monitor>(config, std::vector<HostKeyEntry>{},
                                        Endpoint{"192.0.2.1", 5555, ""},
                                        Endpoint{"192.0.2.2", 2222, ""}, backend);
    monitor->set_bastion(session.get());
    MonitorPhaseProbe::set(*monitor, Phase::kBastion);
  }
  // The connection ends first: its session index writer drains into dir before dir goes.
  void TearDown() override {
    monitor->set_bastion(nullptr);
    session.reset();
    fs::remove_all(dir);
  }

  void login(const std::string& name) {
    auto user = session->set_user_name(name);
    ASSERT_TRUE(user);
    session->set_logged_in(*user, {});
  }
  template <typename Req>
  Result<typename Req::Reply> call(Req req) {
    return child.call(*monitor, std::move(req));
  }
  std::string audit() { return read_file(dir / "audit.jsonl"); }
  // The fixture's policy with more lines in its [bastion] table.
  void reload_policy_with(const std::string& bastion_lines) {
    std::string toml = read_file(dir / "bastion.toml");
    toml.insert(toml.find("\n\n"), "\n" + bastion_lines);
    std::ofstream(dir / "bastion.toml") << toml;
    auto policy = bastion::load_policy((dir / "bastion.toml").string());
    ASSERT_TRUE(policy) << policy.error().message;
    auto fresh =
        std::make_unique<BastionSession>(std::move(*policy), Endpoint{"192.0.2.1", 5555, ""});
    monitor->set_bastion(fresh.get());
    session = std::move(fresh);
  }

  Listener web1, secret;
  fs::path dir;
  std::unique_ptr<BastionSession> session;
  testing::TwoAccounts backend;
  config::ServerConfig config;
  std::unique_ptr<Monitor> monitor;
  testing::FakeChild child;
};

TEST_F(MonitorBastionTest, RefusedTargetIsNeverContacted) {
  login("root%secret%alice");
  auto r = call(TargetOpenRequest{"secret", 0, "root", "session", ""});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->allowed);
  EXPECT_NE(r->message.find("secret"), std::string::npos) << r->message;
  EXPECT_FALSE(secret.contacted());
  EXPECT_NE(audit().find("\"decision\":\"deny\""), std::string::npos) << audit();
}

TEST_F(MonitorBastionTest, EveryAuditedLineReachesTheSessionIndexByTheConnectionsEnd) {
  login("root%secret%alice");
  auto refused = call(TargetOpenRequest{"secret", 0, "root", "session", ""});
  ASSERT_TRUE(refused) << refused.error().message;
  EXPECT_FALSE(refused->allowed);
  login("root%web1%alice");
  auto opened = call(TargetOpenRequest{"web1", 0, "root", "session", ""});
  ASSERT_TRUE(opened) << opened.error().message;
  monitor->set_bastion(nullptr);
  session.reset();  // the end of the connection: the index's queue drains
  std::istringstream log(audit());
  std::vector<bastion::DbRow> logged;
  for (std::string line; std::getline(log, line);) logged.push_back({line});
  ASSERT_GE(logged.size(), 2u);
  auto db = bastion::open_sqlite_index((dir / "audit.db").string(), false);
  ASSERT_TRUE(db) << db.error().message;
  auto lines = (*db)->query("SELECT line FROM events ORDER BY seq");
  ASSERT_TRUE(lines) << lines.error().message;
  EXPECT_EQ(*lines, logged);
}

TEST_F(MonitorBastionTest, AllowedTargetIsConnectedAndItsSocketPassed) {
  login("deploy%web1%alice");
  // A reply with descriptors: read it as the child does.
  auto r = call(TargetOpenRequest{"web1", 0, "deploy", "session", ""});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->allowed) << r->message;
  EXPECT_EQ(r->credential, "certificate");
  EXPECT_TRUE(web1.contacted());
  EXPECT_NE(audit().find("\"event\":\"target-open\""), std::string::npos) << audit();
  // Only the login's route, once.
  EXPECT_THROW((void)call(TargetOpenRequest{"web1", 0, "deploy", "session", ""}), ProtocolError);
}

TEST_F(MonitorBastionTest, ASessionForAnotherRouteThanTheLoginsIsFatal) {
  login("deploy%web1%alice");
  EXPECT_THROW((void)call(TargetOpenRequest{"web1", 0, "root", "session", ""}), ProtocolError);
}

TEST_F(MonitorBastionTest, JumpConnectionsCarryNoTargetUser) {
  login("alice");
  EXPECT_THROW((void)call(TargetOpenRequest{"web1", 0, "deploy", "direct-tcpip", ""}), ProtocolError);
  auto r = call(TargetOpenRequest{"web1", uint32_t(web1.port), "", "direct-tcpip", "::1:40000"});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->allowed) << r->message;
  auto s = call(TargetOpenRequest{"secret", 0, "", "direct-tcpip", "::1:40000"});
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->allowed);
  EXPECT_FALSE(secret.contacted());
}

TEST_F(MonitorBastionTest, HostKeyFirstThenOneCertificateForTheTargetUser) {
  login("deploy%web1%alice");
  auto r = call(TargetOpenRequest{"web1", 0, "deploy", "session", ""});
  ASSERT_TRUE(r && r->allowed);
  auto eph = PrivateKey::generate(KeyType::kEd25519);
  ASSERT_TRUE(eph);
  Bytes pub = eph->public_key().blob();
  // No certificate before the target's host key was accepted.
  EXPECT_THROW((void)call(TargetCertRequest{r->target_id, pub}), ProtocolError);

  auto hk = PrivateKey::generate(KeyType::kEd25519);
  ASSERT_TRUE(hk);
  auto v = call(TargetHostKeyRequest{r->target_id, hk->public_key().blob()});
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->accepted);  // strict, and known_hosts is empty
  EXPECT_NE(v->message.find("host key"), std::string::npos) << v->message;
  EXPECT_NE(v->message.find("web1"), std::string::npos) << v->message;
  EXPECT_NE(v->message.find(hk->public_key().fingerprint_sha256()), std::string::npos);
  EXPECT_THROW((void)call(TargetCertRequest{r->target_id, pub}), ProtocolError);
}

TEST_F(MonitorBastionTest, CertificateNamesTheTargetUserAndTheSession) {
  auto hk = PrivateKey::generate(KeyType::kEd25519);
  ASSERT_TRUE(hk);
  std::ofstream(dir / "known_hosts")
      << "[127.0.0.1]:" << web1.port << " " << hk->public_key().to_openssh_text() << "\n";
  login("deploy%web1%alice");
  auto r = call(TargetOpenRequest{"web1", 0, "deploy", "session", ""});
  ASSERT_TRUE(r && r->allowed);
  auto v = call(TargetHostKeyRequest{r->target_id, hk->public_key().blob()});
  ASSERT_TRUE(v);
  ASSERT_TRUE(v->accepted) << v->message;
  auto eph = PrivateKey::generate(KeyType::kEd25519);
  ASSERT_TRUE(eph);
  auto c = call(TargetCertRequest{r->target_id, eph->public_key().blob()});
  ASSERT_TRUE(c) << c.error().message;
  auto cert = Certificate::from_blob(c->certificate);
  ASSERT_TRUE(cert) << cert.error().message;
  EXPECT_EQ(cert->principals(), std::vector<std::string>{"deploy"});
  EXPECT_NE(cert->key_id().find(session->id()), std::string::npos) << cert->key_id();
  EXPECT_NE(cert->key_id().find("alice@postern from 192.0.2.1"), std::string::npos);
  EXPECT_TRUE(cert->key() == eph->public_key());
  // Once per target.
  EXPECT_THROW((void)call(TargetCertRequest{r->target_id, eph->public_key().blob()}), ProtocolError);
}

TEST_F(MonitorBastionTest, ChannelsAreDecidedByTheRoleAndAudited) {
  login("deploy%web1%alice");
  auto r = call(TargetOpenRequest{"web1", 0, "deploy", "session", ""});
  ASSERT_TRUE(r && r->allowed);
  auto shell = call(ChannelDecisionRequest{r->target_id, 0, "shell", ""});
  ASSERT_TRUE(shell);
  EXPECT_TRUE(shell->allowed);
  auto x11 = call(ChannelDecisionRequest{r->target_id, 1, "x11", ""});
  ASSERT_TRUE(x11);
  EXPECT_FALSE(x11->allowed);
  EXPECT_FALSE(x11->message.empty());
  EXPECT_THROW((void)call(ChannelDecisionRequest{r->target_id, 1, "telnet", ""}), ProtocolError);
  EXPECT_THROW((void)call(ChannelDecisionRequest{99, 1, "shell", ""}), ProtocolError);
  std::string a = audit();
  EXPECT_NE(a.find("\"event\":\"channel\""), std::string::npos) << a;
}

TEST_F(MonitorBastionTest, SignOnlyForKeyCredentials) {
  login("deploy%web1%alice");
  auto r = call(TargetOpenRequest{"web1", 0, "deploy", "session", ""});
  ASSERT_TRUE(r && r->allowed);
  EXPECT_THROW((void)call(TargetSignRequest{r->target_id, "ssh-ed25519", Bytes(40, 1)}), ProtocolError);
}

Bytes fresh_key_blob(KeyType type = KeyType::kEd25519, int bits = 3072) {
  auto k = PrivateKey::generate(type, bits);
  EXPECT_TRUE(k);
  return k ? k->public_key().blob() : Bytes{};
}

TEST_F(MonitorBastionTest, IssueCertCertifiesTheCallersKeyFromTheRolesTemplate) {
  login("ci-robot");
  Bytes key = fresh_key_blob();
  auto r = call(IssueCertRequest{"web1", 0, "deploy", key});
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(r->issued) << r->message;
  auto cert = Certificate::from_blob(r->certificate);
  ASSERT_TRUE(cert) << cert.error().message;
  EXPECT_EQ(cert->key().blob(), key);
  EXPECT_EQ(cert->principals(), std::vector<std::string>{"deploy"});
  EXPECT_NE(cert->key_id().find("ci-robot@postern from 192.0.2.1"), std::string::npos);
  EXPECT_NE(cert->key_id().find(session->id()), std::string::npos) << cert->key_id();
  EXPECT_EQ(cert->valid_before() - cert->valid_after(), 300u + 60u);  // from now - 60
  EXPECT_EQ(cert->signature_key().blob(),
            PrivateKey::load_file((dir / "ca").string())->public_key().blob());
  std::string a = audit();
  EXPECT_NE(a.find("\"event\":\"certificate-issued\""), std::string::npos) << a;
  EXPECT_NE(a.find("serial " + std::to_string(cert->serial())), std::string::npos) << a;
  EXPECT_NE(a.find(cert->key().fingerprint_sha256()), std::string::npos) << a;
  EXPECT_FALSE(web1.contacted());  // issuing connects to nothing
}

TEST_F(MonitorBastionTest, IssueCertRefusalsAreRepliesWithTheReasonAndAudited) {
  Bytes key = fresh_key_blob();
  Writer cert_like;
  cert_like.string("ssh-ed25519-cert-v01@openssh.com").string(Bytes(32, 1));
  login("ci-robot");
  struct Case {
    IssueCertRequest req;
    std::string message;
  } cases[] = {
      {{"web1", 0, "root", key}, "postern: no role lets ci-robot have certificates for root@web1"},
      {{"secret", 0, "root", key},
       "postern: no role lets ci-robot have certificates for root@secret"},
      {{"no such host!", 0, "deploy", key},
       "postern: \"no such host!\" is not a target or host name"},
      {{"web1", 0, "deploy", fresh_key_blob(KeyType::kRsa, 1024)},
       "postern: RSA key of 1024 bits is too weak (at least 2048)"},
      {{"web1", 0, "deploy", cert_like.buffer()},
       "postern: a certificate is no public key: send the plain key (id.pub)"},
      {{"web1", 0, "deploy", Bytes{1, 2, 3}}, "postern: not a public key"},
  };
  for (Case& c : cases) {
    auto r = call(c.req);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_FALSE(r->issued) << c.message;
    EXPECT_TRUE(r->certificate.empty());
    EXPECT_EQ(r->message, c.message);
  }
  std::string a = audit();
  size_t denies = 0;
  for (size_t at = a.find("\"decision\":\"deny\""); at != std::string::npos;
       at = a.find("\"decision\":\"deny\"", at + 1))
    ++denies;
  EXPECT_EQ(denies, std::size(cases)) << a;
  EXPECT_FALSE(secret.contacted());
}

TEST_F(MonitorBastionTest, IssueCertNeedsIssueCertificatesOnTheGrantingRole) {
  login("alice");  // ops grants alice deploy@web1, without issue_certificates
  auto r = call(IssueCertRequest{"web1", 0, "deploy", fresh_key_blob()});
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->issued);
  EXPECT_EQ(r->message, "postern: role ops may not issue certificates for deploy@web1");
}

TEST_F(MonitorBastionTest, IssueCertIsBoundedPerConnection) {
  login("ci-robot");
  Bytes key = fresh_key_blob();
  for (size_t i = 0; i < BastionSession::kMaxCertificates; ++i) {
    auto r = call(IssueCertRequest{"web1", 0, "deploy", key});
    ASSERT_TRUE(r && r->issued) << i;
  }
  auto over = call(IssueCertRequest{"web1", 0, "deploy", key});
  ASSERT_TRUE(over);
  EXPECT_FALSE(over->issued);
  EXPECT_NE(over->message.find("certificates per connection"), std::string::npos);
  // Fields no caller can produce are the child's bug: fatal.
  EXPECT_THROW((void)call(IssueCertRequest{std::string(300, 'a'), 0, "deploy", key}), ProtocolError);
}

TEST_F(MonitorBastionTest, RecordingIsOpenedByTheMonitorAndHashedAtClose) {
  login("deploy%web1%alice");
  auto r = call(TargetOpenRequest{"web1", 0, "deploy", "session", ""});
  ASSERT_TRUE(r && r->allowed);
  // Only for a channel the monitor allowed as that kind.
  EXPECT_THROW((void)call(RecordingOpenRequest{r->target_id, 0, "exec", 80, 24, "id", ""}),
               ProtocolError);
  ASSERT_TRUE(call(ChannelDecisionRequest{r->target_id, 0, "exec", "id"})->allowed);
  EXPECT_THROW((void)call(RecordingOpenRequest{r->target_id, 0, "shell", 80, 24, "", ""}), ProtocolError);
  auto rec = call(RecordingOpenRequest{r->target_id, 0, "exec", 0, 0, "id", ""});
  ASSERT_TRUE(rec) << rec.error().message;
  ASSERT_TRUE(rec->recorded);
  EXPECT_FALSE(rec->refused);
  EXPECT_EQ(rec->max_bytes, 64ull << 20);
  EXPECT_FALSE(rec->record_input);
  ASSERT_EQ(rec->fds.size(), 1u);
  // Once per channel.
  EXPECT_THROW((void)call(RecordingOpenRequest{r->target_id, 0, "exec", 80, 24, "id", ""}),
               ProtocolError);
  std::vector<fs::path> files;
  for (auto& e : fs::directory_iterator(dir / "rec")) files.push_back(e.path());
  ASSERT_EQ(files.size(), 1u);
  std::string name = files[0].filename().string();
  EXPECT_NE(name.find("_alice_deploy@web1_" + session->id() + ".cast"), std::string::npos) << name;
  EXPECT_EQ(fs::status(files[0]).permissions(), fs::perms::owner_read | fs::perms::owner_write);
  std::string header = read_file(files[0]);
  EXPECT_EQ(header.size(), rec->header_bytes);
  EXPECT_NE(header.find("\"width\":80,\"height\":24"), std::string::npos) << header;
  ASSERT_EQ(::write(rec->fds[0].get(), "[0.5, \"o\", \"x\"]\n", 17), 17);
  rec->fds.clear();
  child.send_only(*monitor, BastionEvent{"channel-close", r->target_id, 0, 1, 2, "0", ""});
  std::string a = audit();
  size_t close = a.find("\"event\":\"channel-close\"");
  ASSERT_NE(close, std::string::npos) << a;
  EXPECT_NE(a.find("\"recording\":\"" + files[0].string() + "\"", close), std::string::npos) << a;
  ASSERT_EQ(
      std::system(("sha256sum " + files[0].string() + " > " + (dir / "sum").string()).c_str()), 0);
  std::string sum = read_file(dir / "sum").substr(0, 64);
  EXPECT_NE(a.find("\"recording_sha256\":\"" + sum + "\"", close), std::string::npos) << a;
}

TEST_F(MonitorBastionTest, AnUnwritableRecordingsDirectoryRefusesTheChannel) {
  login("deploy%web1%alice");
  auto r = call(TargetOpenRequest{"web1", 0, "deploy", "session", ""});
  ASSERT_TRUE(r && r->allowed);
  std::ofstream(dir / "rec") << "not a directory";
  ASSERT_TRUE(call(ChannelDecisionRequest{r->target_id, 2, "shell", ""})->allowed);
  auto rec = call(RecordingOpenRequest{r->target_id, 2, "shell", 100, 30, "", "xterm"});
  ASSERT_TRUE(rec);
  EXPECT_FALSE(rec->recorded);
  EXPECT_TRUE(rec->refused);
  EXPECT_TRUE(rec->fds.empty());
  EXPECT_NE(rec->message.find("cannot write the recording"), std::string::npos) << rec->message;
  std::string a = audit();
  EXPECT_NE(a.find("\"event\":\"recording\""), std::string::npos) << a;
  EXPECT_NE(a.find("is not a directory"), std::string::npos) << a;
}

TEST_F(MonitorBastionTest, FileEventsOnlyWhenThePolicyRecordsSftp) {
  login("deploy%web1%alice");
  auto r = call(TargetOpenRequest{"web1", 0, "deploy", "session", ""});
  ASSERT_TRUE(r && r->allowed);
  // The default `record` (shell, exec) does not observe files, and then no file event is taken.
  auto plain = call(ChannelDecisionRequest{r->target_id, 0, "sftp", "sftp"});
  ASSERT_TRUE(plain && plain->allowed);
  EXPECT_FALSE(plain->observe_files);
  EXPECT_THROW(child.send_only(*monitor, BastionEvent{"file", r->target_id, 0, 5, 0, "", "x"}),
               ProtocolError);
}

TEST_F(MonitorBastionTest, FileEventsAreAuditedForSftpAndScpChannels) {
  reload_policy_with("record = [\"shell\", \"sftp\"]");
  login("deploy%web1%alice");
  auto r = call(TargetOpenRequest{"web1", 0, "deploy", "session", ""});
  ASSERT_TRUE(r && r->allowed);
  auto sftp = call(ChannelDecisionRequest{r->target_id, 3, "sftp", "sftp"});
  ASSERT_TRUE(sftp && sftp->allowed);
  EXPECT_TRUE(sftp->observe_files);
  auto scp = call(ChannelDecisionRequest{r->target_id, 4, "scp", "scp -t /tmp"});
  ASSERT_TRUE(scp && scp->allowed);
  EXPECT_TRUE(scp->observe_files);
  auto shell = call(ChannelDecisionRequest{r->target_id, 5, "shell", ""});
  ASSERT_TRUE(shell && shell->allowed);
  EXPECT_FALSE(shell->observe_files);
  child.send_only(*monitor, BastionEvent{"file", r->target_id, 3, 11, 0, "",
                                         "write /home/u/x.txt 11 bytes sha256=ab ok"});
  child.send_only(*monitor, BastionEvent{"file", r->target_id, 4, 0, 0, "", "mkdir /d ok"});
  std::string a = audit();
  size_t w = a.find("\"event\":\"file\"");
  ASSERT_NE(w, std::string::npos) << a;
  EXPECT_NE(a.find("\"channel\":\"sftp\"", w), std::string::npos) << a;
  EXPECT_NE(a.find("\"detail\":\"write /home/u/x.txt 11 bytes sha256=ab ok\"", w),
            std::string::npos)
      << a;
  EXPECT_NE(a.find("\"bytes_up\":11", w), std::string::npos) << a;
  EXPECT_NE(a.find("\"channel\":\"scp\""), std::string::npos) << a;
  // Not for a shell channel, nor with an exit status or bytes both ways.
  EXPECT_THROW(child.send_only(*monitor, BastionEvent{"file", r->target_id, 5, 0, 0, "", "x"}),
               ProtocolError);
  EXPECT_THROW(child.send_only(*monitor, BastionEvent{"file", r->target_id, 3, 1, 1, "", "x"}),
               ProtocolError);
}

}  // namespace
}  // namespace postern::monitor
