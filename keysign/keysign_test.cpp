#include "keysign/keysign.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/unique_fd.h"
#include "common/wire.h"

namespace postern::keysign {
namespace {

namespace fs = std::filesystem;

// What OpenSSH 9.2's ssh wrote to /usr/lib/openssh/ssh-keysign's stdin and read back from it
// for a hostbased login to 127.0.0.1 (captured with strace): the request payload, socket fd 3,
// and the reply payload, an Ed25519 signature by the host key named in the request.
constexpr const char* kRealRequest =
    "0200000003000000c800000040ce936ebb8152c9d86e864d32ab2d60f52524afe27437395fce364979a9d64fb65432"
    "4c"
    "a529293de7d741c52001ec4588bcff59229345b597641d2a5b41857c763200000004726f6f740000000e7373682d63"
    "6f"
    "6e6e656374696f6e00000009686f737462617365640000000b7373682d65643235353139000000330000000b737368"
    "2d"
    "6564323535313900000020ee02498dd7fd0d43c755ee670ad69b4361234c2f18982115edd47498874101f30000000a"
    "6c"
    "6f63616c686f73742e00000004726f6f74";
constexpr const char* kRealReply =
    "02000000530000000b7373682d656432353531390000004064ca7abca75cf502e71f43f00c5bdd33026ce61ea3cd63"
    "8a0dfb41e8fea0dc4513b9de87ea394a6298650c5ea260afd89df04a9b307dad0b6d81a342750c3300";

TEST(Keysign, RealClientExchange) {
  auto req = parse_request(from_hex(kRealRequest));
  ASSERT_TRUE(req) << req.error().message;
  EXPECT_EQ(req->version, 2);
  EXPECT_EQ(req->socket_fd, 3u);
  auto d = parse_hostbased_data(req->data);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->session_id.size(), 64u);
  EXPECT_EQ(d->user, "root");
  EXPECT_EQ(d->service, "ssh-connection");
  EXPECT_EQ(d->method, "hostbased");
  EXPECT_EQ(d->algorithm, "ssh-ed25519");
  EXPECT_EQ(d->client_host, "localhost.");
  EXPECT_EQ(d->client_user, "root");
  EXPECT_EQ(encode_request(*req), from_hex(kRealRequest));

  // The reply is "byte 2, string signature", the signature over exactly the request's data.
  Bytes reply = from_hex(kRealReply);
  Reader r(reply);
  EXPECT_EQ(r.u8(), 2);
  ByteView sig = r.string();
  r.expect_done();
  auto key = PublicKey::from_blob(d->key_blob);
  ASSERT_TRUE(key);
  EXPECT_TRUE(key->verify(sig, req->data));
  EXPECT_EQ(encode_reply(sig), reply);
}

TEST(Keysign, Framing) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  UniqueFd rd(p[0]), wr(p[1]);
  Bytes payload = from_hex(kRealRequest);
  ASSERT_TRUE(write_message(wr.get(), payload));
  auto got = read_message(rd.get());
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(*got, payload);

  // Short input, an empty or oversized message: errors, not hangs.
  const uint8_t partial[] = {0, 0, 0, 10, 1, 2};
  ASSERT_EQ(write(wr.get(), partial, sizeof partial), ssize_t(sizeof partial));
  wr.reset();
  EXPECT_FALSE(read_message(rd.get()));
  for (Bytes header : {Bytes{0, 0, 0, 0}, Bytes{0x7f, 0xff, 0xff, 0xff}}) {
    ASSERT_EQ(pipe(p), 0);
    UniqueFd r2(p[0]), w2(p[1]);
    ASSERT_EQ(write(w2.get(), header.data(), header.size()), 4);
    EXPECT_FALSE(read_message(r2.get()));
  }
  // Versions other than 2 and trailing bytes are refused.
  Bytes v1 = payload;
  v1[0] = 1;
  EXPECT_FALSE(parse_request(v1));
  Bytes longer = payload;
  longer.push_back(0);
  EXPECT_FALSE(parse_request(longer));
}

Bytes hostbased_data(const PublicKey& key, const std::string& alg, ByteView blob,
                     const std::string& service = "ssh-connection",
                     const std::string& method = "hostbased",
                     const std::string& chost = "client.example.",
                     const std::string& cuser = "alice") {
  Writer w;
  w.string(ByteView(Bytes(32, 7))).u8(50).string("bob").string(service).string(method);
  w.string(alg).string(blob).string(chost).string(cuser);
  (void)key;
  return w.take();
}

Request request_for(Bytes data) {
  Request r;
  r.version = 2;
  r.socket_fd = 3;
  r.data = std::move(data);
  return r;
}

class KeysignSign : public ::testing::Test {
 protected:
  void SetUp() override {
    for (KeyType t : {KeyType::kEd25519, KeyType::kEcdsaP256, KeyType::kRsa}) {
      auto k = PrivateKey::generate(t, 2048);
      ASSERT_TRUE(k);
      m_keys.push_back(HostKey{std::move(*k), {}});
    }
  }
  Policy m_policy{"client.example.", "alice"};
  std::vector<HostKey> m_keys;
};

TEST_F(KeysignSign, SignsWithTheMatchingHostKey) {
  for (const auto& hk : m_keys) {
    const PublicKey& pub = hk.key.public_key();
    for (const auto& alg : pub.signature_algorithms()) {
      SCOPED_TRACE(alg);
      Bytes data = hostbased_data(pub, alg, pub.blob());
      auto sig = sign_request(request_for(data), m_keys, m_policy);
      ASSERT_TRUE(sig) << sig.error().message;
      std::string used;
      EXPECT_TRUE(pub.verify(*sig, data, &used));
      EXPECT_EQ(used, alg);
    }
  }
}

TEST_F(KeysignSign, RefusesAnythingButThisHostsHostbasedRequest) {
  const PublicKey& pub = m_keys[0].key.public_key();
  auto refused = [&](Bytes data) {
    return !sign_request(request_for(std::move(data)), m_keys, m_policy);
  };
  EXPECT_TRUE(refused(hostbased_data(pub, "ssh-ed25519", pub.blob(), "ssh-userauth")));
  EXPECT_TRUE(
      refused(hostbased_data(pub, "ssh-ed25519", pub.blob(), "ssh-connection", "publickey")));
  EXPECT_TRUE(refused(hostbased_data(pub, "ssh-ed25519", pub.blob(), "ssh-connection", "hostbased",
                                     "other.example.")));
  EXPECT_TRUE(refused(hostbased_data(pub, "ssh-ed25519", pub.blob(), "ssh-connection", "hostbased",
                                     "client.example.", "root")));
  // The algorithm must fit the key; a key this host does not have is not signed for.
  EXPECT_TRUE(refused(hostbased_data(pub, "rsa-sha2-256", pub.blob())));
  auto other = PrivateKey::generate(KeyType::kEd25519);
  ASSERT_TRUE(other);
  EXPECT_TRUE(refused(hostbased_data(pub, "ssh-ed25519", other->public_key().blob())));
  // Not a userauth request, or trailing bytes.
  Bytes data = hostbased_data(pub, "ssh-ed25519", pub.blob());
  Bytes bad = data;
  bad[4 + 32] = 51;
  EXPECT_TRUE(refused(bad));
  bad = data;
  bad.push_back(0);
  EXPECT_TRUE(refused(bad));
  for (size_t n = 0; n < data.size(); ++n)
    EXPECT_TRUE(refused(Bytes(data.begin(), data.begin() + long(n))));
}

class KeysignFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/postern-keysign-test.XXXXXX";
    m_dir = mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(m_dir); }
  void write(const std::string& name, const std::string& text) {
    fs::create_directories((m_dir / name).parent_path());
    std::ofstream(m_dir / name) << text;
  }
  bool enabled() { return keysign_enabled((m_dir / "ssh_config").string()); }
  fs::path m_dir;
};

TEST_F(KeysignFiles, EnableSshKeysign) {
  EXPECT_FALSE(enabled());  // no file
  write("ssh_config", "# nothing\n");
  EXPECT_FALSE(enabled());
  write("ssh_config", "EnableSSHKeysign yes\n");
  EXPECT_TRUE(enabled());
  write("ssh_config", "  enablesshkeysign=YES\n");
  EXPECT_TRUE(enabled());
  write("ssh_config", "EnableSSHKeysign no\nEnableSSHKeysign yes\n");
  EXPECT_FALSE(enabled());
  write("ssh_config", "Host foo\n  EnableSSHKeysign yes\n");
  EXPECT_FALSE(enabled());
  write("ssh_config", "Host foo\n  EnableSSHKeysign no\nHost *\n  EnableSSHKeysign yes\n");
  EXPECT_TRUE(enabled());
  write("ssh_config", "Match all\n  EnableSSHKeysign yes\n");
  EXPECT_TRUE(enabled());
  // Debian's layout: the main file includes ssh_config.d/*.conf first.
  write("ssh_config.d/50-keysign.conf", "EnableSSHKeysign yes\n");
  write("ssh_config", "Include ssh_config.d/*.conf\nHost *\n  SendEnv LANG\n");
  EXPECT_TRUE(enabled());
  write("ssh_config", "EnableSSHKeysign no\nInclude ssh_config.d/*.conf\n");
  EXPECT_FALSE(enabled());
  // An include loop ends.
  write("ssh_config", "Include ssh_config\n");
  EXPECT_FALSE(enabled());
}

TEST_F(KeysignFiles, LoadsHostKeysAndCertificates) {
  if (access("/usr/bin/ssh-keygen", X_OK) != 0) GTEST_SKIP() << "ssh-keygen not installed";
  std::string d = m_dir.string();
  ASSERT_EQ(std::system(("ssh-keygen -q -N '' -t ed25519 -f " + d +
                         "/ssh_host_ed25519_key && "
                         "ssh-keygen -q -N '' -t ed25519 -f " +
                         d +
                         "/ca && "
                         "ssh-keygen -q -s " +
                         d + "/ca -h -I host -n client.example " + d + "/ssh_host_ed25519_key.pub")
                            .c_str()),
            0);
  auto keys = load_host_keys({d + "/ssh_host_ed25519_key", d + "/ssh_host_rsa_key"});
  ASSERT_EQ(keys.size(), 1u);
  ASSERT_EQ(keys[0].certificates.size(), 1u);
  const Certificate& cert = keys[0].certificates[0];
  Bytes data = hostbased_data(cert.key(), "ssh-ed25519-cert-v01@openssh.com", cert.blob());
  auto sig = sign_request(request_for(data), keys, {"client.example.", "alice"});
  ASSERT_TRUE(sig) << sig.error().message;
  EXPECT_TRUE(cert.key().verify(*sig, data));
  data = hostbased_data(cert.key(), "ssh-rsa-cert-v01@openssh.com", cert.blob());
  EXPECT_FALSE(sign_request(request_for(data), keys, {"client.example.", "alice"}));
}

// A connected TCP socket over loopback, as the ssh client's connection would be.
struct Loopback {
  UniqueFd listener, client, server;
};
Loopback loopback() {
  Loopback l;
  l.listener.reset(socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(l.listener.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      listen(l.listener.get(), 1) != 0 ||
      getsockname(l.listener.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
    std::abort();
  l.client.reset(socket(AF_INET, SOCK_STREAM, 0));
  if (connect(l.client.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) std::abort();
  l.server.reset(accept(l.listener.get(), nullptr, nullptr));
  return l;
}

TEST(Keysign, LocalHostName) {
  Loopback l = loopback();
  auto name = local_host_name(l.client.get());
  ASSERT_TRUE(name) << name.error().message;
  EXPECT_FALSE(name->empty());
  EXPECT_EQ(name->back(), '.');
  for (char c : *name) EXPECT_FALSE(isupper(static_cast<unsigned char>(c)));
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  UniqueFd a(p[0]), b(p[1]);
  // A ProxyCommand connection is a pipe: the host's own name, as the client sends it then.
  char host[256] = {};
  ASSERT_EQ(gethostname(host, sizeof host - 1), 0);
  auto piped = local_host_name(a.get());
  ASSERT_TRUE(piped) << piped.error().message;
  EXPECT_EQ(*piped, std::string(host) + ".");
}

// Runs the helper binary (built to read its keys and ssh_config from KEYSIGN_TEST_DIR) as the
// ssh client does: request on stdin, reply on stdout, the connection socket inherited as fd 3.
class KeysignBinary : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* bin = getenv("KEYSIGN_BINARY");
    const char* dir = getenv("KEYSIGN_TEST_DIR");
    if (!bin || !dir) GTEST_SKIP() << "run through meson test";
    m_bin = bin;
    m_dir = dir;
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
    auto key = PrivateKey::generate(KeyType::kEd25519);
    ASSERT_TRUE(key);
    std::ofstream(m_dir / "ssh_host_ed25519_key") << key->to_openssh_text();
    fs::permissions(m_dir / "ssh_host_ed25519_key", fs::perms::owner_read);
    m_pub = key->public_key().blob();
  }
  void TearDown() override {
    if (!m_dir.empty()) fs::remove_all(m_dir);
  }

  // Returns the exit status; `reply` receives stdout.
  int run(ByteView framed_request, int sock, Bytes& reply) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) std::abort();
    pid_t pid = fork();
    if (pid == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 2);
      if (sock != 3) {
        dup2(sock, 3);
      }
      for (int fd = 4; fd < 64; ++fd) close(fd);
      execl(m_bin.c_str(), "ssh-keysign", static_cast<char*>(nullptr));
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    if (::write(in[1], framed_request.data(), framed_request.size()) < 0) std::abort();
    close(in[1]);
    uint8_t buf[4096];
    ssize_t n;
    while ((n = read(out[0], buf, sizeof buf)) > 0) reply.insert(reply.end(), buf, buf + n);
    close(out[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  Bytes framed(const Bytes& data) {
    Writer w;
    w.string(ByteView(encode_request(request_for(data))));
    return w.take();
  }

  std::string m_bin;
  fs::path m_dir;
  Bytes m_pub;
};

TEST_F(KeysignBinary, SignsWhenEnabledAndRefusesOtherwise) {
  Loopback l = loopback();
  auto host = local_host_name(l.client.get());
  ASSERT_TRUE(host);
  passwd* pw = getpwuid(getuid());
  ASSERT_NE(pw, nullptr);
  auto pub = PublicKey::from_blob(m_pub);
  ASSERT_TRUE(pub);
  Bytes data =
      hostbased_data(*pub, "ssh-ed25519", m_pub, "ssh-connection", "hostbased", *host, pw->pw_name);

  Bytes reply;
  EXPECT_NE(run(framed(data), l.client.get(), reply), 0);  // no ssh_config: not enabled
  EXPECT_TRUE(reply.empty());

  std::ofstream(m_dir / "ssh_config") << "EnableSSHKeysign yes\n";
  reply.clear();
  ASSERT_EQ(run(framed(data), l.client.get(), reply), 0);
  Reader r(reply);
  ByteView payload = r.string();
  r.expect_done();
  Reader pr(payload);
  EXPECT_EQ(pr.u8(), 2);
  ByteView sig = pr.string();
  pr.expect_done();
  EXPECT_TRUE(pub->verify(sig, data));

  // A request for another client host is refused with no reply.
  Bytes wrong = hostbased_data(*pub, "ssh-ed25519", m_pub, "ssh-connection", "hostbased",
                               "elsewhere.example.", pw->pw_name);
  reply.clear();
  EXPECT_NE(run(framed(wrong), l.client.get(), reply), 0);
  EXPECT_TRUE(reply.empty());
}

}  // namespace
}  // namespace postern::keysign
