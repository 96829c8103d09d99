// SSH_MSG_EXT_INFO (RFC 8308 §2.3): the extension list, written and read in one place for the
// message on the wire and for the transport handoff, which carries the peer's list along.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/bytes.h"

namespace postern::net {

using Extensions = std::vector<std::pair<std::string, std::string>>;

// The whole message, type byte included.
Bytes encode_ext_info(const Extensions& extensions);
// Throws ProtocolError on a malformed message or more extensions than anyone sends.
Extensions parse_ext_info(ByteView message);

}  // namespace postern::net
