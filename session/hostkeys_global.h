// Host key rotation, the session process's half (OpenSSH PROTOCOL §2.5): right after
// authentication the server lists its host keys in a "hostkeys-00@openssh.com" global request,
// and answers the client's "hostkeys-prove-00@openssh.com" with a signature per key. The keys
// and the signatures come from the monitor (PrivilegedOps), which holds the private keys and
// builds the signed data itself.
#pragma once

#include "session/connection_messages.h"
#include "session/packet_sink.h"
#include "session/session.h"

namespace postern::session {

// Most keys one hostkeys-prove-00 request may name, and the largest key blob.
inline constexpr size_t kMaxProveKeys = 64;
inline constexpr size_t kMaxHostKeyBlob = 16 * 1024;

// Sends "hostkeys-00@openssh.com" (want-reply false) with every key the monitor announces;
// sends nothing when it has none to announce.
void announce_host_keys(PacketSink& out, PrivilegedOps& privileged);

// Answers "hostkeys-prove-00@openssh.com": REQUEST_SUCCESS with the signatures in the order of
// the request, or REQUEST_FAILURE when the monitor refuses (a key that is not ours, too many).
// Returns false for any other request. A malformed key list throws ProtocolError.
bool handle_hostkeys_prove(const GlobalRequestMsg& m, PacketSink& out, PrivilegedOps& privileged);

}  // namespace postern::session
