#include "bastion/jump_session_notice.h"

#include "common/ssh_msg.h"
#include "common/wire.h"
#include "session/connection_messages.h"

namespace postern::bastion {

std::string jump_mode_notice(const std::string& bastion_user, const std::string& bastion_host,
                             uint32_t port, const std::string& example) {
  // IPv6 literals need no brackets in a user@host argument; ssh takes them as they are.
  return "postern: this bastion needs a target; name it in the user name: ssh -p " +
         std::to_string(port) + " " + (example.empty() ? "targetuser%target" : example) + "%" +
         bastion_user + "@" + bastion_host;
}

bool answer_jump_session_request(session::PacketSink& client, uint32_t client_id,
                                 uint32_t& client_window, const std::string& request,
                                 bool want_reply, const std::string& notice) {
  bool command = request == "shell" || request == "exec" || request == "subsystem";
  bool ok = command || request == "pty-req" || request == "env" || request == "window-change";
  if (want_reply) {
    Writer w;
    w.u8(ok ? kMsgChannelSuccess : kMsgChannelFailure).u32(client_id);
    client.send(w.buffer());
  }
  if (!command) return false;
  // The notice goes to stderr as far as the client's window allows (RFC 4254 §5.2).
  std::string text = notice.substr(0, client_window);
  if (!text.empty()) {
    Writer w;
    w.u8(kMsgChannelExtendedData).u32(client_id).u32(session::kExtendedDataStderr).string(text);
    client.send(w.buffer());
    client_window -= uint32_t(text.size());
  }
  Writer status;  // RFC 4254 §6.10
  status.u8(kMsgChannelRequest).u32(client_id).string("exit-status").boolean(false).u32(1);
  client.send(status.buffer());
  client.send(encode(session::ChannelEofMsg{client_id}));
  client.send(encode(session::ChannelCloseMsg{client_id}));
  return true;
}

}  // namespace postern::bastion
