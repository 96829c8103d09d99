#include "net/userauth_server.h"

#include <algorithm>

#include "common/log.h"
#include "common/protocol_error.h"
#include "common/wire.h"
#include "net/messages.h"

namespace postern::net {
namespace {

constexpr size_t kMaxUserName = 256;
constexpr size_t kMaxName = 64;
constexpr size_t kMaxHostName = 1025;  // NI_MAXHOST: a host name and its trailing dot
constexpr const char* kHostbound = "publickey-hostbound-v00@openssh.com";

}  // namespace

UserauthServer::UserauthServer(Transport& transport, AuthDecider& decider, Endpoint peer)
    : m_transport(transport), m_decider(decider), m_peer(std::move(peer)) {}

std::string UserauthServer::user_description() const {
  if (!m_user_known) return "";
  return (m_user_info.valid ? "authenticating user " : "invalid user ") + m_user;
}

void UserauthServer::handle(ByteView message) {
  if (message.empty()) throw ProtocolError("empty message");
  uint8_t type = message[0];
  switch (m_state) {
    case State::kService: {
      // RFC 4253 §10: the client asks for ssh-userauth before anything else.
      if (type != kMsgServiceRequest) throw ProtocolError("expected SSH2_MSG_SERVICE_REQUEST");
      auto req = decode<ServiceRequestMsg>(message);
      if (req.service != "ssh-userauth") {
        m_transport.send_disconnect(uint32_t(DisconnectReason::kServiceNotAvailable),
                                    "bad service request " + req.service);
        throw ProtocolError("bad service request " + req.service,
                            DisconnectReason::kServiceNotAvailable);
      }
      log_debug("service %s accepted", req.service.c_str());
      m_transport.send(encode(ServiceAcceptMsg{req.service}));
      m_state = State::kAuth;
      return;
    }
    case State::kAuth:
      // Paramiko asks for ssh-userauth again before each method (a key, then
      // keyboard-interactive); OpenSSH's sshd answers it until the user is authenticated.
      if (type == kMsgServiceRequest) {
        m_state = State::kService;
        return handle(message);
      }
      if (type != kMsgUserauthRequest)
        throw ProtocolError("unexpected message " + std::to_string(type) + " during userauth");
      userauth_request(message);
      return;
    case State::kKbdint:
      // RFC 4256 §3.4: only the answer may come now (or a new request, which abandons it).
      if (type == kMsgUserauthInfoResponse) {
        info_response(message);
        return;
      }
      if (type != kMsgUserauthRequest)
        throw ProtocolError("unexpected message " + std::to_string(type) + " during userauth");
      m_state = State::kAuth;
      userauth_request(message);
      return;
    case State::kAuthenticated:
      // Messages after success belong to the connection protocol; the caller hands off first.
      throw ProtocolError("message after authentication in the pre-auth child");
  }
}

void UserauthServer::userauth_request(ByteView message) {
  Reader r(message);
  r.u8();
  // Read with room to spare so an over-long name gets a message that says so, not "string too
  // long" (the client prints it: "Received disconnect ...: 2: user name longer than 256 bytes").
  std::string user(r.text(4 * kMaxUserName));
  if (user.size() > kMaxUserName)
    throw ProtocolError("user name longer than " + std::to_string(kMaxUserName) + " bytes");
  std::string service(r.text(kMaxName));
  std::string method(r.text(kMaxName));
  if (!m_user_known) {
    // The first request fixes user and service; the monitor looks the user up (PWNAM).
    m_user_raw = user;
    // "user:style" names a BSD auth style; the account is the part before the colon.
    m_user = user.substr(0, user.find(':'));
    m_service = service;
    m_user_info = m_decider.user(user, service);
    m_user_known = true;
    if (!m_user_info.banner.empty()) {
      // RFC 4252 §5.4: string message (UTF-8), string language tag.
      Writer w;
      w.u8(kMsgUserauthBanner).string(m_user_info.banner).string("");
      m_transport.send(w.buffer());
    }
  } else if (user != m_user_raw || service != m_service) {
    // RFC 4252 §5 lets them change; like OpenSSH we refuse it so the monitor's state stays simple.
    throw ProtocolError("Change of username or service not allowed: (" + m_user_raw + "," +
                        m_service + ") -> (" + user + "," + service + ")");
  }
  m_method = method;
  log_debug("userauth-request for user %s service %s method %s", user.c_str(), service.c_str(),
            method.c_str());

  if (method == "none") {
    // RFC 4252 §5.2: "none" lists the methods that may continue; it is no failed attempt.
    r.expect_done("none request");
    send_failure();
    return;
  }
  if (method == "publickey" || method == kHostbound) {
    publickey(r, method == kHostbound);
    return;
  }
  if (method == "password") {
    password(r);
    return;
  }
  if (method == "hostbased" && std::find(m_user_info.methods.begin(), m_user_info.methods.end(),
                                         method) != m_user_info.methods.end()) {
    hostbased(r);
    return;
  }
  if (method == "keyboard-interactive" &&
      std::find(m_user_info.methods.begin(), m_user_info.methods.end(), method) !=
          m_user_info.methods.end()) {
    keyboard_interactive(r);
    return;
  }
  // Methods we do not offer fail and count.
  failed();
  send_failure();
}

// RFC 4252 §7:
//   boolean has_signature, string algorithm, string key blob, [string host key (hostbound)],
//   [string signature]
void UserauthServer::publickey(Reader& r, bool hostbound) {
  bool has_signature = r.boolean();
  std::string algorithm(r.text(kMaxName));
  ByteView key = r.string();
  ByteView hostkey;
  if (hostbound) hostkey = r.string();
  ByteView signature;
  if (has_signature) signature = r.string();
  r.expect_done("publickey request");

  auto allowed = m_decider.key_allowed(algorithm, key, has_signature);
  if (allowed.exceeded) m_exceeded = true;
  if (!allowed.ok) {
    failed();
    send_failure();
    return;
  }
  if (!has_signature) {
    // RFC 4252 §7: the key would be accepted; the client now signs.
    Writer w;
    w.u8(kMsgUserauthPkOk).string(algorithm).string(key);
    m_transport.send(w.buffer());
    // Logged for plain keys and certificates alike, as sshd does.
    log_verbose("Postponed publickey for %s from %s port %d ssh2", m_user.c_str(),
                m_peer.address.c_str(), m_peer.port);
    return;
  }
  // The data the client signed (RFC 4252 §7); the monitor re-parses and checks it.
  Writer w;
  w.string(m_transport.session_id())
      .u8(kMsgUserauthRequest)
      .string(m_user_raw)
      .string(m_service)
      .string(hostbound ? kHostbound : "publickey")
      .boolean(true)
      .string(algorithm)
      .string(key);
  if (hostbound) w.string(hostkey);
  auto verified = m_decider.key_verify(algorithm, key, signature, w.buffer());
  if (verified.exceeded) m_exceeded = true;
  if (!verified.ok) {
    failed();
    send_failure();
    return;
  }
  method_succeeded(verified);
}

// RFC 4252 §9: string algorithm, string host key (or certificate), string client host name
// (FQDN), string client user name, string signature. The monitor decides; it rebuilds the
// signed data from what it knows (session identifier, user, service) and these fields.
void UserauthServer::hostbased(Reader& r) {
  std::string algorithm(r.text(kMaxName));
  ByteView key = r.string(16 * 1024);
  std::string client_host(r.text(kMaxHostName));
  std::string client_user(r.text(kMaxUserName));
  ByteView signature = r.string(16 * 1024);
  r.expect_done("hostbased request");
  log_debug("userauth_hostbased: cuser %s chost %s pkalg %s slen %zu", client_user.c_str(),
            client_host.c_str(), algorithm.c_str(), signature.size());
  auto d = m_decider.hostbased(algorithm, key, client_host, client_user, signature);
  if (d.exceeded) m_exceeded = true;
  if (!d.ok) {
    failed();
    send_failure();
    return;
  }
  method_succeeded(d);
}

// RFC 4252 §8: boolean FALSE, string password; or TRUE with a new password (a change, which we
// do not offer: it fails like a wrong password). Like sshd we never send PASSWD_CHANGEREQ: when
// PAM says the password has expired the login goes on, restricted to changing it (monitor).
void UserauthServer::password(Reader& r) {
  bool change = r.boolean();
  ByteView pw = r.string(1024);
  if (change) r.string(1024);
  r.expect_done("password request");
  AuthDecider::Decision d;
  if (!change)
    d = m_decider.password(pw);
  else
    log_debug("password change request not supported");
  password_decided(d);
}

// RFC 4256 §3.1: string language tag, string submethods. The monitor runs the PAM conversation;
// this only carries its questions and the client's answers.
void UserauthServer::keyboard_interactive(Reader& r) {
  r.text(kMaxName);
  std::string submethods(r.text(1024));
  r.expect_done("keyboard-interactive request");
  kbdint_step(m_decider.kbdint_start(submethods));
}

// RFC 4256 §3.2: string name, string instruction, string language tag, int num-prompts, then
// string prompt and boolean echo for each; or the outcome when the conversation ended.
void UserauthServer::kbdint_step(const AuthDecider::KbdintStep& step) {
  if (step.done) {
    m_state = State::kAuth;
    password_decided(step.decision);
    return;
  }
  if (step.echo.size() != step.prompts.size())
    throw ProtocolError("keyboard-interactive: prompts and echo flags differ");
  Writer w;
  w.u8(kMsgUserauthInfoRequest).string("").string(step.instruction).string("");
  w.u32(uint32_t(step.prompts.size()));
  for (size_t i = 0; i < step.prompts.size(); ++i) w.string(step.prompts[i]).boolean(step.echo[i]);
  m_transport.send(w.buffer());
  m_kbdint_prompts = step.prompts.size();
  m_state = State::kKbdint;
}

// RFC 4256 §3.4: int num-responses, string response... The count must match the prompts asked
// (§3.4: "MUST match"); anything else ends the connection.
void UserauthServer::info_response(ByteView message) {
  Reader r(message);
  r.u8();
  uint32_t n = r.u32();
  if (n != m_kbdint_prompts)
    throw ProtocolError("keyboard-interactive: " + std::to_string(n) + " responses to " +
                        std::to_string(m_kbdint_prompts) + " prompts");
  std::vector<ByteView> answers;
  answers.reserve(n);
  for (uint32_t i = 0; i < n; ++i) answers.push_back(r.string(1024));
  r.expect_done("info response");
  m_state = State::kAuth;
  kbdint_step(m_decider.kbdint_respond(answers));
}

void UserauthServer::password_decided(const AuthDecider::Decision& d) {
  if (d.exceeded) m_exceeded = true;
  if (!d.ok) {
    if (!d.methods.empty()) m_user_info.methods = d.methods;
    failed();
    send_failure();
    return;
  }
  if (std::string banner = m_decider.take_banner(); !banner.empty()) {
    // What PAM's account stage said (an expired password), shown as sshd shows it (RFC 4252 §5.4).
    Writer w;
    w.u8(kMsgUserauthBanner).string(banner).string("");
    m_transport.send(w.buffer());
  }
  method_succeeded(d);
}

void UserauthServer::method_succeeded(const AuthDecider::Decision& d) {
  if (d.partial) {
    m_user_info.methods = d.methods;
    send_failure(true);
    return;
  }
  m_transport.send(Bytes{kMsgUserauthSuccess});
  m_state = State::kAuthenticated;
}

void UserauthServer::send_failure(bool partial) {
  Writer w;
  w.u8(kMsgUserauthFailure).name_list(m_user_info.methods).boolean(partial);
  m_transport.send(w.buffer());
}

void UserauthServer::failed() {
  ++m_failures;
  if (!m_exceeded && m_failures < m_user_info.max_auth_tries) return;
  // MaxAuthTries (sshd_config(5)); the lines are OpenSSH's, which fail2ban matches.
  const char* invalid = m_user_info.valid ? "" : "invalid user ";
  log_error("maximum authentication attempts exceeded for %s%s from %s port %d ssh2", invalid,
            m_user.c_str(), m_peer.address.c_str(), m_peer.port);
  m_transport.send_disconnect(uint32_t(DisconnectReason::kProtocolError),
                              "Too many authentication failures");
  log_info("Disconnecting %s %s port %d: Too many authentication failures",
           user_description().c_str(), m_peer.address.c_str(), m_peer.port);
  throw AuthAborted("Too many authentication failures");
}

}  // namespace postern::net
