// hostkeys-00@openssh.com and hostkeys-prove-00@openssh.com through the connection layer, with
// a fake monitor behind PrivilegedOps.
#include "session/hostkeys_global.h"

#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "common/protocol_error.h"
#include "common/wire.h"
#include "session/connection.h"

namespace postern::session {
namespace {

class CollectingSink : public PacketSink {
 public:
  std::vector<Bytes> messages;
  void send(ByteView p) override { messages.emplace_back(p.begin(), p.end()); }
  bool can_send_direct() const override { return false; }
  MutableByteView begin_packet(size_t n) override {
    m_packet.resize(n);
    return m_packet;
  }
  void commit_packet() override { messages.push_back(m_packet); }
  void send_unimplemented() override {}
  size_t queued_bytes() const override { return 0; }

 private:
  Bytes m_packet;
};

class FakeMonitor : public PrivilegedOps {
 public:
  std::vector<Bytes> keys;
  bool refuse = false;
  std::vector<std::vector<Bytes>> asked;
  Result<PtyAllocation> allocate_pty() override { return Unexpected("no pty"); }
  Result<std::vector<Bytes>> host_keys() override {
    if (keys.empty()) return Unexpected("none");
    return keys;
  }
  Result<std::vector<Bytes>> prove_host_keys(const std::vector<Bytes>& want) override {
    asked.push_back(want);
    if (refuse) return Unexpected("not ours");
    std::vector<Bytes> sigs;
    for (const Bytes& k : want) {
      Bytes s = {'s', 'i', 'g'};
      s.insert(s.end(), k.begin(), k.end());
      sigs.push_back(s);
    }
    return sigs;
  }
};

Bytes prove_request(const std::vector<Bytes>& keys, bool want_reply = true) {
  Writer w;
  w.u8(kMsgGlobalRequest);
  w.string("hostkeys-prove-00@openssh.com");
  w.boolean(want_reply);
  for (const Bytes& k : keys) w.string(ByteView(k));
  return w.take();
}

class HostkeysGlobal : public ::testing::Test {
 protected:
  void SetUp() override {
    passwd* pw = ::getpwuid(::getuid());
    ASSERT_NE(pw, nullptr);
    user = Account{pw->pw_name, pw->pw_uid, pw->pw_gid, pw->pw_dir, "/bin/sh"};
    monitor.keys = {Bytes{1, 2, 3}, Bytes{4, 5}};
  }
  Connection& connect() {
    conn = std::make_unique<Connection>(sink, user, ConnectionEnds{}, SessionOptions{}, monitor);
    return *conn;
  }
  Account user;
  CollectingSink sink;
  FakeMonitor monitor;
  std::unique_ptr<Connection> conn;
};

TEST_F(HostkeysGlobal, AnnouncesTheMonitorsKeysFirst) {
  connect();
  ASSERT_EQ(sink.messages.size(), 1u);
  Reader r(sink.messages[0]);
  EXPECT_EQ(r.u8(), kMsgGlobalRequest);
  EXPECT_EQ(r.text(), "hostkeys-00@openssh.com");
  EXPECT_FALSE(r.boolean());
  ByteView a = r.string(), b = r.string();
  EXPECT_EQ(Bytes(a.begin(), a.end()), monitor.keys[0]);
  EXPECT_EQ(Bytes(b.begin(), b.end()), monitor.keys[1]);
  EXPECT_TRUE(r.done());
}

TEST_F(HostkeysGlobal, NothingToAnnounceSendsNothing) {
  monitor.keys.clear();
  connect();
  EXPECT_TRUE(sink.messages.empty());
}

TEST_F(HostkeysGlobal, ProvesInRequestOrder) {
  Connection& c = connect();
  sink.messages.clear();
  c.handle_message(prove_request({monitor.keys[1], monitor.keys[0]}));
  ASSERT_EQ(monitor.asked.size(), 1u);
  EXPECT_EQ(monitor.asked[0], (std::vector<Bytes>{monitor.keys[1], monitor.keys[0]}));
  ASSERT_EQ(sink.messages.size(), 1u);
  Reader r(sink.messages[0]);
  EXPECT_EQ(r.u8(), kMsgRequestSuccess);
  ByteView s1 = r.string(), s2 = r.string();
  EXPECT_EQ(Bytes(s1.begin(), s1.end()), (Bytes{'s', 'i', 'g', 4, 5}));
  EXPECT_EQ(Bytes(s2.begin(), s2.end()), (Bytes{'s', 'i', 'g', 1, 2, 3}));
  EXPECT_TRUE(r.done());
}

TEST_F(HostkeysGlobal, RefusalIsARequestFailure) {
  Connection& c = connect();
  sink.messages.clear();
  monitor.refuse = true;
  c.handle_message(prove_request({Bytes{9}}));
  ASSERT_EQ(sink.messages.size(), 1u);
  EXPECT_EQ(sink.messages[0], Bytes{kMsgRequestFailure});
}

TEST_F(HostkeysGlobal, TooManyKeysFailWithoutAskingTheMonitor) {
  Connection& c = connect();
  sink.messages.clear();
  c.handle_message(prove_request(std::vector<Bytes>(kMaxProveKeys + 1, Bytes{1, 2, 3})));
  EXPECT_TRUE(monitor.asked.empty());
  ASSERT_EQ(sink.messages.size(), 1u);
  EXPECT_EQ(sink.messages[0], Bytes{kMsgRequestFailure});
}

TEST_F(HostkeysGlobal, WithoutWantReplyNothingIsSigned) {
  Connection& c = connect();
  sink.messages.clear();
  c.handle_message(prove_request({monitor.keys[0]}, false));
  EXPECT_TRUE(monitor.asked.empty());
  EXPECT_TRUE(sink.messages.empty());
}

TEST_F(HostkeysGlobal, MalformedKeyListIsAProtocolError) {
  Connection& c = connect();
  Bytes req = prove_request({monitor.keys[0]});
  req.push_back(0);  // a string length cut short
  req.push_back(0);
  EXPECT_THROW(c.handle_message(req), ProtocolError);
  Bytes big = prove_request({Bytes(kMaxHostKeyBlob + 1, 7)});
  EXPECT_THROW(c.handle_message(big), ProtocolError);
}

}  // namespace
}  // namespace postern::session
