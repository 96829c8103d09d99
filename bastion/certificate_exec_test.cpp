#include "bastion/certificate_exec.h"

#include <gtest/gtest.h>

#include "bastion/collecting_sink_test_support.h"
#include "common/ssh_key.h"
#include "common/ssh_msg.h"
#include "common/wire.h"
#include "session/connection_messages.h"

namespace postern::bastion {
namespace {

constexpr uint32_t kClient = 7;

// What the client sees on the channel, put back together.
struct Seen {
  std::string out, err;
  std::optional<uint32_t> exit_status;
  bool eof = false, close = false;
  uint32_t window_given = 0;
  size_t largest_data = 0;
};

Seen replay(CollectingSink& sink) {
  Seen s;
  for (const Bytes& m : sink.sent) {
    Reader r(m);
    uint8_t type = r.u8();
    EXPECT_EQ(r.u32(), kClient);
    switch (type) {
      case kMsgChannelWindowAdjust:
        s.window_given += r.u32();
        break;
      case kMsgChannelData: {
        auto d = r.text(UINT32_MAX);
        s.out += d;
        s.largest_data = std::max(s.largest_data, d.size());
        break;
      }
      case kMsgChannelExtendedData:
        EXPECT_EQ(r.u32(), session::kExtendedDataStderr);
        s.err += r.text(UINT32_MAX);
        break;
      case kMsgChannelRequest:
        EXPECT_EQ(r.text(), "exit-status");
        EXPECT_FALSE(r.boolean());
        s.exit_status = r.u32();
        break;
      case kMsgChannelEof:
        s.eof = true;
        break;
      case kMsgChannelClose:
        s.close = true;
        break;
      default:
        ADD_FAILURE() << "unexpected message " << int(type);
    }
  }
  sink.sent.clear();
  return s;
}

class CertificateExecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto k = PrivateKey::generate(KeyType::kEd25519);
    ASSERT_TRUE(k);
    key_line = k->public_key().to_openssh_text() + " robot@ci\n";
    key_blob = k->public_key().blob();
  }
  std::unique_ptr<CertificateExec> make(uint32_t window = 1 << 20, uint32_t max_packet = 32768) {
    CertificateCommand c{"deploy", "web1", 0};
    return std::make_unique<CertificateExec>(
        sink, kClient, window, max_packet, c,
        [this](const CertificateCommand& cmd, const Bytes& blob) {
          ++asked;
          EXPECT_EQ(cmd.target_user, "deploy");
          EXPECT_EQ(cmd.target, "web1");
          EXPECT_EQ(blob, key_blob);
          return answer;
        });
  }
  static ByteView bytes(const std::string& s) { return as_bytes(s); }

  CollectingSink sink;
  std::string key_line;
  Bytes key_blob;
  CertificateExec::Answer answer;
  int asked = 0;
};

TEST_F(CertificateExecTest, IssuedCertificateIsTheOutputLine) {
  Writer fake_cert;  // the exec only frames what the monitor returns
  fake_cert.string("ssh-ed25519-cert-v01@openssh.com").string("rest");
  answer = {true, "", fake_cert.buffer()};
  auto c = make();
  c->start();
  // The key arrives in pieces, then EOF.
  c->on_data(bytes(key_line.substr(0, 10)));
  c->on_data(bytes(key_line.substr(10)));
  EXPECT_EQ(asked, 0);
  c->on_eof();
  EXPECT_EQ(asked, 1);
  Seen s = replay(sink);
  EXPECT_EQ(s.window_given, kMaxKeyInput + 1);
  EXPECT_EQ(s.out, "ssh-ed25519-cert-v01@openssh.com " + base64_encode(fake_cert.buffer()) +
                       " robot@ci\n");
  EXPECT_EQ(s.err, "");
  EXPECT_EQ(s.exit_status, 0u);
  EXPECT_TRUE(s.eof && s.close);
  EXPECT_TRUE(c->closed());
}

TEST_F(CertificateExecTest, RefusalIsOneStderrLineAndStatusOne) {
  answer = {false, "postern: role automation may not issue certificates for root@web1", {}};
  auto c = make();
  c->start();
  c->on_data(bytes(key_line));
  c->on_eof();
  Seen s = replay(sink);
  EXPECT_EQ(s.out, "");
  EXPECT_EQ(s.err, "postern: role automation may not issue certificates for root@web1\n");
  EXPECT_EQ(s.exit_status, 1u);
  EXPECT_TRUE(s.close);
}

TEST_F(CertificateExecTest, GarbageNeverReachesTheMonitor) {
  auto c = make();
  c->start();
  c->on_data(bytes("this is not a key\n"));
  c->on_eof();
  EXPECT_EQ(asked, 0);
  Seen s = replay(sink);
  EXPECT_NE(s.err.find("not an OpenSSH public key"), std::string::npos) << s.err;
  EXPECT_EQ(s.exit_status, 1u);
}

TEST_F(CertificateExecTest, InputBeyondTheBoundIsRefusedWithoutWaitingForEof) {
  auto c = make();
  c->start();
  std::string chunk(4096, 'A');
  for (int i = 0; i < 4; ++i) c->on_data(bytes(chunk));
  EXPECT_FALSE(c->closed());
  c->on_data(bytes("A"));  // byte 16385: the window allowed it, the bound does not
  EXPECT_TRUE(c->closed());
  EXPECT_EQ(asked, 0);
  Seen s = replay(sink);
  EXPECT_NE(s.err.find("longer than 16384 bytes"), std::string::npos) << s.err;
  EXPECT_EQ(s.exit_status, 1u);
  c->on_eof();  // the client's EOF after our close changes nothing
  EXPECT_TRUE(sink.sent.empty());
}

TEST_F(CertificateExecTest, DataBeyondTheWindowIsAProtocolError) {
  auto c = make();
  EXPECT_THROW(c->on_data(bytes("x")), ProtocolError);  // before start(): window 0
  c->start();
  EXPECT_THROW(c->on_data(bytes(std::string(kMaxKeyInput + 2, 'A'))), ProtocolError);
}

TEST_F(CertificateExecTest, OutputWaitsForTheClientsWindowInSmallPackets) {
  Writer fake_cert;
  fake_cert.string("ssh-ed25519-cert-v01@openssh.com").string(Bytes(3000, 1));
  answer = {true, "", fake_cert.buffer()};
  auto c = make(/*window=*/100, /*max_packet=*/1024);
  c->start();
  c->on_data(bytes(key_line));
  c->on_eof();
  Seen first = replay(sink);
  EXPECT_EQ(first.out.size(), 100u);
  EXPECT_FALSE(first.exit_status);
  EXPECT_FALSE(c->closed());
  c->on_window_adjust(1 << 20);
  Seen rest = replay(sink);
  EXPECT_LE(rest.largest_data, 1024u);
  EXPECT_EQ(first.out + rest.out, "ssh-ed25519-cert-v01@openssh.com " +
                                      base64_encode(fake_cert.buffer()) + " robot@ci\n");
  EXPECT_EQ(rest.exit_status, 0u);
  EXPECT_TRUE(rest.close);
}

}  // namespace
}  // namespace postern::bastion
