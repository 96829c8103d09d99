// The relay with fabricated message sequences: the client and the target are lists of payloads.
#include "bastion/relay.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bastion/collecting_sink_test_support.h"
#include "common/ssh_msg.h"
#include "common/wire.h"
#include "session/connection_messages.h"

namespace postern::bastion {
namespace {

using namespace postern::session;

class FakeMonitor : public RelayMonitor {
 public:
  Decision decide(uint32_t channel, std::string_view kind, std::string_view detail) override {
    asked.push_back(std::to_string(channel) + " " + std::string(kind) + " " + std::string(detail));
    for (const auto& k : refuse)
      if (k == kind) return {false, "postern: " + std::string(kind) + " is not allowed on web1"};
    return {true, "", observe_files};
  }
  void file_event(uint32_t channel, const FileEvent& e) override {
    file_events.push_back(std::to_string(channel) + " " + describe(e));
  }
  void channel_closed(uint32_t channel, uint64_t up, uint64_t down,
                      const std::string& exit_status) override {
    closed.push_back(std::to_string(channel) + " up " + std::to_string(up) + " down " +
                     std::to_string(down) + " exit " + exit_status);
  }
  // A recording that notes what the relay feeds it, into `log` (which outlives it).
  struct NotingRecording : ChannelRecording {
    explicit NotingRecording(std::vector<std::string>& l) : log(l) {}
    ~NotingRecording() override { log.push_back("end"); }
    void output(ByteView d) override { log.push_back("o " + std::string(d.begin(), d.end())); }
    void input(ByteView d) override { log.push_back("i " + std::string(d.begin(), d.end())); }
    void resize(uint32_t c, uint32_t r) override {
      log.push_back("r " + std::to_string(c) + "x" + std::to_string(r));
    }
    std::vector<std::string>& log;
  };
  RecordingStart start_recording(uint32_t channel, std::string_view kind, const TerminalSize& t,
                                 std::string_view command) override {
    recordings.push_back(std::to_string(channel) + " " + std::string(kind) + " " +
                         std::to_string(t.cols) + "x" + std::to_string(t.rows) + " " + t.term +
                         " " + std::string(command));
    RecordingStart out;
    if (refuse_recording) {
      out.refused = true;
      out.message = "postern: cannot record";
    } else if (record) {
      out.recording = std::make_unique<NotingRecording>(recorded);
    }
    return out;
  }
  std::vector<std::string> refuse;
  bool observe_files = false;
  std::vector<std::string> file_events;
  std::vector<std::string> asked;
  std::vector<std::string> closed;
  bool record = false, refuse_recording = false;
  std::vector<std::string> recordings;  // start_recording calls
  std::vector<std::string> recorded;    // what the recording was fed
};

Bytes data_msg(uint32_t recipient, std::string_view text) {
  Writer w;
  w.u8(kMsgChannelData).u32(recipient).string(text);
  return w.take();
}

Bytes request_msg(uint32_t recipient, std::string_view name, bool want_reply, ByteView data = {}) {
  Writer w;
  w.u8(kMsgChannelRequest).u32(recipient).string(name).boolean(want_reply).raw(data);
  return w.take();
}

Bytes exec_msg(uint32_t recipient, std::string_view command, bool want_reply = true) {
  Writer d;
  d.string(command);
  return request_msg(recipient, "exec", want_reply, d.buffer());
}

Bytes reply_msg(uint8_t type, uint32_t recipient) {
  Writer w;
  w.u8(type).u32(recipient);
  return w.take();
}

struct RelayFixture : ::testing::Test {
  CollectingSink client, target;
  FakeMonitor monitor;
  Relay relay{client, target, monitor};

  // The client opens session channel 7 (window 1000, packet 500); the target confirms as its
  // channel 42 (window 300, packet 200). Returns the bastion's number for it.
  uint32_t open_session(uint32_t client_id = 7, uint32_t target_id = 42) {
    relay.from_client(encode(ChannelOpenMsg{"session", client_id, 1000, 500, {}}));
    auto open = decode<ChannelOpenMsg>(target.take());
    EXPECT_EQ(open.channel_type, "session");
    EXPECT_EQ(open.initial_window, 1000u);
    EXPECT_EQ(open.max_packet, 500u);
    relay.from_target(encode(ChannelOpenConfirmationMsg{open.sender_channel, target_id, 300, 200}));
    auto conf = decode<ChannelOpenConfirmationMsg>(client.take());
    EXPECT_EQ(conf.recipient_channel, client_id);
    EXPECT_EQ(conf.sender_channel, open.sender_channel);
    EXPECT_EQ(conf.initial_window, 300u);
    EXPECT_EQ(conf.max_packet, 200u);
    return open.sender_channel;
  }
};

TEST_F(RelayFixture, DataIsRelayedWithChannelNumbersRewrittenBothWays) {
  uint32_t id = open_session();
  relay.from_client(data_msg(id, "ls\n"));
  EXPECT_EQ(target.take(), data_msg(42, "ls\n"));
  relay.from_target(data_msg(id, "file\n"));
  EXPECT_EQ(client.take(), data_msg(7, "file\n"));
  // The same through the copying path (a key exchange holds back direct sends).
  client.direct = false;
  relay.from_target(data_msg(id, "more\n"));
  EXPECT_EQ(client.take(), data_msg(7, "more\n"));
}

TEST_F(RelayFixture, WindowsAreEnforcedEndToEnd) {
  uint32_t id = open_session();
  // The target granted 300 bytes: 300 pass, one more is the client's protocol error.
  relay.from_client(data_msg(id, std::string(300, 'a')));
  EXPECT_EQ(target.sent.size(), 1u);
  EXPECT_THROW(relay.from_client(data_msg(id, "b")), ProtocolError);
}

TEST_F(RelayFixture, WindowAdjustPassesThroughAndWidensTheWindow) {
  uint32_t id = open_session();
  relay.from_client(data_msg(id, std::string(300, 'a')));
  target.take();
  relay.from_target(encode(ChannelWindowAdjustMsg{id, 100}));
  EXPECT_EQ(decode<ChannelWindowAdjustMsg>(client.take()).recipient_channel, 7u);
  relay.from_client(data_msg(id, std::string(100, 'b')));
  EXPECT_EQ(target.sent.size(), 1u);
  // The target overrunning the client's window is the target's error.
  EXPECT_THROW(relay.from_target(data_msg(id, std::string(1001, 'c'))), TargetProtocolError);
}

TEST_F(RelayFixture, RequestRepliesKeepTheirOrderAroundALocalRefusal) {
  uint32_t id = open_session();
  monitor.refuse = {"agent"};
  relay.from_client(request_msg(id, "pty-req", true));
  EXPECT_EQ(target.take()[0], kMsgChannelRequest);
  relay.from_client(request_msg(id, "auth-agent-req@openssh.com", true));
  EXPECT_TRUE(target.sent.empty());  // refused: never reaches the target
  EXPECT_TRUE(client.sent.empty());  // and its failure waits behind pty-req's reply
  relay.from_target(reply_msg(kMsgChannelSuccess, id));
  EXPECT_EQ(client.take(), reply_msg(kMsgChannelSuccess, 7));
  EXPECT_EQ(client.take(), reply_msg(kMsgChannelFailure, 7));
  EXPECT_EQ(monitor.asked, std::vector<std::string>{"7 agent "});
}

TEST_F(RelayFixture, ExecIsClassifiedAndAllowedExecPasses) {
  uint32_t id = open_session();
  relay.from_client(exec_msg(id, "scp -t /tmp"));
  relay.from_client(exec_msg(id, "uptime"));
  EXPECT_EQ(target.sent.size(), 2u);
  Writer sftp;
  sftp.string("sftp");
  relay.from_client(request_msg(id, "subsystem", true, sftp.buffer()));
  EXPECT_EQ(monitor.asked,
            (std::vector<std::string>{"7 scp scp -t /tmp", "7 exec uptime", "7 sftp sftp"}));
}

// A failure reply makes clients exit before they print the stderr line, so the refusal is
// answered with success and the channel ends as a failed command does.
TEST_F(RelayFixture, RefusedShellTellsTheUserOnStderrAndEndsWithStatusOne) {
  uint32_t id = open_session();
  monitor.refuse = {"shell"};
  relay.from_client(request_msg(id, "shell", true));
  Bytes err = client.take();
  Reader r(err);
  EXPECT_EQ(r.u8(), kMsgChannelExtendedData);
  EXPECT_EQ(r.u32(), 7u);
  EXPECT_EQ(r.u32(), kExtendedDataStderr);
  EXPECT_EQ(r.text(), "postern: shell is not allowed on web1\r\n");
  EXPECT_EQ(client.take(), reply_msg(kMsgChannelSuccess, 7));
  Bytes status = client.take();
  Reader s(status);
  s.u8();
  EXPECT_EQ(s.u32(), 7u);
  EXPECT_EQ(s.text(), "exit-status");
  s.boolean();
  EXPECT_EQ(s.u32(), 1u);
  EXPECT_EQ(client.take(), encode(ChannelEofMsg{7}));
  EXPECT_EQ(client.take(), encode(ChannelCloseMsg{7}));
  EXPECT_EQ(target.take(), encode(ChannelCloseMsg{42}));
}

TEST_F(RelayFixture, RefusedExecWithoutReplyEndsTheChannelWithStatusOne) {
  uint32_t id = open_session();
  monitor.refuse = {"exec"};
  relay.from_client(exec_msg(id, "rm -rf /", false));
  EXPECT_EQ(client.take()[0], kMsgChannelExtendedData);
  Bytes status = client.take();
  Reader r(status);
  r.u8();
  EXPECT_EQ(r.u32(), 7u);
  EXPECT_EQ(r.text(), "exit-status");
  r.boolean();
  EXPECT_EQ(r.u32(), 1u);
  EXPECT_EQ(client.take(), encode(ChannelEofMsg{7}));
  EXPECT_EQ(client.take(), encode(ChannelCloseMsg{7}));
  EXPECT_EQ(target.take(), encode(ChannelCloseMsg{42}));
  relay.from_client(encode(ChannelCloseMsg{id}));
  relay.from_target(encode(ChannelCloseMsg{id}));
  EXPECT_TRUE(client.sent.empty());
  EXPECT_TRUE(target.sent.empty());
  EXPECT_EQ(relay.open_channels(), 0u);
  EXPECT_EQ(monitor.closed, std::vector<std::string>{"7 up 0 down 0 exit 1"});
}

TEST_F(RelayFixture, EofCloseAndExitStatusEndTheChannelWithAnEvent) {
  uint32_t id = open_session();
  relay.from_client(data_msg(id, "abc"));
  relay.from_target(data_msg(id, "hello"));
  Writer st;
  st.u32(3);
  relay.from_target(request_msg(id, "exit-status", false, st.buffer()));
  relay.from_target(encode(ChannelEofMsg{id}));
  relay.from_target(encode(ChannelCloseMsg{id}));
  client.sent.erase(client.sent.begin(), client.sent.begin() + 2);  // data, exit-status
  EXPECT_EQ(client.take(), encode(ChannelEofMsg{7}));
  EXPECT_EQ(client.take(), encode(ChannelCloseMsg{7}));
  EXPECT_TRUE(monitor.closed.empty());  // the client has not closed yet
  relay.from_client(encode(ChannelCloseMsg{id}));
  target.sent.erase(target.sent.begin());  // data
  EXPECT_EQ(target.take(), encode(ChannelCloseMsg{42}));
  EXPECT_EQ(monitor.closed, std::vector<std::string>{"7 up 3 down 5 exit 3"});
  // The number is free again; a message for it now is an error.
  EXPECT_THROW(relay.from_client(data_msg(id, "x")), ProtocolError);
}

TEST_F(RelayFixture, ExitSignalIsReportedByName) {
  uint32_t id = open_session();
  Writer sig;
  sig.string("TERM").boolean(false).string("").string("");
  relay.from_target(request_msg(id, "exit-signal", false, sig.buffer()));
  relay.from_target(encode(ChannelCloseMsg{id}));
  relay.from_client(encode(ChannelCloseMsg{id}));
  EXPECT_EQ(monitor.closed, std::vector<std::string>{"7 up 0 down 0 exit signal TERM"});
}

TEST_F(RelayFixture, TargetOpenedChannelsOnlyAfterThePolicyAllowedThem) {
  open_session();
  Writer fwd;
  fwd.string("127.0.0.1").u32(8080).string("10.0.0.9").u32(5555);
  Bytes open = encode(ChannelOpenMsg{"forwarded-tcpip", 9, 4000, 1000, {fwd.buffer()}});
  relay.from_target(open);
  auto refused = decode<ChannelOpenFailureMsg>(target.take());
  EXPECT_EQ(refused.recipient_channel, 9u);
  EXPECT_EQ(refused.reason, kOpenAdministrativelyProhibited);
  EXPECT_TRUE(client.sent.empty());

  Writer req;
  req.string("127.0.0.1").u32(8080);
  relay.from_client(encode(GlobalRequestMsg{"tcpip-forward", true, {req.buffer()}}));
  EXPECT_EQ(target.take()[0], kMsgGlobalRequest);
  relay.from_target(open);
  auto to_client = decode<ChannelOpenMsg>(client.take());
  EXPECT_EQ(to_client.channel_type, "forwarded-tcpip");
  EXPECT_EQ(to_client.initial_window, 4000u);
  relay.from_client(encode(ChannelOpenConfirmationMsg{to_client.sender_channel, 77, 2000, 600}));
  auto conf = decode<ChannelOpenConfirmationMsg>(target.take());
  EXPECT_EQ(conf.recipient_channel, 9u);
  EXPECT_EQ(conf.initial_window, 2000u);
  relay.from_client(data_msg(to_client.sender_channel, "GET /"));
  EXPECT_EQ(target.take(), data_msg(9, "GET /"));
}

TEST_F(RelayFixture, GlobalRepliesKeepOrderAndHostkeysAreDropped) {
  monitor.refuse = {"remote-forward"};
  relay.from_client(encode(GlobalRequestMsg{"keepalive@openssh.com", true, {}}));
  Writer req;
  req.string("0.0.0.0").u32(22);
  relay.from_client(encode(GlobalRequestMsg{"tcpip-forward", true, {req.buffer()}}));
  EXPECT_EQ(target.sent.size(), 1u);
  EXPECT_TRUE(client.sent.empty());
  relay.from_target(Bytes{kMsgRequestSuccess});
  EXPECT_EQ(client.take(), Bytes{kMsgRequestSuccess});
  EXPECT_EQ(client.take(), Bytes{kMsgRequestFailure});
  EXPECT_EQ(monitor.asked, std::vector<std::string>{"0 remote-forward 0.0.0.0:22"});

  relay.from_target(encode(GlobalRequestMsg{"hostkeys-00@openssh.com", false, {}}));
  EXPECT_TRUE(client.sent.empty());
  // A reply nobody asked for is the target's protocol error.
  EXPECT_THROW(relay.from_target(Bytes{kMsgRequestSuccess}), TargetProtocolError);
}

TEST_F(RelayFixture, RefusedDirectTcpipGetsTheMonitorsMessage) {
  monitor.refuse = {"direct-tcpip"};
  Writer d;
  d.string("db1").u32(5432).string("127.0.0.1").u32(40000);
  relay.from_client(encode(ChannelOpenMsg{"direct-tcpip", 3, 1000, 100, {d.buffer()}}));
  auto f = decode<ChannelOpenFailureMsg>(client.take());
  EXPECT_EQ(f.recipient_channel, 3u);
  EXPECT_EQ(f.reason, kOpenAdministrativelyProhibited);
  EXPECT_EQ(f.description, "postern: direct-tcpip is not allowed on web1");
  EXPECT_EQ(monitor.asked, std::vector<std::string>{"3 direct-tcpip db1:5432"});
  EXPECT_TRUE(target.sent.empty());
}

TEST_F(RelayFixture, TargetOpenFailureReachesTheClient) {
  relay.from_client(encode(ChannelOpenMsg{"session", 5, 1000, 100, {}}));
  auto open = decode<ChannelOpenMsg>(target.take());
  relay.from_target(encode(ChannelOpenFailureMsg{open.sender_channel, 4, "no", ""}));
  auto f = decode<ChannelOpenFailureMsg>(client.take());
  EXPECT_EQ(f.recipient_channel, 5u);
  EXPECT_EQ(f.reason, 4u);
  EXPECT_EQ(relay.open_channels(), 0u);
}

TEST_F(RelayFixture, TargetLostClosesTheClientsChannels) {
  uint32_t id = open_session();
  relay.from_client(data_msg(id, "x"));
  relay.target_lost();
  EXPECT_EQ(client.take(), encode(ChannelCloseMsg{7}));
  EXPECT_EQ(monitor.closed, std::vector<std::string>{"7 up 1 down 0 exit "});
}

TEST_F(RelayFixture, BadInputIsAProtocolErrorNotACrash) {
  uint32_t id = open_session();
  EXPECT_THROW(relay.from_client(data_msg(99, "x")), ProtocolError);
  Bytes truncated = data_msg(id, "hello");
  truncated.pop_back();
  EXPECT_THROW(relay.from_client(truncated), ProtocolError);
  EXPECT_THROW(relay.from_target(Bytes{kMsgChannelSuccess, 0}), TargetProtocolError);
  EXPECT_THROW(relay.from_client(Bytes{}), ProtocolError);
  // A second confirmation of an open channel.
  EXPECT_THROW(relay.from_target(encode(ChannelOpenConfirmationMsg{id, 1, 1, 1})),
               TargetProtocolError);
  relay.from_client(Bytes{kMsgUserauthRequest});
  EXPECT_EQ(client.unimplemented, 1);
}

TEST_F(RelayFixture, ARecordedShellGetsItsTerminalOutputInputAndResizes) {
  monitor.record = true;
  uint32_t id = open_session();
  Writer pty;
  pty.string("xterm").u32(132).u32(43).u32(0).u32(0).string("");
  relay.from_client(request_msg(id, "pty-req", false, pty.buffer()));
  relay.from_client(request_msg(id, "shell", false));
  EXPECT_EQ(monitor.recordings, std::vector<std::string>{"7 shell 132x43 xterm "});
  relay.from_target(data_msg(id, "$ "));
  Writer stderr_msg;
  stderr_msg.u8(kMsgChannelExtendedData).u32(id).u32(kExtendedDataStderr).string("err");
  relay.from_target(stderr_msg.buffer());
  relay.from_client(data_msg(id, "ls\r"));
  Writer wc;
  wc.u32(100).u32(30).u32(0).u32(0);
  relay.from_client(request_msg(id, "window-change", false, wc.buffer()));
  EXPECT_TRUE(monitor.closed.empty());
  relay.from_client(encode(ChannelCloseMsg{id}));
  relay.from_target(encode(ChannelCloseMsg{id}));
  // The recording ends before the close event (the monitor hashes a complete file).
  EXPECT_EQ(monitor.recorded,
            (std::vector<std::string>{"o $ ", "o err", "i ls\r", "r 100x30", "end"}));
  EXPECT_EQ(monitor.closed.size(), 1u);
}

TEST_F(RelayFixture, AnExecWithoutPtyIsRecordedAt80x24AndScpIsNot) {
  uint32_t id = open_session();
  relay.from_client(exec_msg(id, "uname -a"));
  EXPECT_EQ(monitor.recordings, std::vector<std::string>{"7 exec 80x24  uname -a"});
  target.sent.clear();
  uint32_t id2 = open_session(8, 43);
  relay.from_client(exec_msg(id2, "scp -t /tmp"));
  EXPECT_EQ(monitor.recordings.size(), 1u);
}

TEST_F(RelayFixture, AShellWhoseRecordingCannotBeMadeIsRefusedAndNeverReachesTheTarget) {
  monitor.refuse_recording = true;
  uint32_t id = open_session();
  target.sent.clear();
  relay.from_client(exec_msg(id, "id", true));
  for (const Bytes& m : target.sent) EXPECT_NE(m[0], kMsgChannelRequest);
  std::string stderr_text;
  for (const Bytes& m : client.sent)
    if (m[0] == kMsgChannelExtendedData) stderr_text = std::string(m.begin() + 13, m.end());
  EXPECT_NE(stderr_text.find("postern: cannot record"), std::string::npos) << stderr_text;
}

// An SFTP packet (draft-ietf-secsh-filexfer-02 §3) as channel data.
std::string sftp_packet(uint8_t type, const std::function<void(Writer&)>& body) {
  Writer inner;
  inner.u8(type);
  body(inner);
  Writer w;
  w.string(inner.buffer());
  return std::string(w.buffer().begin(), w.buffer().end());
}

TEST_F(RelayFixture, AnObservedSftpChannelReportsFileEventsAndRelaysUnchanged) {
  monitor.observe_files = true;
  uint32_t id = open_session();
  Writer sub;
  sub.string("sftp");
  relay.from_client(request_msg(id, "subsystem", false, sub.buffer()));
  target.take();
  std::string up = sftp_packet(1, [](Writer& w) { w.u32(3); }) +
                   sftp_packet(14, [](Writer& w) { w.u32(1).string("/tmp/d").u32(0); });
  // Split in the middle of the mkdir packet: the observer gathers it.
  relay.from_client(data_msg(id, up.substr(0, 12)));
  relay.from_client(data_msg(id, up.substr(12)));
  EXPECT_EQ(target.take(), data_msg(42, up.substr(0, 12)));
  EXPECT_EQ(target.take(), data_msg(42, up.substr(12)));
  std::string down = sftp_packet(2, [](Writer& w) { w.u32(3); }) +
                     sftp_packet(101, [](Writer& w) { w.u32(1).u32(0).string("").string(""); });
  relay.from_target(data_msg(id, down));
  EXPECT_EQ(client.take(), data_msg(7, down));
  EXPECT_EQ(monitor.file_events, (std::vector<std::string>{"7 mkdir /tmp/d ok"}));
  // Garbage: one lost event, and the data still goes through.
  std::string junk = "\xff\xff\xff\xffjunk";
  relay.from_client(data_msg(id, junk));
  EXPECT_EQ(target.take(), data_msg(42, junk));
  relay.from_client(data_msg(id, up));
  EXPECT_EQ(target.take(), data_msg(42, up));
  ASSERT_EQ(monitor.file_events.size(), 2u);
  EXPECT_EQ(monitor.file_events[1].rfind("7 lost file-events lost: sftp packet of", 0), 0u);
}

TEST_F(RelayFixture, FilesAreObservedOnlyWhenTheMonitorSaysSo) {
  uint32_t id = open_session();
  relay.from_client(exec_msg(id, "scp -t /tmp/x"));
  target.take();
  relay.from_target(data_msg(id, std::string(1, '\0')));
  relay.from_client(data_msg(id, "C0644 1 x\n"));
  relay.from_target(data_msg(id, std::string(1, '\0')));
  EXPECT_TRUE(monitor.file_events.empty());
  monitor.observe_files = true;
  target.sent.clear();
  client.sent.clear();
  uint32_t id2 = open_session(8, 43);
  relay.from_client(exec_msg(id2, "scp -t /tmp/x"));
  relay.from_target(data_msg(id2, std::string(1, '\0')));
  relay.from_client(data_msg(id2, "C0644 1 x\n"));
  relay.from_target(data_msg(id2, std::string(1, '\0')));
  EXPECT_EQ(monitor.file_events, (std::vector<std::string>{"8 open /tmp/x flags=write ok"}));
}

}  // namespace
}  // namespace postern::bastion
