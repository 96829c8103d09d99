// The client side of a SOCKS5 CONNECT (RFC 1928, method 0x00 "no authentication required"), as
// the target-opening monitor speaks it through an extender: stock OpenSSH's dynamic reverse
// forward (`ssh -R 0`) is a SOCKS server for the forwarded-tcpip channels the bastion opens
// toward it. I/O-free: the caller writes output() and reads at most wanted() bytes at a time,
// so nothing after the server's reply (the target's own bytes) is ever taken off the stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/result.h"

namespace postern::bastion {

class Socks5Connect {
 public:
  enum class State { kGreeting, kReply, kDone, kFailed };

  // `host` is an IPv4 or IPv6 literal (sent as such) or a host name of at most 255 bytes (sent
  // as a domain name, resolved by the extender, which is the point: the name is the remote
  // network's). An unusable host or port 0 fails at once (state() kFailed, error() says why).
  Socks5Connect(std::string_view host, uint16_t port);

  State state() const { return m_state; }
  // Bytes to send now; empty once sent until the next step.
  Bytes take_output();
  // The most bytes to read next: never past the end of the server's message.
  size_t wanted() const;
  // Bytes the server sent (at most wanted()). More than wanted() is the caller's bug. Once
  // kFailed, input changes nothing: error() keeps the first reason.
  void on_input(ByteView data);
  // kFailed: one line, e.g. "connection refused (SOCKS reply 5)" or "not a SOCKS5 server".
  const std::string& error() const { return m_error; }

 private:
  void fail(std::string why);
  void method_selected();
  void reply_complete();

  State m_state = State::kGreeting;
  Bytes m_output;
  Bytes m_request;  // the CONNECT request, sent once the method is selected
  Bytes m_input;    // the server's current message so far
  size_t m_expect = 2;
  std::string m_error;
};

// RFC 1928 §6's reply codes, as a user would read them.
std::string socks5_reply_text(uint8_t code);

}  // namespace postern::bastion
