// The transport over an in-memory pipe: a client and a server Transport talk to each other for
// every kex method, cipher, MAC and host key type; then rekeying, strict kex, bad input and the
// state handoff.

#include "net/transport.h"

#include <gtest/gtest.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <new>
#include <random>

#include "common/ssh_key.h"
#include "common/wire.h"
#include "net/heap_counter_test_support.h"
#include "net/kex_method.h"
#include "net/kexinit.h"
#include "net/messages.h"
#include "net/packet_cipher.h"
#include "net/transport_local_signer.h"

namespace postern::net {
namespace {

const PrivateKey& host_key(KeyType type) {
  static std::map<KeyType, PrivateKey> keys;
  auto it = keys.find(type);
  if (it == keys.end()) {
    auto k = PrivateKey::generate(type, 2048);
    EXPECT_TRUE(k.has_value());
    it = keys.emplace(type, std::move(*k)).first;
  }
  return it->second;
}

LocalHostKeySigner& all_keys_signer() {
  static LocalHostKeySigner s({host_key(KeyType::kEd25519), host_key(KeyType::kEcdsaP256),
                               host_key(KeyType::kEcdsaP384), host_key(KeyType::kEcdsaP521),
                               host_key(KeyType::kRsa)});
  return s;
}

// Group exchange in unit tests uses the 2048-bit built-in group, so DH stays fast.
Result<DhGroup> small_group(uint32_t, uint32_t, uint32_t) {
  return *builtin_dh_group(14);
}

TransportConfig server_config() {
  TransportConfig c;
  c.role = Role::kServer;
  c.version = "SSH-2.0-postern_test_server";
  c.host_key_signer = &all_keys_signer();
  c.choose_dh_group = small_group;
  c.host_key_algorithms = {"ssh-ed25519",
                           "ecdsa-sha2-nistp256",
                           "ecdsa-sha2-nistp384",
                           "ecdsa-sha2-nistp521",
                           "rsa-sha2-512",
                           "rsa-sha2-256",
                           "ssh-rsa"};
  c.kex_algorithms = supported_kex_methods();
  return c;
}

TransportConfig client_config() {
  TransportConfig c;
  c.role = Role::kClient;
  c.version = "SSH-2.0-postern_test_client";
  c.verify_host_key = [](ByteView) { return true; };
  return c;
}

Bytes msg(uint8_t type, size_t len, uint8_t fill) {
  Bytes b(len, fill);
  b[0] = type;
  return b;
}

// Moves bytes between the two ends until neither has anything left, collecting the messages
// each delivers upward. `chunk` > 0 feeds the bytes in pieces of at most that size.
struct Pipe {
  std::unique_ptr<Transport> client, server;
  std::vector<Bytes> at_client, at_server;
  size_t chunk = 0;

  Pipe(TransportConfig c, TransportConfig s)
      : client(std::make_unique<Transport>(std::move(c))),
        server(std::make_unique<Transport>(std::move(s))) {}
  Pipe() : Pipe(client_config(), server_config()) {}

  static bool move(Transport& from, Transport& to, std::vector<Bytes>& sink, size_t chunk) {
    bool progress = false;
    while (from.has_output()) {
      ByteView out = from.pending_output();
      size_t n = chunk ? std::min(chunk, out.size()) : out.size();
      to.received(out.first(n));
      from.consume_output(n);
      progress = true;
      while (auto m = to.next_message()) sink.emplace_back(m->begin(), m->end());
    }
    return progress;
  }
  void pump() {
    for (int i = 0; i < 1000; ++i) {
      bool a = move(*client, *server, at_server, chunk);
      bool b = move(*server, *client, at_client, chunk);
      if (!a && !b) return;
    }
    FAIL() << "pump did not settle";
  }
  void handshake() {
    pump();
    ASSERT_TRUE(client->first_kex_done());
    ASSERT_TRUE(server->first_kex_done());
    ASSERT_FALSE(client->session_id().empty());
    ASSERT_TRUE(std::equal(client->session_id().begin(), client->session_id().end(),
                           server->session_id().begin(), server->session_id().end()));
  }
  // Sends a few messages of different sizes both ways and checks they arrive intact, in order.
  void exchange(size_t big = 200 * 1024) {
    std::vector<Bytes> c2s, s2c;
    for (size_t len : {size_t(1), size_t(5), size_t(100), size_t(1500), size_t(32768), big}) {
      c2s.push_back(msg(94, len, uint8_t(len)));
      s2c.push_back(msg(94, len, uint8_t(len + 1)));
    }
    at_client.clear();
    at_server.clear();
    for (auto& m : c2s) client->send(m);
    for (auto& m : s2c) server->send(m);
    pump();
    EXPECT_EQ(at_server, c2s);
    EXPECT_EQ(at_client, s2c);
  }
};

// A plaintext packet as sent before the first NEWKEYS (block size 8, no MAC).
Bytes plain_packet(ByteView payload) {
  size_t pad = 8 - (5 + payload.size()) % 8;
  if (pad < 4) pad += 8;
  Writer w;
  w.u32(uint32_t(1 + payload.size() + pad)).u8(uint8_t(pad)).raw(payload);
  w.raw(Bytes(pad, 0));
  return w.take();
}

Bytes client_kexinit(bool strict, bool guess = false, std::vector<std::string> kex = {}) {
  KexInit k;
  k.kex = kex.empty() ? std::vector<std::string>{"curve25519-sha256"} : kex;
  k.kex.push_back("ext-info-c");
  if (strict) k.kex.push_back(kStrictKexClient);
  k.host_key = {"ssh-ed25519"};
  k.cipher_c2s = k.cipher_s2c = {"aes128-ctr"};
  k.mac_c2s = k.mac_s2c = {"hmac-sha2-256"};
  k.comp_c2s = k.comp_s2c = {"none"};
  k.first_kex_packet_follows = guess;
  return k.encode();
}

// Feeds raw client bytes to a server and drains it; returns what the server delivered upward.
void feed_server(Transport& server, ByteView bytes) {
  server.received(bytes);
  while (server.next_message()) {
  }
}

// Test names from algorithm names ("aes128-gcm@openssh.com" -> "aes128_gcm_openssh_com").
struct ParamName {
  std::string operator()(const testing::TestParamInfo<std::string>& info) const {
    std::string s = info.param;
    for (char& ch : s)
      if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
    return s;
  }
};

// ---------------------------------------------------------------------------------------------

class KexTest : public testing::TestWithParam<std::string> {};

TEST_P(KexTest, HandshakeAndMessages) {
  auto c = client_config();
  c.kex_algorithms = {GetParam()};
  Pipe p(c, server_config());
  p.handshake();
  EXPECT_NE(p.client->negotiated_summary().find("kex: " + GetParam() + " "), std::string::npos);
  p.exchange();
  p.client->start_rekey();
  p.exchange(70000);
  EXPECT_FALSE(p.client->kex_in_progress());
}

INSTANTIATE_TEST_SUITE_P(All, KexTest, testing::ValuesIn(supported_kex_methods()), ParamName());

TEST(KexGroupExchange, ModuliFile) {
  // The server's real path: the system moduli file (or the built-in groups when absent).
  auto s = server_config();
  s.choose_dh_group = nullptr;
  auto c = client_config();
  c.kex_algorithms = {"diffie-hellman-group-exchange-sha256"};
  c.ciphers = {"aes128-ctr"};
  c.macs = {"hmac-sha1"};  // 160-bit key: the client asks for 7680 bits... keep it 128: umac
  c.macs = {"umac-64@openssh.com"};
  Pipe p(c, s);
  p.handshake();
  p.exchange(1000);
}

class CipherTest : public testing::TestWithParam<std::string> {};

TEST_P(CipherTest, EveryCipher) {
  auto c = client_config();
  c.ciphers = {GetParam()};
  c.macs = {"hmac-sha2-256"};
  // The server offers only the default ciphers unless configured (CBC is never a default).
  auto s = server_config();
  s.ciphers = supported_ciphers();
  Pipe p(c, s);
  p.handshake();
  EXPECT_NE(p.client->negotiated_summary().find(GetParam()), std::string::npos);
  p.exchange();
  p.server->start_rekey();
  p.exchange();
}

INSTANTIATE_TEST_SUITE_P(All, CipherTest, testing::ValuesIn(supported_ciphers()), ParamName());

TEST(Negotiation, UnconfiguredServerOffersOnlyDefaultCiphers) {
  auto c = client_config();
  c.ciphers = {"aes128-cbc"};
  Pipe p(c, server_config());
  EXPECT_THROW(p.handshake(), ProtocolError);
}

class MacTest : public testing::TestWithParam<std::string> {};

TEST_P(MacTest, EveryMac) {
  auto c = client_config();
  c.ciphers = {"aes128-ctr"};
  c.macs = {GetParam()};
  auto s = server_config();
  s.macs = supported_macs();  // the -96 and MD5 MACs are accepted only when configured
  Pipe p(c, s);
  p.chunk = 7;  // also exercises reassembly from small pieces
  p.handshake();
  p.chunk = 0;
  EXPECT_NE(p.client->negotiated_summary().find(GetParam()), std::string::npos);
  p.exchange();
}

INSTANTIATE_TEST_SUITE_P(All, MacTest, testing::ValuesIn(supported_macs()), ParamName());

class HostKeyTest : public testing::TestWithParam<std::string> {};

TEST_P(HostKeyTest, EveryHostKeyAlgorithm) {
  auto c = client_config();
  c.host_key_algorithms = {GetParam()};
  Bytes seen;
  c.verify_host_key = [&seen](ByteView blob) {
    seen.assign(blob.begin(), blob.end());
    return true;
  };
  Pipe p(c, server_config());
  p.handshake();
  EXPECT_EQ(seen, all_keys_signer().public_key_blob(GetParam()));
  p.exchange(1000);
}

INSTANTIATE_TEST_SUITE_P(All, HostKeyTest,
                         testing::Values("ssh-ed25519", "ecdsa-sha2-nistp256",
                                         "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
                                         "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"),
                         ParamName());

TEST(Transport, HostKeyRejectedByClient) {
  auto c = client_config();
  c.verify_host_key = [](ByteView) { return false; };
  Pipe p(c, server_config());
  EXPECT_THROW(p.pump(), ProtocolError);
}

TEST(Transport, ServerOffersOnlyKeysItHas) {
  LocalHostKeySigner ed({host_key(KeyType::kEd25519)});
  auto s = server_config();
  s.host_key_signer = &ed;
  auto c = client_config();
  c.host_key_algorithms = {"rsa-sha2-512"};
  Pipe p(c, s);
  EXPECT_THROW(p.pump(), ProtocolError);
}

TEST(Transport, ExtInfoAndStrictKex) {
  Pipe p;
  p.handshake();
  bool found = false;
  for (const auto& [name, value] : p.client->peer_extensions()) {
    if (name == "server-sig-algs") found = value.find("ssh-ed25519") != std::string::npos;
  }
  EXPECT_TRUE(found);
  EXPECT_TRUE(p.server->peer_wants_ext_info());
  ASSERT_EQ(p.client->peer_extensions().size(), 3u);
  EXPECT_EQ(p.client->peer_extensions()[1].first, "publickey-hostbound@openssh.com");
  EXPECT_EQ(p.client->peer_extensions()[2].first, "ping@openssh.com");
}

TEST(Transport, MessagesSentDuringKexAreQueued) {
  Pipe p;
  p.client->send(msg(5, 10, 1));  // before the first kex: held back
  EXPECT_FALSE(p.client->can_send_direct());
  p.handshake();
  ASSERT_EQ(p.at_server.size(), 1u);
  EXPECT_EQ(p.at_server[0], msg(5, 10, 1));

  // A rekey started by the server: the client keeps sending; nothing is lost or reordered.
  p.at_server.clear();
  p.server->start_rekey();
  for (int i = 0; i < 50; ++i) {
    p.client->send(msg(94, 100 + i, uint8_t(i)));
    Pipe::move(*p.server, *p.client, p.at_client, 0);  // the client sees the KEXINIT midway
  }
  p.pump();
  ASSERT_EQ(p.at_server.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(p.at_server[i], msg(94, 100 + i, uint8_t(i)));
  EXPECT_FALSE(p.server->kex_in_progress());
}

TEST(Transport, BothSidesStartRekeyAtOnce) {
  Pipe p;
  p.handshake();
  Bytes sid(p.client->session_id().begin(), p.client->session_id().end());
  p.client->start_rekey();
  p.server->start_rekey();
  p.exchange();
  EXPECT_EQ(Bytes(p.server->session_id().begin(), p.server->session_id().end()), sid);
}

TEST(Transport, RekeyByVolume) {
  auto c = client_config();
  c.rekey_bytes = 16 * 1024;
  auto s = server_config();
  s.rekey_bytes = 16 * 1024;
  Pipe p(c, s);
  p.handshake();
  p.client->set_authenticated();
  p.server->set_authenticated();
  for (int i = 0; i < 20; ++i) p.exchange(40000);  // many rekeys in both directions
  EXPECT_FALSE(p.client->kex_in_progress());
}

TEST(Transport, NoRekeyByVolumeBeforeAuthentication) {
  auto s = server_config();
  s.rekey_bytes = 1024;
  Pipe p(client_config(), s);
  p.handshake();
  p.server->send(msg(94, 5000, 1));
  EXPECT_FALSE(p.server->kex_in_progress());
  p.server->set_authenticated();
  p.server->send(msg(94, 5000, 1));
  EXPECT_TRUE(p.server->kex_in_progress());
  p.pump();
  EXPECT_EQ(p.at_client.size(), 2u);
  p.exchange(1000);
}

TEST(Transport, HandoffWhileThePeerRekeys) {
  // The pre-auth child queued USERAUTH_SUCCESS when the client's KEXINIT arrived; it finishes the
  // exchange with process_kex(), and the client's first message after it stays for the importer.
  Pipe p;
  p.handshake();
  p.client->start_rekey();
  Pipe::move(*p.client, *p.server, p.at_server, 0);  // the server answers the KEXINIT
  EXPECT_TRUE(p.server->kex_in_progress());
  p.server->send(msg(52, 1, 0));                     // USERAUTH_SUCCESS, held back
  Pipe::move(*p.server, *p.client, p.at_client, 0);  // the client sends its ECDH init
  Pipe::move(*p.client, *p.server, p.at_server, 0);  // reply, NEWKEYS, then the success
  Pipe::move(*p.server, *p.client, p.at_client, 0);
  // The client now has the server's NEWKEYS and USERAUTH_SUCCESS and has answered with its own
  // NEWKEYS, followed at once by a channel open.
  ASSERT_EQ(p.at_client.size(), 1u);
  p.client->send(msg(90, 30, 2));
  ByteView c_out = p.client->pending_output();
  p.server->received(c_out);
  p.client->consume_output(c_out.size());
  EXPECT_TRUE(p.server->process_kex());
  TransportState st = p.server->export_state();
  p.server = Transport::import_state(server_config(), st);
  while (auto m = p.server->next_message()) p.at_server.emplace_back(m->begin(), m->end());
  ASSERT_EQ(p.at_server.size(), 1u);
  EXPECT_EQ(p.at_server[0], msg(90, 30, 2));
  p.exchange();
}

TEST(Transport, RekeyByTime) {
  auto s = server_config();
  s.rekey_seconds = 10;
  Pipe p(client_config(), s);
  p.handshake();
  EXPECT_EQ(p.server->next_timeout_seconds(1000), -1);  // not before authentication
  p.server->set_authenticated();
  EXPECT_EQ(p.server->next_timeout_seconds(1000), 10);  // armed now: due at 1010
  p.server->tick(1000);
  EXPECT_EQ(p.server->next_timeout_seconds(1005), 5);
  p.server->tick(1005);
  EXPECT_FALSE(p.server->kex_in_progress());
  p.server->tick(1010);
  EXPECT_TRUE(p.server->kex_in_progress());
  p.exchange(1000);
  EXPECT_FALSE(p.server->kex_in_progress());
}

TEST(Transport, ZeroCopySend) {
  Pipe p;
  p.handshake();
  ASSERT_TRUE(p.server->can_send_direct());
  for (int i = 0; i < 10; ++i) {
    MutableByteView room = p.server->begin_packet(30000 + i);
    std::fill(room.begin(), room.end(), uint8_t(i));
    room[0] = 94;
    p.server->commit_packet();
  }
  p.pump();
  ASSERT_EQ(p.at_client.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    Bytes want(30000 + i, uint8_t(i));
    want[0] = 94;
    EXPECT_EQ(p.at_client[i], want);
  }
}

TEST(Transport, PingIsAnsweredInside) {
  Pipe p;
  p.handshake();
  p.client->send(encode(PingMsg{to_bytes("hello")}));
  p.pump();
  EXPECT_TRUE(p.at_server.empty());
  EXPECT_TRUE(p.at_client.empty());
}

TEST(Transport, IgnoreDebugUnimplemented) {
  Pipe p;
  p.handshake();
  p.client->send(encode(DebugMsg{true, "hi", ""}));
  p.client->send(msg(kMsgIgnore, 20, 0) /* type, then junk the server never parses */);
  p.client->send(encode(UnimplementedMsg{3}));
  p.client->send(msg(80, 3, 9));
  p.pump();
  ASSERT_EQ(p.at_server.size(), 1u);
  p.server->send_unimplemented();
  p.pump();
}

TEST(Transport, DisconnectEndsWithReason) {
  Pipe p;
  p.handshake();
  p.client->send_disconnect(11, "disconnected by user");
  try {
    p.pump();
    FAIL() << "no exception";
  } catch (const DisconnectReceived& d) {
    EXPECT_EQ(d.reason(), 11u);
    EXPECT_EQ(d.description(), "disconnected by user");
  }
}

class ExportTest : public testing::TestWithParam<std::string> {};

TEST_P(ExportTest, ExportImportMidStream) {
  auto cc = client_config();
  cc.ciphers = {GetParam()};
  cc.macs = {"umac-128-etm@openssh.com", "hmac-sha2-512"};
  Pipe p(cc, server_config());
  p.handshake();
  p.exchange(5000);
  // Leave data in flight both ways: server output unsent, client input half-received.
  p.server->send(msg(94, 3000, 7));
  p.client->send(msg(94, 4000, 8));
  ByteView half = p.client->pending_output();
  size_t n = half.size() / 2;
  p.server->received(half.first(n));
  p.client->consume_output(n);

  TransportState ss = p.server->export_state();
  TransportState cs = p.client->export_state();
  p.server = Transport::import_state(server_config(), ss);
  p.client = Transport::import_state(client_config(), cs);
  p.at_client.clear();
  p.at_server.clear();
  p.pump();
  ASSERT_EQ(p.at_server.size(), 1u);
  EXPECT_EQ(p.at_server[0], msg(94, 4000, 8));
  ASSERT_EQ(p.at_client.size(), 1u);
  EXPECT_EQ(p.at_client[0], msg(94, 3000, 7));
  p.exchange();
  p.client->start_rekey();  // the imported side can rekey and the session id survives
  p.exchange();
}

INSTANTIATE_TEST_SUITE_P(All, ExportTest,
                         testing::Values("chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com",
                                         "aes128-ctr", "aes192-ctr"),
                         ParamName());

TEST(Transport, DataPathDoesNotAllocate) {
  for (const char* cipher :
       {"chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com", "aes128-ctr"}) {
    auto c = client_config();
    c.ciphers = {cipher};
    c.macs = {"umac-64-etm@openssh.com"};
    Pipe p(c, server_config());
    p.handshake();
    auto round = [&](size_t len) {
      MutableByteView room = p.client->begin_packet(len);
      std::memset(room.data(), 0x5a, room.size());
      room[0] = 94;
      p.client->commit_packet();
      while (p.client->has_output()) {
        ByteView out = p.client->pending_output();
        size_t n = std::min<size_t>(out.size(), 16384);
        MutableByteView dst = p.server->receive_buffer(n);
        std::memcpy(dst.data(), out.data(), n);
        p.server->received_in_place(n);
        p.client->consume_output(n);
        while (auto m = p.server->next_message()) ASSERT_EQ(m->size(), len);
      }
    };
    for (int i = 0; i < 20; ++i) round(40000);  // warm up the buffers
    long before = test_support::g_heap_allocations.load();
    static int* volatile sink;
    sink = new int(1);  // the counter itself works
    delete sink;
    ASSERT_EQ(test_support::g_heap_allocations.load() - before, 1);
    before = test_support::g_heap_allocations.load();
    for (int i = 0; i < 200; ++i) round(size_t(1000 + (i * 997) % 39000));
    EXPECT_EQ(test_support::g_heap_allocations.load() - before, 0) << cipher;
  }
}

TEST(Transport, ExportRefusedDuringKex) {
  Pipe p;
  p.handshake();
  p.client->start_rekey();
  EXPECT_THROW(p.client->export_state(), std::logic_error);
}

TEST(Transport, ImportRejectsGarbage) {
  TransportState st;
  st.bytes = SecretBytes(as_bytes("garbage"));
  EXPECT_THROW(Transport::import_state(server_config(), st), ProtocolError);
}

// ---- compression: zlib@openssh.com (OpenSSH PROTOCOL §1.3)

TransportConfig with_zlib(TransportConfig c) {
  c.compression = {"zlib@openssh.com", "none"};
  return c;
}

// Sends one very compressible message and returns how many bytes it put on the wire.
size_t wire_size_of_zeros(Transport& from) {
  size_t before = from.pending_output().size();
  from.send(msg(94, 100000, 0));
  return from.pending_output().size() - before;
}

TEST(Compression, NegotiatedButDelayedUntilUserauthSuccess) {
  Pipe p(with_zlib(client_config()), with_zlib(server_config()));
  p.handshake();
  EXPECT_NE(p.server->negotiated_summary().find("zlib@openssh.com"), std::string::npos);
  // Before authentication nothing is compressed, either way.
  EXPECT_GT(wire_size_of_zeros(*p.server), 100000u);
  EXPECT_GT(wire_size_of_zeros(*p.client), 100000u);
  p.pump();
  // The server compresses from the packet after its USERAUTH_SUCCESS...
  p.server->send(msg(52, 1, 0));
  EXPECT_LT(wire_size_of_zeros(*p.server), 2000u);
  // ...the client from the packet after receiving it (nothing may travel its way in between:
  // the server already expects compressed packets, PROTOCOL §1.3).
  p.pump();
  EXPECT_LT(wire_size_of_zeros(*p.client), 2000u);
  p.pump();
  ASSERT_EQ(p.at_client.size(), 3u);
  EXPECT_EQ(p.at_client[2], msg(94, 100000, 0));
  ASSERT_EQ(p.at_server.size(), 2u);
  EXPECT_EQ(p.at_server[1], msg(94, 100000, 0));
  p.exchange();
}

TEST(Compression, ServerWithoutCompressionMeansNone) {
  Pipe p(with_zlib(client_config()), server_config());
  p.handshake();
  EXPECT_EQ(p.server->negotiated_summary().find("zlib"), std::string::npos);
  p.server->send(msg(52, 1, 0));
  p.pump();
  EXPECT_GT(wire_size_of_zeros(*p.server), 100000u);
  EXPECT_GT(wire_size_of_zeros(*p.client), 100000u);
  p.pump();
  EXPECT_EQ(p.at_server.back(), msg(94, 100000, 0));
  p.exchange();
}

TEST(Compression, ZeroCopySendAndRekeysRestartTheStreams) {
  auto c = with_zlib(client_config());
  auto s = with_zlib(server_config());
  c.rekey_bytes = s.rekey_bytes = 8 * 1024;
  Pipe p(c, s);
  p.handshake();
  p.server->send(msg(52, 1, 0));
  p.pump();
  p.client->set_authenticated();
  p.server->set_authenticated();
  std::mt19937 rng(5);
  for (int round = 0; round < 30; ++round) {
    // Random bytes keep the wire volume up, so rekeys come every round or two.
    p.exchange(20000);
    if (p.server->can_send_direct()) {
      MutableByteView room = p.server->begin_packet(30000);
      for (auto& b : room) b = uint8_t(rng());
      room[0] = 94;
      Bytes want(room.begin(), room.end());
      p.server->commit_packet();
      p.at_client.clear();
      p.pump();
      ASSERT_EQ(p.at_client.size(), 1u);
      EXPECT_EQ(p.at_client[0], want);
    }
  }
  EXPECT_FALSE(p.client->kex_in_progress());
}

// The pre-auth child hands over right after USERAUTH_SUCCESS: the importer starts both zlib
// streams fresh and reads the client's first compressed packet, which the exporter had received
// but not processed.
TEST(Compression, HandoffRightAfterUserauthSuccess) {
  Pipe p(with_zlib(client_config()), with_zlib(server_config()));
  p.handshake();
  p.server->send(msg(52, 1, 0));
  Pipe::move(*p.server, *p.client, p.at_client, 0);
  p.client->send(msg(90, 3000, 0));  // CHANNEL_OPEN, compressed
  ByteView c_out = p.client->pending_output();
  EXPECT_LT(c_out.size(), 1000u);
  p.server->received(c_out);
  p.client->consume_output(c_out.size());
  TransportState st = p.server->export_state();
  p.server = Transport::import_state(with_zlib(server_config()), st);
  while (auto m = p.server->next_message()) p.at_server.emplace_back(m->begin(), m->end());
  ASSERT_EQ(p.at_server.size(), 1u);
  EXPECT_EQ(p.at_server[0], msg(90, 3000, 0));
  EXPECT_LT(wire_size_of_zeros(*p.server), 2000u);
  p.pump();
  EXPECT_EQ(p.at_client.back(), msg(94, 100000, 0));
  p.exchange();
  p.server->start_rekey();
  p.exchange();
}

// As HandoffWhileThePeerRekeys, compressed: the success waited for the exchange, so the
// client's NEWKEYS (sent before it saw the success) is plain and its channel open compressed.
TEST(Compression, HandoffWhileThePeerRekeys) {
  Pipe p(with_zlib(client_config()), with_zlib(server_config()));
  p.handshake();
  p.client->start_rekey();
  Pipe::move(*p.client, *p.server, p.at_server, 0);
  p.server->send(msg(52, 1, 0));
  Pipe::move(*p.server, *p.client, p.at_client, 0);
  Pipe::move(*p.client, *p.server, p.at_server, 0);
  Pipe::move(*p.server, *p.client, p.at_client, 0);
  ASSERT_EQ(p.at_client.size(), 1u);
  p.client->send(msg(90, 3000, 2));
  ByteView c_out = p.client->pending_output();
  p.server->received(c_out);
  p.client->consume_output(c_out.size());
  EXPECT_TRUE(p.server->process_kex());
  TransportState st = p.server->export_state();
  p.server = Transport::import_state(with_zlib(server_config()), st);
  while (auto m = p.server->next_message()) p.at_server.emplace_back(m->begin(), m->end());
  ASSERT_EQ(p.at_server.size(), 1u);
  EXPECT_EQ(p.at_server[0], msg(90, 3000, 2));
  EXPECT_LT(wire_size_of_zeros(*p.server), 2000u);
  p.pump();
  p.exchange();
}

TEST(Compression, HandoffAfterACompressedPacketIsRefused) {
  Pipe p(with_zlib(client_config()), with_zlib(server_config()));
  p.handshake();
  p.server->send(msg(52, 1, 0));
  p.server->send(msg(94, 10, 0));
  try {
    p.server->export_state();
    FAIL() << "exported a zlib stream in use";
  } catch (const ProtocolError& e) {
    EXPECT_EQ(e.reason(), DisconnectReason::kCompressionError);
  }
  // Nor on the receiving side.
  p.pump();
  try {
    p.client->export_state();
    FAIL() << "exported a zlib stream in use";
  } catch (const ProtocolError& e) {
    EXPECT_EQ(e.reason(), DisconnectReason::kCompressionError);
  }
}

TEST(Compression, DataPathDoesNotAllocate) {
  Pipe p(with_zlib(client_config()), with_zlib(server_config()));
  p.handshake();
  p.server->send(msg(52, 1, 0));
  p.pump();
  auto round = [&](size_t len) {
    MutableByteView room = p.client->begin_packet(len);
    for (size_t i = 0; i < room.size(); ++i) room[i] = uint8_t(i * 7 / 5);
    room[0] = 94;
    p.client->commit_packet();
    ByteView out = p.client->pending_output();
    MutableByteView dst = p.server->receive_buffer(out.size());
    std::memcpy(dst.data(), out.data(), out.size());
    p.server->received_in_place(out.size());
    p.client->consume_output(out.size());
    while (auto m = p.server->next_message()) ASSERT_EQ(m->size(), len);
  };
  for (int i = 0; i < 20; ++i) round(40000);
  const long before = test_support::g_heap_allocations.load();
  for (int i = 0; i < 200; ++i) round(size_t(1000 + (i * 997) % 39000));
  EXPECT_EQ(test_support::g_heap_allocations.load() - before, 0);
}

// ---- version exchange

TEST(Version, ServerRefusesSsh1) {
  Transport s(server_config());
  s.consume_output(s.pending_output().size());
  EXPECT_THROW(s.received(as_bytes("SSH-1.5-HALLO\r\n")), ProtocolError);
  s.send_disconnect(2, "no");  // nothing binary after the text line
  EXPECT_EQ(as_string(s.pending_output()), "Protocol major versions differ.\r\n");
}

TEST(Version, ServerAccepts199AndBareLf) {
  Transport s(server_config());
  s.received(as_bytes("SSH-1.99-other\n"));
  EXPECT_EQ(s.peer_version(), "SSH-1.99-other");
}

TEST(Version, ServerRefusesLinesBeforeVersion) {
  Transport s(server_config());
  EXPECT_THROW(s.received(as_bytes("hello\r\nSSH-2.0-x\r\n")), ProtocolError);
}

TEST(Version, ClientSkipsLinesBeforeVersion) {
  Transport c(client_config());
  c.received(as_bytes("Welcome\r\nto here\r\nSSH-2.0-srv some comment\r\n"));
  EXPECT_EQ(c.peer_version(), "SSH-2.0-srv some comment");
}

TEST(Version, LineTooLong) {
  Transport c(client_config());
  EXPECT_THROW(c.received(Bytes(300, 'a')), ProtocolError);
  Transport s(server_config());
  EXPECT_THROW(s.received(as_bytes("SSH-2.0-" + std::string(300, 'b') + "\r\n")), ProtocolError);
}

TEST(Version, TooManyLinesBeforeVersion) {
  Transport c(client_config());
  std::string lines;
  for (int i = 0; i < 2000; ++i) lines += "x\r\n";
  EXPECT_THROW(c.received(as_bytes(lines)), ProtocolError);
}

TEST(Version, OurLineGoesFirst) {
  Transport s(server_config());
  EXPECT_EQ(as_string(s.pending_output()), "SSH-2.0-postern_test_server\r\n");
}

// ---- strict kex and bad input

TEST(StrictKex, KexinitMustBeFirst) {
  Transport s(server_config());
  s.received(as_bytes("SSH-2.0-x\r\n"));
  Bytes ign = plain_packet(msg(kMsgIgnore, 5, 0));
  feed_server(s, ign);
  EXPECT_THROW(feed_server(s, plain_packet(client_kexinit(true))), ProtocolError);
}

TEST(StrictKex, IgnoreDuringInitialKexIsFatal) {
  Transport s(server_config());
  s.received(as_bytes("SSH-2.0-x\r\n"));
  feed_server(s, plain_packet(client_kexinit(true)));
  EXPECT_THROW(feed_server(s, plain_packet(msg(kMsgIgnore, 5, 0))), ProtocolError);
}

TEST(StrictKex, WithoutStrictIgnoreIsFine) {
  Transport s(server_config());
  s.received(as_bytes("SSH-2.0-x\r\n"));
  feed_server(s, plain_packet(msg(kMsgIgnore, 5, 0)));
  feed_server(s, plain_packet(client_kexinit(false)));
  feed_server(s, plain_packet(msg(kMsgIgnore, 5, 0)));
  EXPECT_TRUE(s.kex_in_progress());
}

TEST(StrictKex, UpperLayerMessageBeforeKexIsFatal) {
  Transport s(server_config());
  s.received(as_bytes("SSH-2.0-x\r\n"));
  feed_server(s, plain_packet(client_kexinit(false)));
  EXPECT_THROW(feed_server(s, plain_packet(encode(ServiceRequestMsg{"ssh-userauth"}))),
               ProtocolError);
}

TEST(Kex, WrongGuessIsIgnored) {
  // The client guesses ecdh-sha2-nistp256 but the server prefers curve25519: its first kex
  // packet must be dropped, and the real exchange still works (RFC 4253 §7.1).
  auto s = server_config();
  s.kex_algorithms = {"curve25519-sha256", "ecdh-sha2-nistp256"};
  Transport srv(s);
  srv.received(as_bytes("SSH-2.0-x\r\n"));
  feed_server(
      srv, plain_packet(client_kexinit(false, true, {"ecdh-sha2-nistp256", "curve25519-sha256"})));
  Writer bogus;
  bogus.u8(kMsgKexEcdhInit).string(Bytes(65, 4));
  feed_server(srv, plain_packet(bogus.buffer()));
  // The server answered nothing yet beyond its version and KEXINIT: the guess was dropped.
  auto kex = make_kex_method("ecdh-sha2-nistp256");
  ASSERT_TRUE(kex);
  Writer init;
  init.u8(kMsgKexEcdhInit).string(ByteView(kex->client_public()));
  srv.consume_output(srv.pending_output().size());
  feed_server(srv, plain_packet(init.buffer()));
  EXPECT_TRUE(srv.has_output());  // the ECDH reply and NEWKEYS
}

TEST(Kex, NegotiationFailureNamesCategory) {
  Transport s(server_config());
  s.received(as_bytes("SSH-2.0-x\r\n"));
  KexInit k = KexInit::parse(client_kexinit(false));
  k.cipher_c2s = {"3des-cbc"};
  try {
    feed_server(s, plain_packet(k.encode()));
    FAIL();
  } catch (const ProtocolError& e) {
    EXPECT_NE(std::string(e.what()).find("no matching cipher found"), std::string::npos);
    EXPECT_EQ(e.reason(), DisconnectReason::kKeyExchangeFailed);
  }
}

TEST(BadInput, OversizedPacket) {
  Transport s(server_config());
  s.received(as_bytes("SSH-2.0-x\r\n"));
  Bytes b = {0x00, 0x10, 0x00, 0x00, 4, 0, 0, 0};
  EXPECT_THROW(feed_server(s, b), ProtocolError);
}

TEST(BadInput, BadPadding) {
  Transport s(server_config());
  s.received(as_bytes("SSH-2.0-x\r\n"));
  Bytes b = plain_packet(client_kexinit(false));
  b[4] = 2;  // fewer than 4 bytes of padding
  EXPECT_THROW(feed_server(s, b), ProtocolError);
}

TEST(BadInput, CorruptedCiphertextIsMacError) {
  Pipe p;
  p.handshake();
  p.client->send(msg(94, 100, 1));
  Bytes wire(p.client->pending_output().begin(), p.client->pending_output().end());
  wire[20] ^= 1;
  try {
    feed_server(*p.server, wire);
    FAIL();
  } catch (const ProtocolError& e) {
    EXPECT_EQ(e.reason(), DisconnectReason::kMacError);
  }
}

TEST(BadInput, RandomGarbageAndMutationsNeverCrash) {
  // Record a real client stream, then replay mutated copies into fresh servers.
  Pipe p;
  Bytes stream;
  for (int i = 0; i < 100; ++i) {
    ByteView out = p.client->pending_output();
    if (out.empty() && !p.server->has_output()) break;
    stream.insert(stream.end(), out.begin(), out.end());
    Pipe::move(*p.client, *p.server, p.at_server, 0);
    Pipe::move(*p.server, *p.client, p.at_client, 0);
  }
  std::mt19937 rng(42);
  for (int round = 0; round < 300; ++round) {
    Bytes m = stream;
    int kind = round % 3;
    if (kind == 0) {
      for (int k = 0; k < 4; ++k) m[rng() % m.size()] ^= uint8_t(1 + rng() % 255);
    } else if (kind == 1) {
      m.resize(rng() % m.size());
    } else {
      size_t at = 40 + rng() % (m.size() - 40);
      for (size_t k = at; k < m.size(); ++k) m[k] = uint8_t(rng());
    }
    Transport s(server_config());
    try {
      size_t pos = 0;
      while (pos < m.size()) {
        size_t n = std::min<size_t>(m.size() - pos, 1 + rng() % 700);
        s.received(ByteView(m).subspan(pos, n));
        while (s.next_message()) {
        }
        pos += n;
      }
    } catch (const ProtocolError&) {
    } catch (const ConnectionClosed&) {
    }
  }
}

TEST(BadInput, RandomWellFramedMessagesNeverCrash) {
  // Correctly framed plaintext packets with random types and bodies, into both roles: every
  // message parser in the transport sees short, long and malformed bodies.
  std::mt19937 rng(7);
  const uint8_t types[] = {1, 2, 3, 4, 5, 6, 7, 20, 21, 30, 31, 32, 33, 34, 49, 50, 80, 192, 193};
  for (int round = 0; round < 3000; ++round) {
    bool server = round % 2 == 0;
    std::unique_ptr<Transport> t = server ? std::make_unique<Transport>(server_config())
                                          : std::make_unique<Transport>(client_config());
    try {
      t->received(as_bytes("SSH-2.0-fuzz\r\n"));
      if (round % 3 == 0) t->received(plain_packet(client_kexinit(round % 6 == 0)));
      for (int k = 0; k < 3; ++k) {
        Bytes payload(1 + rng() % 300);
        for (auto& b : payload) b = uint8_t(rng());
        payload[0] = rng() % 4 == 0 ? uint8_t(rng()) : types[rng() % sizeof types];
        t->received(plain_packet(payload));
        while (t->next_message()) {
        }
      }
    } catch (const ProtocolError&) {
    } catch (const ConnectionClosed&) {
    }
  }
}

}  // namespace
}  // namespace postern::net
