// The client's side of the SSH agent protocol (draft-miller-ssh-agent): list an agent's keys and
// have it sign. Used by the bastion's role credential "agent" (the user's forwarded agent,
// bastion/agent_channel.h) and by HostKeyAgent (monitor/host_key_agent.h). Free of I/O: requests
// are built as framed bytes, answers are reassembled from the bytes the agent delivers and parsed
// here, every length bounded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"

namespace postern {

// draft-miller-ssh-agent §5.1 message numbers and §5.5.1 signature flags.
inline constexpr uint8_t kAgentFailure = 5;
inline constexpr uint8_t kAgentRequestIdentities = 11;
inline constexpr uint8_t kAgentIdentitiesAnswer = 12;
inline constexpr uint8_t kAgentSignRequest = 13;
inline constexpr uint8_t kAgentSignResponse = 14;
inline constexpr uint32_t kAgentRsaSha2_256 = 2;
inline constexpr uint32_t kAgentRsaSha2_512 = 4;

// An answer longer than this is refused: the stream is then unusable.
inline constexpr size_t kMaxAgentFrame = 256 * 1024;
// An agent listing more keys than this is refused rather than buffered.
inline constexpr size_t kMaxAgentKeys = 64;

struct AgentIdentity {
  Bytes key_blob;  // a public key or certificate blob, as the agent holds it
  std::string comment;
};

// Framed requests (draft-miller-ssh-agent §3: uint32 length, then the message).
Bytes agent_request_identities();
Bytes agent_sign_request(ByteView key_blob, ByteView data, uint32_t flags);

// SSH_AGENT_IDENTITIES_ANSWER (§4.4): the keys in the agent's order.
Result<std::vector<AgentIdentity>> parse_identities_answer(ByteView frame);
// SSH_AGENT_SIGN_RESPONSE (§4.5): the signature blob (string algorithm, string signature);
// SSH_AGENT_FAILURE is an error saying the agent refused.
Result<Bytes> parse_sign_response(ByteView frame);

// Cuts the agent's byte stream into answers. After an error (an empty or over-long frame) it
// takes nothing more: the stream cannot be resynchronised.
class AgentFrameReader {
 public:
  // Appends bytes from the agent; false when they break the framing (see error()).
  bool received(ByteView bytes);
  // The next whole answer (without its length), or nullopt.
  std::optional<Bytes> next_frame();
  // Bytes held that are not yet a whole answer.
  size_t buffered() const { return m_buffer.size() - m_pos; }
  const std::string& error() const { return m_error; }

 private:
  bool check_header();

  Bytes m_buffer;
  size_t m_pos = 0;  // start of the first unconsumed byte in m_buffer
  std::string m_error;
};

}  // namespace postern
