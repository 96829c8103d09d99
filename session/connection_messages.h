// The messages of the SSH connection protocol (RFC 4254), one struct per message in wire order
// (common/wire.h encodes and decodes them). The bulk data messages (CHANNEL_DATA and
// CHANNEL_EXTENDED_DATA) are parsed and built by hand on the data path so no payload is copied
// into a temporary.
#pragma once

#include <cstdint>
#include <string>
#include <tuple>

#include "common/ssh_msg.h"
#include "common/wire.h"

namespace postern::session {

// RFC 4254 §5.1 reason codes for CHANNEL_OPEN_FAILURE.
inline constexpr uint32_t kOpenAdministrativelyProhibited = 1;
inline constexpr uint32_t kOpenConnectFailed = 2;
inline constexpr uint32_t kOpenUnknownChannelType = 3;
inline constexpr uint32_t kOpenResourceShortage = 4;

// RFC 4254 §5.2: the only extended data type defined.
inline constexpr uint32_t kExtendedDataStderr = 1;

// Header sizes of the bulk data messages: byte type, uint32 channel, [uint32 code,] uint32 len.
inline constexpr size_t kDataHeaderSize = 1 + 4 + 4;
inline constexpr size_t kExtendedDataHeaderSize = 1 + 4 + 4 + 4;

struct GlobalRequestMsg {  // RFC 4254 §4
  static constexpr uint8_t kType = kMsgGlobalRequest;
  std::string request;
  bool want_reply = false;
  Rest data;
  auto fields() { return std::tie(request, want_reply, data); }
};

struct RequestFailureMsg {  // RFC 4254 §4
  static constexpr uint8_t kType = kMsgRequestFailure;
  auto fields() { return std::tie(); }
};

struct ChannelOpenMsg {  // RFC 4254 §5.1
  static constexpr uint8_t kType = kMsgChannelOpen;
  std::string channel_type;
  uint32_t sender_channel = 0;
  uint32_t initial_window = 0;
  uint32_t max_packet = 0;
  Rest data;
  auto fields() { return std::tie(channel_type, sender_channel, initial_window, max_packet, data); }
};

struct ChannelOpenConfirmationMsg {  // RFC 4254 §5.1
  static constexpr uint8_t kType = kMsgChannelOpenConfirmation;
  uint32_t recipient_channel = 0;
  uint32_t sender_channel = 0;
  uint32_t initial_window = 0;
  uint32_t max_packet = 0;
  auto fields() { return std::tie(recipient_channel, sender_channel, initial_window, max_packet); }
};

struct ChannelOpenFailureMsg {  // RFC 4254 §5.1
  static constexpr uint8_t kType = kMsgChannelOpenFailure;
  uint32_t recipient_channel = 0;
  uint32_t reason = 0;
  std::string description;
  std::string language;
  auto fields() { return std::tie(recipient_channel, reason, description, language); }
};

struct ChannelWindowAdjustMsg {  // RFC 4254 §5.2
  static constexpr uint8_t kType = kMsgChannelWindowAdjust;
  uint32_t recipient_channel = 0;
  uint32_t bytes_to_add = 0;
  auto fields() { return std::tie(recipient_channel, bytes_to_add); }
};

struct ChannelEofMsg {  // RFC 4254 §5.3
  static constexpr uint8_t kType = kMsgChannelEof;
  uint32_t recipient_channel = 0;
  auto fields() { return std::tie(recipient_channel); }
};

struct ChannelCloseMsg {  // RFC 4254 §5.3
  static constexpr uint8_t kType = kMsgChannelClose;
  uint32_t recipient_channel = 0;
  auto fields() { return std::tie(recipient_channel); }
};

// The longest channel request name we accept; the names of RFC 4254 §6 and OpenSSH's
// extensions are far shorter.
inline constexpr size_t kMaxRequestName = 256;

struct ChannelRequestMsg {  // RFC 4254 §5.4; the request-specific data in channel_requests.h
  static constexpr uint8_t kType = kMsgChannelRequest;
  uint32_t recipient_channel = 0;
  Text<kMaxRequestName> request;
  bool want_reply = false;
  Rest data;
  auto fields() { return std::tie(recipient_channel, request, want_reply, data); }
};

struct ChannelSuccessMsg {  // RFC 4254 §5.4
  static constexpr uint8_t kType = kMsgChannelSuccess;
  uint32_t recipient_channel = 0;
  auto fields() { return std::tie(recipient_channel); }
};

struct ChannelFailureMsg {  // RFC 4254 §5.4
  static constexpr uint8_t kType = kMsgChannelFailure;
  uint32_t recipient_channel = 0;
  auto fields() { return std::tie(recipient_channel); }
};

}  // namespace postern::session
