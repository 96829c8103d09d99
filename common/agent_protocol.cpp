#include "common/agent_protocol.h"

#include "common/be_bytes.h"
#include "common/wire.h"

namespace postern {
namespace {

// draft-miller-ssh-agent §3: every message travels as uint32 length, then the message.
Bytes frame(const Bytes& message) {
  Writer w;
  w.u32(uint32_t(message.size())).raw(message);
  return w.take();
}

std::string unexpected_answer(uint8_t type) {
  return "unexpected answer " + std::to_string(type) + " from the agent";
}

}  // namespace

Bytes agent_request_identities() {
  Writer w;
  w.u8(kAgentRequestIdentities);
  return frame(w.buffer());
}

Bytes agent_sign_request(ByteView key_blob, ByteView data, uint32_t flags) {
  // §4.5: byte SIGN_REQUEST, string key blob, string data, uint32 flags.
  Writer w;
  w.u8(kAgentSignRequest).string(key_blob).string(data).u32(flags);
  return frame(w.buffer());
}

Result<std::vector<AgentIdentity>> parse_identities_answer(ByteView frame) {
  try {
    Reader r(frame);
    uint8_t type = r.u8();
    if (type == kAgentFailure) return Unexpected("the agent refused to list its keys");
    if (type != kAgentIdentitiesAnswer) return Unexpected(unexpected_answer(type));
    // §4.4: uint32 nkeys, then nkeys times (string key blob, string comment).
    uint32_t count = r.u32();
    if (count > kMaxAgentKeys)
      return Unexpected("the agent lists " + std::to_string(count) + " keys, more than " +
                        std::to_string(kMaxAgentKeys));
    std::vector<AgentIdentity> keys;
    keys.reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
      ByteView blob = r.string(kMaxAgentFrame);
      if (blob.empty()) return Unexpected("the agent listed an empty key");
      std::string_view comment = r.text(kMaxAgentFrame);
      keys.push_back({Bytes(blob.begin(), blob.end()), std::string(comment)});
    }
    r.expect_done("identities answer");
    return keys;
  } catch (const ProtocolError& e) {
    return Unexpected(std::string("malformed key list from the agent: ") + e.what());
  }
}

Result<Bytes> parse_sign_response(ByteView frame) {
  try {
    Reader r(frame);
    uint8_t type = r.u8();
    if (type == kAgentFailure) return Unexpected("the agent refused to sign");
    if (type != kAgentSignResponse) return Unexpected(unexpected_answer(type));
    ByteView signature = r.string(kMaxAgentFrame);
    r.expect_done("sign response");
    // The blob itself is RFC 4253 §6.6's "string format, string signature".
    Reader sig(signature);
    if (sig.text(256).empty()) return Unexpected("the agent's signature names no algorithm");
    sig.string();
    sig.expect_done("signature");
    return Bytes(signature.begin(), signature.end());
  } catch (const ProtocolError& e) {
    return Unexpected(std::string("malformed signature from the agent: ") + e.what());
  }
}

bool AgentFrameReader::received(ByteView bytes) {
  if (!m_error.empty()) return false;
  // Drop what was consumed before growing, so the buffer holds at most one answer in progress
  // plus what came with it.
  if (m_pos > 0) {
    m_buffer.erase(m_buffer.begin(), m_buffer.begin() + ptrdiff_t(m_pos));
    m_pos = 0;
  }
  m_buffer.insert(m_buffer.end(), bytes.begin(), bytes.end());
  return check_header();
}

bool AgentFrameReader::check_header() {
  if (buffered() < 4) return true;
  uint32_t len = load_be32(m_buffer.data() + m_pos);
  if (len == 0) m_error = "the agent sent an empty answer";
  if (len > kMaxAgentFrame)
    m_error = "the agent's answer of " + std::to_string(len) + " bytes is over the limit of " +
              std::to_string(kMaxAgentFrame);
  if (m_error.empty()) return true;
  m_buffer.clear();
  m_pos = 0;
  return false;
}

std::optional<Bytes> AgentFrameReader::next_frame() {
  if (!m_error.empty() || buffered() < 4) return std::nullopt;
  uint32_t len = load_be32(m_buffer.data() + m_pos);
  if (buffered() - 4 < len) return std::nullopt;
  auto begin = m_buffer.begin() + ptrdiff_t(m_pos + 4);
  Bytes out(begin, begin + len);
  m_pos += 4 + len;
  check_header();  // the next answer's length, if it came along
  return out;
}

}  // namespace postern
