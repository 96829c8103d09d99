// The bastion relay (bastion/relay.cpp): connection-protocol messages (RFC 4254) from the client
// and from the target, channel opens, requests, data, windows, replies and closes, each checked
// and renumbered. The input is a sequence of frames (fuzz_input.h); a frame's first byte says
// who sent the rest: even, the client; odd, the target.
#include <cstddef>
#include <cstdint>

#include "bastion/relay.h"
#include "common/protocol_error.h"
#include "regress/fuzz/fuzz_input.h"

using namespace postern;
using namespace postern::bastion;

namespace {

// Keeps only a count of what was sent: the relay's own bounds must keep memory in check.
class CountingSink : public session::PacketSink {
 public:
  void send(ByteView payload) override { bytes += payload.size(); }
  bool can_send_direct() const override { return true; }
  MutableByteView begin_packet(size_t len) override {
    m_direct.resize(len);
    return MutableByteView(m_direct);
  }
  void commit_packet() override { bytes += m_direct.size(); }
  void send_unimplemented() override {}
  size_t queued_bytes() const override { return 0; }
  size_t bytes = 0;

 private:
  Bytes m_direct;
};

class FuzzMonitor : public RelayMonitor {
 public:
  Decision decide(uint32_t, std::string_view kind, std::string_view detail) override {
    // Refuse some so both answers' paths run.
    return Decision{kind != "x11" && detail.find("deny") == std::string_view::npos, "refused"};
  }
  void channel_closed(uint32_t, uint64_t, uint64_t, const std::string&) override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CountingSink client, target;
  FuzzMonitor monitor;
  Relay relay(client, target, monitor);
  try {
    for (ByteView frame : fuzz::split_frames(data, size)) {
      if (frame.size() < 2) continue;  // a side byte and a message of at least its number
      ByteView message = frame.subspan(1);
      if (frame[0] & 1) {
        relay.from_target(message);
      } else {
        relay.from_client(message);
      }
    }
    FUZZ_CHECK(relay.open_channels() <= Relay::kMaxChannels);
    relay.target_lost();
  } catch (const ProtocolError&) {
  } catch (const TargetProtocolError&) {
  }
  return 0;
}
