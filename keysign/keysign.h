// ssh-keysign(8): the helper the stock ssh client runs (HostbasedAuthentication yes,
// EnableSSHKeysign yes in the global ssh_config) to sign a hostbased authentication request
// (RFC 4252 §9) with this host's private key, which the invoking user cannot read.
//
// The client↔helper exchange is not in any RFC; observed from OpenSSH 9.2's ssh with strace,
// it is one request and one reply on the helper's stdin and stdout, each framed as
//   uint32 length, then `length` bytes of payload
// with the payloads
//   request:  byte version (2), uint32 fd of the client's connection socket (kept open for
//             the helper), string data (the hostbased request to sign)
//   reply:    byte version (2), string signature (the SSH signature blob)
// On any refusal the helper writes nothing and exits non-zero; the client then skips hostbased.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "common/ssh_cert.h"
#include "common/ssh_key.h"

namespace postern::keysign {

inline constexpr uint8_t kVersion = 2;
// A request is a session id, a few names and a host key or certificate: far below this.
inline constexpr size_t kMaxMessage = 256 * 1024;

struct Request {
  uint8_t version = 0;
  uint32_t socket_fd = 0;
  Bytes data;
};

// The signed data of a hostbased request (RFC 4252 §9), the fields in wire order.
struct HostbasedData {
  Bytes session_id;
  std::string user;
  std::string service;
  std::string method;
  std::string algorithm;  // public key algorithm name
  Bytes key_blob;         // host key or host certificate
  std::string client_host;
  std::string client_user;
};

// Reads one length-framed message from `fd` (the whole of it, or an error on EOF / overlong).
Result<Bytes> read_message(int fd);
// Writes one length-framed message.
Result<void> write_message(int fd, ByteView payload);

Result<Request> parse_request(ByteView payload);
Bytes encode_request(const Request& request);
Bytes encode_reply(ByteView signature);

// Parses the data to sign: string session id, byte SSH_MSG_USERAUTH_REQUEST, string user,
// string service, string "hostbased", string algorithm, string key, string client host,
// string client user; nothing may trail.
Result<HostbasedData> parse_hostbased_data(ByteView data);

// EnableSSHKeysign from an ssh_config(5) file: the first value that applies, following
// Include; settings inside Host or Match blocks count only under "Host *". Missing file or
// keyword: false.
bool keysign_enabled(const std::string& ssh_config_path);

// A host key this helper may sign with, and its certificate when one was found beside it.
struct HostKey {
  PrivateKey key;
  std::vector<Certificate> certificates;
};

// Loads the private keys that exist among `paths` (unreadable or malformed ones are skipped),
// each with "<path>-cert.pub" when that is a certificate for it.
std::vector<HostKey> load_host_keys(const std::vector<std::string>& paths);

// This host's name as the client puts it in a hostbased request: the name the local address
// of `sock` resolves to (its numeric form if it does not resolve), lower-cased, with a
// trailing dot; for a connection that is no IP socket (ProxyCommand), gethostname(2) with a dot.
Result<std::string> local_host_name(int sock);

struct Policy {
  std::string client_host;  // expected client host, from local_host_name()
  std::string client_user;  // the invoking (real) user
};

// Checks the request against this host and user and signs it with the matching host key.
// Returns the SSH signature blob; errors say why the request was refused.
Result<Bytes> sign_request(const Request& request, const std::vector<HostKey>& keys,
                           const Policy& policy);

}  // namespace postern::keysign
