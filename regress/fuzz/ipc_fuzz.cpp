// The ipc codec as the monitor reads a datagram from a child it must assume compromised: every
// message type of common/ipc_messages.h, ipc_bastion_messages.h and ipc_proxy_messages.h through
// ipc::decode. A datagram that decodes must encode and decode again to the same bytes' meaning.
#include <cstddef>
#include <cstdint>

#include "common/ipc.h"
#include "common/ipc_bastion_messages.h"
#include "common/ipc_messages.h"
#include "common/ipc_proxy_messages.h"
#include "regress/fuzz/fuzz_input.h"

using namespace postern;
using namespace postern::ipc;

namespace {

template <typename Msg>
void try_decode(ByteView datagram) {
  if (datagram.empty() || datagram[0] != Msg::kType) return;
  try {
    Msg m = ipc::decode<Msg>(datagram);
    SecretBytes again = ipc::encode(m);
    Msg m2 = ipc::decode<Msg>(again.view());
    SecretBytes third = ipc::encode(m2);
    FUZZ_CHECK(equal_ct(third.view(), again.view()));
  } catch (const ProtocolError&) {
    // What the monitor does with a malformed request: end the connection (monitor.cpp).
  }
}

template <typename... Msgs>
void try_all(ByteView datagram) {
  (try_decode<Msgs>(datagram), ...);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > kMaxMessageSize) return 0;  // Channel::receive refuses longer datagrams
  try_all<SessionStart, LogLine, NetSetup, SignReply, SignRequest, ModuliReply, ModuliRequest,
          PwnamReply, PwnamRequest, KeyAllowedReply, KeyAllowedRequest, AuthOutcome,
          KeyVerifyRequest, PasswordRequest, KbdintReply, KbdintStartRequest, KbdintResponseRequest,
          HostbasedRequest, AuthDone, UserSetup, PtyReply, PtyRequest, HostKeysReply,
          HostKeysRequest, HostKeysProveReply, HostKeysProveRequest, TunOpenReply, TunOpenRequest,
          LoginRecordReply, LoginRecordRequest, LogoutRecordRequest, BastionSetup, TargetOpenReply,
          TargetOpenRequest, TargetHostKeyReply, TargetHostKeyRequest, TargetCertReply,
          TargetCertRequest, TargetSignReply, TargetSignRequest, ChannelDecisionReply,
          ChannelDecisionRequest, BastionEvent, ProxyTarget>(ByteView(data, size));
  return 0;
}
