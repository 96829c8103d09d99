#include "common/ipc.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

namespace postern::ipc {
namespace {

struct EchoReply {
  static constexpr uint8_t kType = 2;
  std::string text;
  StringList words;
  Int32 number;
  std::vector<UniqueFd> fds;
  auto fields() { return std::tie(text, words, number); }
};

struct EchoRequest {
  static constexpr uint8_t kType = 1;
  using Reply = EchoReply;
  std::string text;
  StringList words;
  BlobList blobs;
  SecretBytes secret;
  Int32 number;
  auto fields() { return std::tie(text, words, blobs, secret, number); }
};

struct Note {
  static constexpr uint8_t kType = 3;
  using Reply = NoReply;
  std::string text;
  auto fields() { return std::tie(text); }
};

TEST(Ipc, RoundTripWithListsAndSecrets) {
  EchoRequest req{
      "hello", {"a", "bb"}, {Bytes{1, 2}, Bytes{}}, SecretBytes(as_bytes("key")), Int32{-7}};
  SecretBytes d = encode(req);
  auto back = decode<EchoRequest>(d.view());
  EXPECT_EQ(back.text, "hello");
  EXPECT_EQ(back.words, (StringList{"a", "bb"}));
  EXPECT_EQ(back.blobs, (BlobList{Bytes{1, 2}, Bytes{}}));
  EXPECT_EQ(as_string(back.secret.view()), "key");
  EXPECT_EQ(back.number.value, -7);
}

TEST(Ipc, DecodeRefusesHostileInput) {
  Writer w;
  w.u8(EchoRequest::kType).string("x").u32(0xffffffff);
  EXPECT_THROW(decode<EchoRequest>(w.buffer()), ProtocolError);
  Note n{"x"};
  SecretBytes d = encode(n);
  Bytes trailing(d.view().begin(), d.view().end());
  trailing.push_back(0);
  EXPECT_THROW(decode<Note>(trailing), ProtocolError);
  EXPECT_THROW(decode<EchoRequest>(d.view()), ProtocolError);  // wrong type byte
}

TEST(Ipc, CallWithDescriptorsAndErrors) {
  // Not captured as a structured binding: clang 14 (the sanitizer build) cannot.
  auto pair = Channel::make_pair();
  auto& client = pair.first;
  auto& server = pair.second;
  std::thread t([&server] {
    Dispatcher d;
    int calls = 0;
    d.on<EchoRequest>([&calls](EchoRequest& r, std::vector<UniqueFd>& fds) -> Result<EchoReply> {
      if (++calls == 2) return Unexpected("refused");
      EchoReply rep{r.text + "!", r.words, r.number, {}};
      // Send back the received descriptor and a fresh one.
      for (auto& fd : fds) rep.fds.push_back(std::move(fd));
      rep.fds.emplace_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
      return rep;
    });
    std::string note;
    d.on<Note>([&note](Note& n, std::vector<UniqueFd>&) { note = n.text; });
    for (int i = 0; i < 3; ++i) {
      Message m = server.receive();
      ASSERT_TRUE(d.dispatch(server, m));
    }
    EXPECT_EQ(note, "logged");
  });

  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd rd(p[0]), wr(p[1]);
  int send_fds[] = {wr.get()};
  auto r = client.call(EchoRequest{"hi", {"w"}, {}, SecretBytes(), Int32{42}}, send_fds);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->text, "hi!");
  EXPECT_EQ(r->number.value, 42);
  ASSERT_EQ(r->fds.size(), 2u);
  // The returned descriptor is a duplicate of our pipe's write end.
  ASSERT_EQ(::write(r->fds[0].get(), "z", 1), 1);
  char c = 0;
  ASSERT_EQ(::read(rd.get(), &c, 1), 1);
  EXPECT_EQ(c, 'z');

  auto r2 = client.call(EchoRequest{"again", {}, {}, SecretBytes(), Int32{}});
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().message, "refused");
  client.send(Note{"logged"});
  t.join();
}

TEST(Ipc, PeerCloseAndOversize) {
  auto [a, b] = Channel::make_pair();
  Bytes big(kMaxMessageSize + 1, 1);
  EXPECT_THROW(a.send_datagram(big), ProtocolError);
  // A raw oversized datagram (bypassing the sender's check) is refused by the receiver.
  ASSERT_EQ(::send(a.fd(), big.data(), big.size(), 0), ssize_t(big.size()));
  EXPECT_THROW(b.receive(), ProtocolError);
  b = Channel();
  EXPECT_THROW(a.receive(), ConnectionClosed);
  EXPECT_THROW(a.send(Note{"x"}), ConnectionClosed);
}

TEST(Ipc, UnexpectedReplyTypeIsAViolation) {
  // Not captured as a structured binding: clang 14 (the sanitizer build) cannot.
  auto pair = Channel::make_pair();
  auto& client = pair.first;
  auto& server = pair.second;
  std::thread t([&server] {
    server.receive();
    server.send(Note{"not a reply"});
  });
  EXPECT_THROW((void)client.call(EchoRequest{}), ProtocolError);
  t.join();
}

// A peer that never reads (a compromised sshd-net) must not hold the sender (the root monitor)
// past its deadline: once the socket is full, the send fails at the deadline instead of blocking.
// Runs in a child with an alarm, so a send that blocks fails the test instead of hanging it.
TEST(Ipc, SendGivesUpAtTheDeadlineWhenThePeerNeverReads) {
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::alarm(20);
    auto [sender, idle_peer] = Channel::make_pair();
    Bytes datagram(64 * 1024, 0x42);
    uint64_t start = monotonic_ms();
    sender.set_send_deadline(start + 500);
    try {
      for (int i = 0; i < 100000; ++i) sender.send_datagram(ByteView(datagram));
      _exit(1);  // the socket never filled up
    } catch (const SendTimedOut&) {
      uint64_t took = monotonic_ms() - start;
      _exit(took >= 450 && took < 5000 ? 0 : 2);  // at the deadline, not before, not long after
    } catch (...) {
      _exit(3);
    }
  }
  int st = 0;
  ASSERT_EQ(::waitpid(pid, &st, 0), pid);
  ASSERT_TRUE(WIFEXITED(st)) << "the send blocked past its deadline (status " << st << ")";
  EXPECT_EQ(WEXITSTATUS(st), 0);
}

// A deadline does not change what a reading peer sees: every datagram and descriptor arrives.
TEST(Ipc, SendWithADeadlineDeliversEverythingToAReadingPeer) {
  auto [sender, receiver] = Channel::make_pair();
  sender.set_send_deadline(monotonic_ms() + 10000);
  constexpr int kCount = 64;
  std::thread reader([&receiver = receiver] {
    for (int i = 0; i < kCount; ++i) {
      Message m = receiver.receive();
      EXPECT_EQ(m.data.view().size(), 32 * 1024u);
      EXPECT_EQ(m.fds.size(), 1u);
    }
  });
  Bytes datagram(32 * 1024, 0x42);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  for (int i = 0; i < kCount; ++i) sender.send_datagram(ByteView(datagram), {&fds[0], 1});
  reader.join();
  ::close(fds[0]);
  ::close(fds[1]);
}

}  // namespace
}  // namespace postern::ipc
