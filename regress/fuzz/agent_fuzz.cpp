// What the bastion reads from the client's forwarded agent (common/agent_protocol.h,
// draft-miller-ssh-agent): the byte stream cut into frames by AgentFrameReader, in reads of
// fuzzed sizes, and each frame as an identities answer and as a sign response.
#include <cstddef>
#include <cstdint>

#include "common/agent_protocol.h"
#include "common/ssh_key.h"
#include "regress/fuzz/fuzz_input.h"

using namespace postern;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte: how many bytes each read delivers (1..256).
  size_t step = size_t{data[0]} + 1;
  AgentFrameReader reader;
  for (size_t pos = 1; pos < size; pos += step) {
    if (!reader.received(ByteView(data + pos, std::min(step, size - pos)))) {
      FUZZ_CHECK(!reader.error().empty());
      break;
    }
    while (auto frame = reader.next_frame()) {
      FUZZ_CHECK(frame->size() <= kMaxAgentFrame);
      if (auto ids = parse_identities_answer(*frame)) {
        FUZZ_CHECK(ids->size() <= kMaxAgentKeys);
        for (const AgentIdentity& id : *ids) (void)PublicKey::from_blob(id.key_blob);
      }
      (void)parse_sign_response(*frame);
    }
    FUZZ_CHECK(reader.buffered() <= kMaxAgentFrame + 4);
  }
  return 0;
}
