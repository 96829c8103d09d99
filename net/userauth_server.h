// The server side of the authentication protocol (RFC 4252) as the pre-auth child runs it:
// the ssh-userauth service request, "none" (answered with the methods that can continue),
// "publickey" queries (PK_OK) and signed attempts, publickey-hostbound-v00@openssh.com
// (OpenSSH PROTOCOL §2.5), "password" (§8, with its change request refused), "keyboard-interactive"
// (RFC 4256) and "hostbased" (§9). Every decision is the monitor's (AuthDecider); this code only
// speaks the protocol. No I/O: messages come in through handle(), answers go out through the
// transport.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/endpoint.h"
#include "common/ssh_msg.h"
#include "common/wire.h"
#include "net/transport.h"

namespace postern::net {

// What the monitor decides (over ipc in the net child; a fake in tests).
class AuthDecider {
 public:
  virtual ~AuthDecider() = default;
  struct User {
    bool valid = false;
    unsigned max_auth_tries = 6;
    std::vector<std::string> methods;
    std::string banner;  // sent once before the first answer when not empty
  };
  struct Decision {
    bool ok = false;
    bool exceeded = false;  // MaxAuthTries reached: disconnect
    bool partial = false;   // succeeded, but AuthenticationMethods wants more (RFC 4252 §5.1)
    // With partial: the methods that may continue. With a failure, when not empty: the methods
    // that may continue from now on (the monitor narrows the list; RFC 4252 §5.1).
    std::vector<std::string> methods;
  };
  // One step of a keyboard-interactive conversation (RFC 4256), which the monitor drives through
  // PAM: either questions for one SSH_MSG_USERAUTH_INFO_REQUEST, or the outcome.
  struct KbdintStep {
    bool done = false;
    std::string instruction;
    std::vector<std::string> prompts;
    std::vector<bool> echo;  // one per prompt
    Decision decision;       // when done
  };
  virtual User user(const std::string& name, const std::string& service) = 0;
  virtual Decision key_allowed(const std::string& algorithm, ByteView key, bool with_signature) = 0;
  virtual Decision key_verify(const std::string& algorithm, ByteView key, ByteView signature,
                              ByteView signed_data) = 0;
  // RFC 4252 §8: the monitor checks the password (PAM or crypt(3)).
  virtual Decision password(ByteView password) {
    (void)password;
    return {};
  }
  // Text to show (SSH_MSG_USERAUTH_BANNER) before a success, what PAM's account stage said about
  // an expired password; cleared by reading.
  virtual std::string take_banner() { return {}; }
  // RFC 4256 §3.1: the monitor starts the PAM conversation and returns its first step.
  virtual KbdintStep kbdint_start(const std::string& submethods) {
    (void)submethods;
    KbdintStep s;
    s.done = true;
    return s;
  }
  // RFC 4256 §3.4: the answers to the last step's prompts (already checked to be one each).
  virtual KbdintStep kbdint_respond(const std::vector<ByteView>& responses) {
    (void)responses;
    KbdintStep s;
    s.done = true;
    return s;
  }
  // RFC 4252 §9: the monitor checks the client host (rhosts files, known_hosts), its key and
  // the signature, which it verifies over data it builds itself.
  virtual Decision hostbased(const std::string& algorithm, ByteView key,
                             const std::string& client_host, const std::string& client_user,
                             ByteView signature) {
    (void)algorithm, (void)key, (void)client_host, (void)client_user, (void)signature;
    return {};
  }
};

// Authentication ended the connection (MaxAuthTries): the DISCONNECT is queued and logged; the
// caller flushes the transport's output and exits.
class AuthAborted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class UserauthServer {
 public:
  UserauthServer(Transport& transport, AuthDecider& decider, Endpoint peer);

  // Handles one message the transport passed up. Throws ProtocolError on violations (wrong
  // message for the state, change of user or service, malformed request) and, when MaxAuthTries
  // is reached, throws AuthAborted after queueing the DISCONNECT.
  void handle(ByteView message);
  bool authenticated() const { return m_state == State::kAuthenticated; }

  // For the "Connection closed by ..." line: "authenticating user U", "invalid user U" or "".
  std::string user_description() const;
  const std::string& user() const { return m_user; }

 private:
  enum class State { kService, kAuth, kKbdint, kAuthenticated };
  void userauth_request(ByteView message);
  void publickey(Reader& r, bool hostbound);
  void password(Reader& r);
  void hostbased(Reader& r);
  void keyboard_interactive(Reader& r);
  void info_response(ByteView message);
  void kbdint_step(const AuthDecider::KbdintStep& step);
  void password_decided(const AuthDecider::Decision& d);
  // A method succeeded: SUCCESS, or a partial success listing the methods that continue.
  void method_succeeded(const AuthDecider::Decision& d);
  void send_failure(bool partial = false);
  void failed();

  Transport& m_transport;
  AuthDecider& m_decider;
  Endpoint m_peer;
  State m_state = State::kService;
  bool m_user_known = false;
  AuthDecider::User m_user_info;
  std::string m_user;      // the account name, for logs
  std::string m_user_raw;  // as the client sent it, possibly "user:style" (signed data)
  std::string m_service;
  std::string m_method;
  unsigned m_failures = 0;
  bool m_exceeded = false;
  size_t m_kbdint_prompts = 0;  // prompts of the INFO_REQUEST the client is answering
};

}  // namespace postern::net
