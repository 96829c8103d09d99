// A violation of the protocol by the peer (or by a child process talking to the monitor). It is
// thrown, caught at one boundary per process, answered with SSH_MSG_DISCONNECT where a peer can
// still be told, and ends the process (OpenSSH's fatal()).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace postern {

// RFC 4253 §11.1 / RFC 4250 §4.2.2 disconnect reason codes.
enum class DisconnectReason : uint32_t {
  kHostNotAllowedToConnect = 1,
  kProtocolError = 2,
  kKeyExchangeFailed = 3,
  kReserved = 4,
  kMacError = 5,
  kCompressionError = 6,
  kServiceNotAvailable = 7,
  kProtocolVersionNotSupported = 8,
  kHostKeyNotVerifiable = 9,
  kConnectionLost = 10,
  kByApplication = 11,
  kTooManyConnections = 12,
  kAuthCancelledByUser = 13,
  kNoMoreAuthMethodsAvailable = 14,
  kIllegalUserName = 15,
};

class ProtocolError : public std::runtime_error {
 public:
  explicit ProtocolError(const std::string& what,
                         DisconnectReason reason = DisconnectReason::kProtocolError)
      : std::runtime_error(what), m_reason(reason) {}
  DisconnectReason reason() const { return m_reason; }

 private:
  DisconnectReason m_reason;
};

// The peer went away (EOF or reset): not an error worth a DISCONNECT, but it ends the process.
class ConnectionClosed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace postern
