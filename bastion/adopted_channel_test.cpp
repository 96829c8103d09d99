// The pty picker's hand-over with fabricated messages: the picker channel on the client's session
// channel (windows, Esc, the monitor's answer), then the relay adopting it: the target's
// confirmation kept from the client, the requests replayed, and the window debt of a target that
// confirms with less than the picker granted.
#include "bastion/adopted_channel.h"

#include <gtest/gtest.h>

#include <string>

#include "bastion/collecting_sink_test_support.h"
#include "bastion/pty_picker_channel.h"
#include "common/be_bytes.h"
#include "common/ssh_msg.h"
#include "common/wire.h"
#include "session/connection_messages.h"

namespace postern::bastion {
namespace {

using namespace postern::session;

class AllowAll : public RelayMonitor {
 public:
  Decision decide(uint32_t, std::string_view kind, std::string_view) override {
    asked.push_back(std::string(kind));
    return {true, "", false};
  }
  void channel_closed(uint32_t, uint64_t, uint64_t, const std::string&) override {}
  std::vector<std::string> asked;
};

Bytes data_msg(uint32_t recipient, std::string_view text) {
  Writer w;
  w.u8(kMsgChannelData).u32(recipient).string(text);
  return w.take();
}

Bytes pty_req(uint32_t cols, uint32_t rows) {
  Writer w;
  w.string("xterm").u32(cols).u32(rows).u32(0).u32(0).string("");
  return w.take();
}

std::string request_name(const Bytes& m) {
  Reader r(m);
  EXPECT_EQ(r.u8(), kMsgChannelRequest);
  r.u32();
  return std::string(r.text());
}

PickedSession picked(uint32_t window_to_bastion) {
  PickedSession p;
  p.target_user = "deploy";
  p.target = "web1";
  p.local_id = 3;
  p.client_id = 7;
  p.client_window = 100000;
  p.client_max_packet = 32768;
  p.window_to_bastion = window_to_bastion;
  p.requests = {{"pty-req", pty_req(100, 30)}, {"env", Bytes{0, 0, 0, 1, 'A', 0, 0, 0, 0}}};
  return p;
}

struct Adoption {
  explicit Adoption(uint32_t window_to_bastion)
      : adopted(client, picked(window_to_bastion)), relay(adopted, target, monitor) {
    adopted.open(relay);
  }
  // The target confirms the channel (its number 40) with `window`.
  void confirm(uint32_t window) {
    Bytes open = target.take();
    auto o = decode<ChannelOpenMsg>(open);
    EXPECT_EQ(o.channel_type, "session");
    EXPECT_EQ(o.sender_channel, 3u);       // the number the client knows
    EXPECT_EQ(o.initial_window, 100000u);  // what the client still lets the bastion send
    relay.from_target(encode(ChannelOpenConfirmationMsg{3, 40, window, 32768}));
    adopted.pump();
  }
  CollectingSink client, target;
  AllowAll monitor;
  AdoptedChannel adopted;
  Relay relay;
};

TEST(AdoptedChannel, ConfirmationIsKeptFromTheClientAndRequestsAreReplayed) {
  Adoption a(1000);
  // The client types before the target is ready: held.
  EXPECT_TRUE(a.adopted.take_client_message(data_msg(3, "ls\r")));
  EXPECT_FALSE(a.adopted.take_client_message(data_msg(4, "other channel")));
  a.confirm(2000000);
  // The client only hears the window grown to the target's.
  ASSERT_EQ(a.client.sent.size(), 1u);
  auto adj = decode<ChannelWindowAdjustMsg>(a.client.take());
  EXPECT_EQ(adj.recipient_channel, 7u);
  EXPECT_EQ(adj.bytes_to_add, 2000000u - 1000u);
  // pty-req (at the size the client has), env, the shell, then what was typed.
  Bytes pty = a.target.take();
  EXPECT_EQ(request_name(pty), "pty-req");
  EXPECT_EQ(request_name(a.target.take()), "env");
  Bytes shell = a.target.take();
  EXPECT_EQ(request_name(shell), "shell");
  EXPECT_EQ(shell.back(), 0);  // want_reply false: the client had its reply from the picker
  Bytes typed = a.target.take();
  EXPECT_EQ(typed, data_msg(40, "ls\r"));
  EXPECT_EQ(a.monitor.asked, (std::vector<std::string>{"shell"}));
  // From now on the relay's alone.
  EXPECT_TRUE(a.adopted.replayed());
  EXPECT_FALSE(a.adopted.take_client_message(data_msg(3, "pwd\r")));
}

TEST(AdoptedChannel, SmallerTargetWindowIsADebtPaidByItsAdjustments) {
  Adoption a(1000);
  a.confirm(0);  // OpenSSH's sshd: the window opens when the shell runs
  EXPECT_EQ(a.adopted.window_debt(), 1000u);
  EXPECT_TRUE(a.client.sent.empty());
  a.target.sent.clear();  // the replayed requests
  // The client may send what the picker granted: it waits for the target's window.
  EXPECT_TRUE(a.adopted.take_client_message(data_msg(3, std::string(600, 'x'))));
  EXPECT_TRUE(a.target.sent.empty());
  EXPECT_FALSE(a.adopted.can_send_direct());
  // The target grants 400: all of it is owed, the client hears nothing, 600 bytes still wait.
  a.relay.from_target(encode(ChannelWindowAdjustMsg{3, 400}));
  a.adopted.pump();
  EXPECT_TRUE(a.client.sent.empty());
  EXPECT_TRUE(a.target.sent.empty());
  EXPECT_EQ(a.adopted.window_debt(), 600u);
  // It grants 2 MB: 600 pay the debt off, the rest reaches the client, the data goes.
  a.relay.from_target(encode(ChannelWindowAdjustMsg{3, 2000000}));
  a.adopted.pump();
  EXPECT_EQ(a.adopted.window_debt(), 0u);
  auto adj = decode<ChannelWindowAdjustMsg>(a.client.take());
  EXPECT_EQ(adj.bytes_to_add, 2000000u - 600u);
  EXPECT_EQ(a.target.take(), data_msg(40, std::string(600, 'x')));
  EXPECT_TRUE(a.adopted.can_send_direct());
  EXPECT_FALSE(a.adopted.take_client_message(data_msg(3, "y")));
}

TEST(AdoptedChannel, KeysTypedWithTheChoiceGoFirstInTheTargetsPacketSize) {
  PickedSession p = picked(1000);
  p.typed_ahead = Bytes(10, 'k');
  CollectingSink client, target;
  AllowAll monitor;
  AdoptedChannel adopted(client, std::move(p));
  Relay relay(adopted, target, monitor);
  adopted.open(relay);
  target.take();
  // Typed after the hand-over, while the target logs in: held behind the typed-ahead keys.
  EXPECT_TRUE(adopted.take_client_message(data_msg(3, "later")));
  // A target whose packets carry at most 4 bytes of data, with a window for all of it.
  relay.from_target(encode(ChannelOpenConfirmationMsg{3, 40, 2000000, 4}));
  adopted.pump();
  // The typed-ahead keys count as window the client held: 2000000 - (1000 + 10) more.
  auto adj = decode<ChannelWindowAdjustMsg>(client.take());
  EXPECT_EQ(adj.bytes_to_add, 2000000u - 1010u);
  EXPECT_EQ(request_name(target.take()), "pty-req");
  EXPECT_EQ(request_name(target.take()), "env");
  EXPECT_EQ(request_name(target.take()), "shell");
  EXPECT_EQ(target.take(), data_msg(40, "kkkk"));
  EXPECT_EQ(target.take(), data_msg(40, "kkkk"));
  EXPECT_EQ(target.take(), data_msg(40, "kk"));
  EXPECT_EQ(target.take(), data_msg(40, "later"));
  EXPECT_TRUE(target.sent.empty());
}

TEST(AdoptedChannel, KeysTypedWithTheChoiceWaitForATargetWindowOfZero) {
  PickedSession p = picked(1000);
  p.typed_ahead = {'l', 's', '\r'};
  CollectingSink client, target;
  AllowAll monitor;
  AdoptedChannel adopted(client, std::move(p));
  Relay relay(adopted, target, monitor);
  adopted.open(relay);
  target.take();
  relay.from_target(encode(ChannelOpenConfirmationMsg{3, 40, 0, 32768}));
  adopted.pump();
  // The client holds 1000 bytes of window and used 3 for the target: 1003 owed.
  EXPECT_EQ(adopted.window_debt(), 1003u);
  ASSERT_EQ(target.sent.size(), 3u);  // pty-req, env, shell; the keys wait for the window
  target.sent.clear();
  EXPECT_TRUE(adopted.take_client_message(data_msg(3, "x")));
  // The shell runs and the target opens its window: the keys, then what followed, in order;
  // the client hears the grant less what it held.
  relay.from_target(encode(ChannelWindowAdjustMsg{3, 2000000}));
  adopted.pump();
  EXPECT_EQ(target.take(), data_msg(40, "ls\r"));
  EXPECT_EQ(target.take(), data_msg(40, "x"));
  EXPECT_EQ(decode<ChannelWindowAdjustMsg>(client.take()).bytes_to_add, 2000000u - 1003u);
  EXPECT_EQ(adopted.window_debt(), 0u);
  EXPECT_FALSE(adopted.take_client_message(data_msg(3, "y")));
}

TEST(AdoptedChannel, TargetRefusingTheSessionEndsTheClientsChannel) {
  Adoption a(1000);
  a.target.take();
  a.relay.from_target(encode(ChannelOpenFailureMsg{3, 1, "no sessions today", ""}));
  Bytes line = a.client.take();
  Reader r(line);
  EXPECT_EQ(r.u8(), kMsgChannelExtendedData);
  EXPECT_EQ(r.u32(), 7u);
  r.u32();
  EXPECT_EQ(r.text(), "postern: web1 refused the session: no sessions today\r\n");
  EXPECT_EQ(request_name(a.client.take()), "exit-status");
  EXPECT_EQ(a.client.take()[0], kMsgChannelEof);
  EXPECT_EQ(a.client.take()[0], kMsgChannelClose);
  // The client's own close for it is taken here: the relay never had the channel.
  EXPECT_TRUE(a.adopted.take_client_message(encode(ChannelCloseMsg{3})));
}

TEST(AdoptedChannel, HeldMessagesAreBounded) {
  Adoption a(1000);
  for (size_t i = 0; i < AdoptedChannel::kMaxHeldMessages; ++i)
    ASSERT_TRUE(a.adopted.take_client_message(encode(ChannelWindowAdjustMsg{3, 1})));
  EXPECT_THROW(a.adopted.take_client_message(encode(ChannelWindowAdjustMsg{3, 1})), ProtocolError);
}

// ---- the picker channel before the hand-over ---------------------------------------------------

struct PickerFixture {
  PickerFixture() {
    PickedSession s;
    s.local_id = 0;
    s.client_id = 9;
    s.client_window = 1 << 20;
    s.client_max_packet = 32768;
    s.requests = {{"pty-req", pty_req(80, 24)}};
    channel = std::make_unique<PtyPickerChannel>(
        client, std::move(s), 80, 24,
        std::vector<PtyPickerEntry>{{"deploy", "web1", "deploy@web1"}, {"ops", "db1", "ops@db1"}},
        [this](const std::string& u, const std::string& t) {
          chosen.push_back(u + "@" + t);
          return refusal;
        });
    channel->start();
  }
  std::string screen() {
    std::string out;
    for (const Bytes& m : client.sent) {
      if (m[0] != kMsgChannelData) continue;
      Reader r(m);
      r.u8();
      r.u32();
      out += r.text();
    }
    client.sent.clear();
    return out;
  }
  std::vector<std::string> kinds() {
    std::vector<std::string> out;
    for (const Bytes& m : client.sent)
      out.push_back(m[0] == kMsgChannelRequest ? request_name(m) : std::to_string(m[0]));
    return out;
  }
  CollectingSink client;
  std::string refusal;
  std::vector<std::string> chosen;
  std::unique_ptr<PtyPickerChannel> channel;
};

TEST(PtyPickerChannel, GrantsKeysDrawsAndHandsTheChoiceOver) {
  PickerFixture f;
  auto adj = decode<ChannelWindowAdjustMsg>(f.client.take());
  EXPECT_EQ(adj.bytes_to_add, PtyPickerChannel::kInputWindow);
  EXPECT_NE(f.screen().find("> deploy@web1"), std::string::npos);
  f.channel->on_window_change(120, 40);
  EXPECT_NE(f.screen().find("\x1b[2J"), std::string::npos);
  f.channel->on_data(as_bytes(std::string_view("db\r")), 0);
  EXPECT_EQ(f.chosen, (std::vector<std::string>{"ops@db1"}));
  EXPECT_NE(f.screen().find("connecting to ops@db1"), std::string::npos);
  auto p = f.channel->take_picked();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->target, "db1");
  EXPECT_EQ(p->target_user, "ops");
  EXPECT_EQ(p->window_to_bastion, PtyPickerChannel::kInputWindow - 3);
  // The replayed pty-req carries the size the client has now.
  ASSERT_EQ(p->requests.size(), 1u);
  Reader r(p->requests[0].second);
  EXPECT_EQ(r.text(), "xterm");
  EXPECT_EQ(r.u32(), 120u);
  EXPECT_EQ(r.u32(), 40u);
}

TEST(PtyPickerChannel, KeysAfterTheEnterInItsPacketAreKeptForTheTarget) {
  PickerFixture f;
  f.client.sent.clear();
  f.channel->on_data(as_bytes(std::string_view("db\rls -l\r")), 0);
  EXPECT_EQ(f.chosen, (std::vector<std::string>{"ops@db1"}));
  std::string screen = f.screen();
  // The picker's last screen, and nothing of the keys for the target.
  EXPECT_NE(screen.find("connecting to ops@db1"), std::string::npos);
  EXPECT_EQ(screen.find("ls -l"), std::string::npos);
  auto p = f.channel->take_picked();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->typed_ahead, Bytes(as_bytes(std::string_view("ls -l\r")).begin(),
                                  as_bytes(std::string_view("ls -l\r")).end()));
  EXPECT_EQ(p->window_to_bastion, PtyPickerChannel::kInputWindow - 9);
}

TEST(PtyPickerChannel, KeysWhileTheLastScreenWaitsAreKeptInOrder) {
  PickedSession s;
  s.client_id = 9;
  s.client_window = 0;  // the client reads nothing yet: the last screen waits
  s.client_max_packet = 32768;
  CollectingSink client;
  PtyPickerChannel c(client, std::move(s), 80, 24, {{"deploy", "web1", "deploy@web1"}},
                     [](const std::string&, const std::string&) { return std::string(); });
  c.start();
  c.on_data(as_bytes(std::string_view("\rab")), 0);
  EXPECT_FALSE(c.take_picked());
  c.on_data(as_bytes(std::string_view("cd")), 0);
  c.on_window_adjust(1 << 20);
  auto p = c.take_picked();
  ASSERT_TRUE(p);
  EXPECT_EQ(std::string(p->typed_ahead.begin(), p->typed_ahead.end()), "abcd");
  EXPECT_EQ(p->window_to_bastion, PtyPickerChannel::kInputWindow - 5);
}

TEST(PtyPickerChannel, EscAfterItsTimeoutEndsWithStatusOne) {
  PickerFixture f;
  f.client.sent.clear();
  f.channel->on_data(as_bytes(std::string_view("\x1b")), 1000);
  EXPECT_EQ(f.channel->timeout_ms(1000), int(PtyPickerChannel::kEscapeTimeoutMs));
  f.channel->on_timer(1000 + PtyPickerChannel::kEscapeTimeoutMs - 1);
  EXPECT_TRUE(f.client.sent.empty());
  f.channel->on_timer(1000 + PtyPickerChannel::kEscapeTimeoutMs);
  std::vector<std::string> k = f.kinds();
  EXPECT_EQ(k, (std::vector<std::string>{"94", "exit-status", "96", "97"}));
  EXPECT_NE(f.screen().find("no target chosen"), std::string::npos);
  EXPECT_FALSE(f.channel->take_picked());
  EXPECT_FALSE(f.channel->finished());
  f.channel->on_close();
  EXPECT_TRUE(f.channel->finished());
}

TEST(PtyPickerChannel, RefusedChoiceIsOneLineAndStatusOne) {
  PickerFixture f;
  f.refusal = "postern: that target is not in your list";
  f.client.sent.clear();
  f.channel->on_data(as_bytes(std::string_view("\r")), 0);
  EXPECT_EQ(f.chosen, (std::vector<std::string>{"deploy@web1"}));
  EXPECT_EQ(f.kinds().back(), "97");
  EXPECT_NE(f.screen().find("postern: that target is not in your list\r\n"), std::string::npos);
  EXPECT_FALSE(f.channel->take_picked());
}

TEST(PtyPickerChannel, KeysBeyondTheWindowAreAProtocolError) {
  PickerFixture f;
  std::string flood(PtyPickerChannel::kInputWindow + 1, 'a');
  EXPECT_THROW(f.channel->on_data(as_bytes(std::string_view(flood)), 0), ProtocolError);
}

TEST(PtyPickerChannel, OutputWaitsForTheClientsWindowAndKeepsOnlyTheLatestRedraw) {
  PickedSession s;
  s.client_id = 9;
  s.client_window = 0;  // the client reads nothing yet
  s.client_max_packet = 32768;
  CollectingSink client;
  PtyPickerChannel c(client, std::move(s), 80, 24, {{"deploy", "web1", "deploy@web1"}},
                     [](const std::string&, const std::string&) { return std::string(); });
  c.start();
  client.sent.clear();
  for (int i = 0; i < 500; ++i) c.on_data(as_bytes(std::string_view(i % 2 ? "\x7f" : "w")), 0);
  EXPECT_TRUE(client.sent.empty());
  c.on_window_adjust(1 << 20);
  size_t bytes = 0;
  for (const Bytes& m : client.sent) bytes += m.size();
  // The first screen and one redraw, not 500.
  EXPECT_LT(bytes, 8 * 1024u);
}

}  // namespace
}  // namespace postern::bastion
