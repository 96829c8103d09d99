#include "bastion/target_login.h"

#include "common/ssh_msg.h"
#include "common/wire.h"

namespace postern::bastion {

TargetLogin::TargetLogin(net::Transport& target, std::string user, TargetCredential credential)
    : m_target(target), m_user(std::move(user)), m_credential(std::move(credential)) {}

void TargetLogin::progress() {
  if (m_state != State::kKeyExchange || !m_target.first_kex_done()) return;
  // RFC 4253 §10.
  Writer w;
  w.u8(kMsgServiceRequest).string("ssh-userauth");
  m_target.send(w.buffer());
  m_state = State::kService;
}

void TargetLogin::handle(ByteView msg) {
  if (msg.empty()) throw ProtocolError("empty message");
  Reader r(msg);
  uint8_t type = r.u8();
  if (m_state == State::kService) {
    if (type != kMsgServiceAccept) throw ProtocolError("the target did not accept ssh-userauth");
    if (r.text(64) != "ssh-userauth") throw ProtocolError("the target accepted another service");
    m_state = State::kAuth;
    send_publickey();  // may end in kFailed when the signer refuses
    return;
  }
  if (m_state != State::kAuth) throw ProtocolError("unexpected message from the target");
  switch (type) {
    case kMsgUserauthBanner:  // RFC 4252 §5.4: the client already logged in to the bastion
      return;
    case kMsgUserauthSuccess:
      m_target.set_authenticated();
      m_state = State::kSucceeded;
      return;
    case kMsgUserauthFailure: {
      // RFC 4252 §5.1: partial success means the target wants more than one method; the
      // bastion has only this one.
      std::string methods(r.text(1024));
      bool partial = r.boolean();
      m_failure = partial ? "wants more authentication (" + methods + ")" : "refused";
      m_state = State::kFailed;
      return;
    }
    default:
      throw ProtocolError("unexpected message " + std::to_string(type) + " during userauth");
  }
}

// RFC 4252 §7: the signature covers the session identifier and the request up to here.
void TargetLogin::send_publickey() {
  Writer body;
  body.u8(kMsgUserauthRequest).string(m_user).string("ssh-connection").string("publickey");
  body.boolean(true).string(m_credential.algorithm).string(ByteView(m_credential.key_blob));
  Writer signed_data;
  signed_data.string(m_target.session_id()).raw(body.buffer());
  auto sig = m_credential.sign(m_credential.algorithm, signed_data.buffer());
  if (!sig) {
    m_failure = "could not sign: " + sig.error().message;
    m_state = State::kFailed;
    return;
  }
  body.string(ByteView(*sig));
  m_target.send(body.buffer());
}

}  // namespace postern::bastion
