// The session process's decoders for the connection protocol (RFC 4254): every message struct of
// session/connection_messages.h and every channel request's data of session/channel_requests.h
// (the code that acts on them forks shells, so it is fuzzed through the I/O-free bastion relay,
// relay_fuzz.cpp, instead), and the pty-req terminal modes (RFC 4254 §8).
#include <termios.h>

#include <cstddef>
#include <cstdint>

#include "regress/fuzz/fuzz_input.h"
#include "session/channel_requests.h"
#include "session/connection_messages.h"
#include "session/terminal_modes.h"

using namespace postern;
using namespace postern::session;

namespace {

template <typename Msg>
void try_decode(ByteView payload) {
  try {
    Msg m = decode<Msg>(payload);
    Bytes again = encode(m);
    (void)decode<Msg>(again);
  } catch (const ProtocolError&) {
  }
}

template <typename... Msgs>
void try_all(ByteView payload) {
  (try_decode<Msgs>(payload), ...);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteView payload(data, size);
  try_all<GlobalRequestMsg, RequestFailureMsg, ChannelOpenMsg, ChannelOpenConfirmationMsg,
          ChannelOpenFailureMsg, ChannelWindowAdjustMsg, ChannelEofMsg, ChannelCloseMsg,
          ChannelRequestMsg, ChannelSuccessMsg, ChannelFailureMsg, PtyRequest, X11Request,
          EnvRequest, ShellRequest, ExecRequest, SubsystemRequest, WindowChangeRequest,
          SignalRequest, ExitStatusRequest, ExitSignalRequest, BreakRequest, AgentRequest>(payload);
  struct termios tio {};
  try {
    apply_terminal_modes(payload, tio);
  } catch (const ProtocolError&) {
  }
  return 0;
}
