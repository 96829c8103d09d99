// run_connection() over a socketpair with real transports at both ends and no privilege
// separation: the session process's poll loop, zero-copy packets through real ciphers, and the
// end of the connection.
#include "session/session.h"

#include <openssl/evp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <functional>

#include "common/ssh_key.h"
#include "common/wire.h"
#include "net/transport_local_signer.h"
#include "session/connection_messages.h"

namespace postern::session {
namespace {

class NoPty : public PrivilegedOps {
 public:
  Result<PtyAllocation> allocate_pty() override { return Unexpected("no pty in this test"); }
};

// The client end: a Transport driven over a blocking-free poll loop on its socket.
class Client {
 public:
  Client(net::Transport& t, int fd) : m_t(t), m_fd(fd) {}

  // Runs until `done` holds, handing every message to `on_message`.
  bool run_until(const std::function<bool()>& done, const std::function<void(ByteView)>& on_message,
                 int seconds = 60) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    uint8_t buf[65536];
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      pollfd p{m_fd, short(POLLIN | (m_t.has_output() ? POLLOUT : 0)), 0};
      if (::poll(&p, 1, 100) < 0) return false;
      if (p.revents & POLLOUT) {
        ByteView out = m_t.pending_output();
        ssize_t w = ::write(m_fd, out.data(), out.size());
        if (w > 0) m_t.consume_output(size_t(w));
      }
      if (p.revents & (POLLIN | POLLHUP)) {
        ssize_t r = ::read(m_fd, buf, sizeof buf);
        if (r <= 0) return done();
        m_t.received(ByteView(buf, size_t(r)));
        while (auto m = m_t.next_message()) on_message(*m);
      }
    }
    return true;
  }
  void flush() {
    while (m_t.has_output()) {
      ByteView out = m_t.pending_output();
      ssize_t w = ::write(m_fd, out.data(), out.size());
      if (w <= 0) return;
      m_t.consume_output(size_t(w));
    }
  }

 private:
  net::Transport& m_t;
  int m_fd;
};

void handshake(net::Transport& client, net::Transport& server) {
  for (int i = 0; i < 100; ++i) {
    bool moved = false;
    for (auto [from, to] : {std::pair{&client, &server}, std::pair{&server, &client}}) {
      while (from->has_output()) {
        ByteView out = from->pending_output();
        to->received(out);
        from->consume_output(out.size());
        moved = true;
      }
      while (to->next_message()) {
      }
    }
    if (!moved) break;
  }
}

TEST(RunConnection, ExecAndStreamOverRealTransport) {
  ::signal(SIGPIPE, SIG_IGN);
  auto key = PrivateKey::generate(KeyType::kEd25519);
  ASSERT_TRUE(key.has_value());
  net::LocalHostKeySigner signer({std::move(*key)});
  net::TransportConfig sc;
  sc.role = net::Role::kServer;
  sc.host_key_signer = &signer;
  sc.host_key_algorithms = {"ssh-ed25519"};
  sc.kex_algorithms = {"curve25519-sha256"};
  sc.ciphers = {"aes128-gcm@openssh.com"};
  net::TransportConfig cc;
  cc.role = net::Role::kClient;
  cc.kex_algorithms = sc.kex_algorithms;
  cc.ciphers = sc.ciphers;
  cc.verify_host_key = [](ByteView) { return true; };
  net::Transport server(sc), client(cc);
  handshake(client, server);
  ASSERT_TRUE(server.first_kex_done());
  ASSERT_TRUE(client.first_kex_done());

  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  struct passwd* pw = ::getpwuid(::getuid());
  ASSERT_NE(pw, nullptr);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(sv[0]);
    Account user{pw->pw_name, pw->pw_uid, pw->pw_gid, pw->pw_dir, "/bin/sh"};
    ConnectionEnds peer{{"127.0.0.1", 40000}, {"127.0.0.1", 22}};
    SessionOptions options;
    NoPty privileged;
    _exit(run_connection(server, sv[1], user, peer, options, privileged));
  }
  ::close(sv[1]);

  Client c(client, sv[0]);
  uint32_t server_id = UINT32_MAX, window = 0;
  uint64_t received = 0, client_window = 1 << 20, adjusted = 0;
  std::string err;
  std::vector<std::string> events;
  EVP_MD_CTX* in_hash = EVP_MD_CTX_new();
  EVP_MD_CTX* out_hash = EVP_MD_CTX_new();
  EVP_DigestInit_ex(in_hash, EVP_sha256(), nullptr);
  EVP_DigestInit_ex(out_hash, EVP_sha256(), nullptr);
  auto on_message = [&](ByteView m) {
    Reader r(m);
    switch (r.u8()) {
      case kMsgChannelOpenConfirmation:
        r.u32();
        server_id = r.u32();
        window = r.u32();
        break;
      case kMsgChannelWindowAdjust:
        r.u32();
        window += r.u32();
        break;
      case kMsgChannelData: {
        r.u32();
        ByteView d = r.string();
        received += d.size();
        EXPECT_LE(received, client_window);
        EVP_DigestUpdate(in_hash, d.data(), d.size());
        break;
      }
      case kMsgChannelExtendedData: {
        r.u32();
        r.u32();
        err += as_string(r.string());
        break;
      }
      case kMsgChannelEof:
        events.push_back("eof");
        break;
      case kMsgChannelClose:
        events.push_back("close");
        break;
      case kMsgChannelRequest: {
        r.u32();
        std::string req(r.text());
        r.boolean();
        events.push_back(req + " " + std::to_string(r.u32()));
        break;
      }
      case kMsgChannelSuccess:
        events.push_back("success");
        break;
    }
  };

  ChannelOpenMsg open{"session", 0, uint32_t(client_window), 32768, {}};
  client.send(encode(open));
  ASSERT_TRUE(c.run_until([&] { return server_id != UINT32_MAX; }, on_message));
  ChannelRequestMsg exec{server_id, "exec", true, Rest{}};
  Writer cmd;
  cmd.string("cat; echo done >&2; exit 9");
  exec.data.bytes = cmd.take();
  client.send(encode(exec));

  // 32 MiB through cat and back, both directions respecting the windows.
  const uint64_t total = 32ull << 20;
  uint64_t sent = 0;
  Bytes chunk(32768);
  for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = uint8_t(i * 7 + 3);
  bool eof_sent = false;
  auto step = [&] {
    while (sent < total && window > 0 && client.pending_output().size() < (1 << 20)) {
      size_t n = size_t(std::min<uint64_t>({chunk.size(), window, total - sent}));
      chunk[0] = uint8_t(sent >> 15);
      EVP_DigestUpdate(out_hash, chunk.data(), n);
      Writer w;
      w.u8(kMsgChannelData).u32(server_id).string(ByteView(chunk.data(), n));
      client.send(w.buffer());
      sent += n;
      window -= uint32_t(n);
    }
    if (sent == total && !eof_sent) {
      ChannelEofMsg eof{server_id};
      client.send(encode(eof));
      eof_sent = true;
    }
    if (received - adjusted >= (256 << 10)) {
      ChannelWindowAdjustMsg adj{server_id, uint32_t(received - adjusted)};
      client_window += received - adjusted;
      adjusted = received;
      client.send(encode(adj));
    }
    return !events.empty() && events.back() == "close";
  };
  ASSERT_TRUE(c.run_until(step, on_message, 120));
  EXPECT_EQ(received, total);
  uint8_t a[32], b[32];
  unsigned n = 0;
  EVP_DigestFinal_ex(in_hash, a, &n);
  EVP_DigestFinal_ex(out_hash, b, &n);
  EVP_MD_CTX_free(in_hash);
  EVP_MD_CTX_free(out_hash);
  EXPECT_EQ(0, std::memcmp(a, b, 32));
  EXPECT_EQ(err, "done\n");
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(std::vector<std::string>(events.end() - 3, events.end()),
            (std::vector<std::string>{"exit-status 9", "eof", "close"}));

  // The client closes its end of the channel and disconnects; the session process exits 0.
  ChannelCloseMsg close{server_id};
  client.send(encode(close));
  client.send_disconnect(11, "disconnected by user");
  c.flush();
  ::shutdown(sv[0], SHUT_WR);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  ::close(sv[0]);
}

}  // namespace
}  // namespace postern::session
