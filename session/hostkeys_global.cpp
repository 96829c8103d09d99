#include "session/hostkeys_global.h"

#include "common/log.h"
#include "common/protocol_error.h"
#include "common/wire.h"

namespace postern::session {

void announce_host_keys(PacketSink& out, PrivilegedOps& privileged) {
  auto keys = privileged.host_keys();
  if (!keys || keys->empty()) return;
  Writer w;
  w.u8(kMsgGlobalRequest);
  w.string("hostkeys-00@openssh.com");
  w.boolean(false);
  for (const Bytes& k : *keys) w.string(ByteView(k));
  out.send(w.buffer());
  log_debug("hostkeys-00@openssh.com: sent %zu keys", keys->size());
}

bool handle_hostkeys_prove(const GlobalRequestMsg& m, PacketSink& out, PrivilegedOps& privileged) {
  if (m.request != "hostkeys-prove-00@openssh.com") return false;
  // string[] hostkeys: strings up to the end of the request.
  std::vector<Bytes> keys;
  Reader r(m.data.bytes);
  bool too_many = false;
  while (!r.done()) {
    ByteView k = r.string(kMaxHostKeyBlob);
    if (keys.size() == kMaxProveKeys) {
      too_many = true;
      continue;
    }
    keys.emplace_back(k.begin(), k.end());
  }
  // The reply carries the signatures; a request that wants none cannot be answered.
  if (!m.want_reply) return true;
  Result<std::vector<Bytes>> sigs = Unexpected("too many keys");
  if (!too_many) sigs = privileged.prove_host_keys(keys);
  if (!sigs) {
    log_debug("hostkeys-prove-00@openssh.com for %zu keys refused: %s", keys.size(),
              sigs.error().message.c_str());
    out.send(encode(RequestFailureMsg{}));
    return true;
  }
  Writer w;
  w.u8(kMsgRequestSuccess);
  for (const Bytes& s : *sigs) w.string(ByteView(s));
  out.send(w.buffer());
  return true;
}

}  // namespace postern::session
