// SSH_MSG_EXT_INFO. See ext_info.h.
#include "net/ext_info.h"

#include "common/protocol_error.h"
#include "common/wire.h"
#include "net/messages.h"

namespace postern::net {

namespace {
// OpenSSH sends three; a bound keeps a hostile list from growing without end.
constexpr size_t kMaxExtensions = 64;
}  // namespace

Bytes encode_ext_info(const Extensions& extensions) {
  Writer w;
  w.u8(kMsgExtInfo).u32(uint32_t(extensions.size()));
  for (const auto& [name, value] : extensions) w.string(name).string(value);
  return w.take();
}

Extensions parse_ext_info(ByteView message) {
  // RFC 8308 §2.3: uint32 nr-extensions, then name/value string pairs.
  Reader r(message);
  r.u8();
  uint32_t n = r.u32();
  if (n > kMaxExtensions) throw ProtocolError("too many extensions in EXT_INFO");
  Extensions ext;
  for (uint32_t i = 0; i < n; ++i) {
    std::string name(r.text(1024));
    std::string value(as_string(r.string()));
    ext.emplace_back(std::move(name), std::move(value));
  }
  r.expect_done("EXT_INFO");
  return ext;
}

}  // namespace postern::net
