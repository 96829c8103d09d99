// The one codec for messages between postern's processes (docs/architecture.md): a SOCK_SEQPACKET
// socketpair carries one typed message per datagram — a type byte, then the fields of a message
// struct (common/wire.h) — and file descriptors ride along with SCM_RIGHTS. Sizes and fd counts
// are bounded, because whatever a child sends the monitor is untrusted input.
//
// A child calls `channel.call(request)` and blocks for `Request::Reply` (or an ErrorReply, which
// becomes the Result's error). The monitor receives with `receive()`, checks the request against
// its phase table, and answers through a Dispatcher.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/bytes.h"
#include "common/protocol_error.h"
#include "common/result.h"
#include "common/unique_fd.h"
#include "common/wire.h"

namespace postern::ipc {

// Largest datagram either side sends or accepts. An AF_UNIX datagram must fit the socket's send
// buffer (net.core.wmem_default, 208 KiB by default), so stay below that.
inline constexpr size_t kMaxMessageSize = 160 * 1024;
// Most file descriptors one message carries (a pty pair, a socket and a spare).
inline constexpr size_t kMaxFds = 4;
// Bounds for the list fields below.
inline constexpr size_t kMaxListItems = 1024;

// ---- Field types beyond common/wire.h's ------------------------------------------------------
// Strings: u32 count, then that many strings.
using StringList = std::vector<std::string>;
// Binary blobs: u32 count, then that many strings.
using BlobList = std::vector<Bytes>;
// Secret bytes (transport keys): a string on the wire, wiped when freed on either side.
// (SecretBytes itself is the member type.)
// Signed 32-bit values (ports, fds that may be -1): as u32 two's complement.
struct Int32 {
  int32_t value = 0;
  bool operator==(const Int32&) const = default;
};

namespace detail {
using postern::detail::read_field;
using postern::detail::write_field;

void read_field(Reader& r, StringList& v);
void read_field(Reader& r, BlobList& v);
void read_field(Reader& r, SecretBytes& v);
void read_field(Reader& r, Int32& v);
void write_field(Writer& w, const StringList& v);
void write_field(Writer& w, const BlobList& v);
void write_field(Writer& w, const SecretBytes& v);
void write_field(Writer& w, const Int32& v);

template <typename T>
concept HasFields = requires(T t) {
  t.fields();
};

template <typename Msg>
void decode_fields(Reader& r, Msg& m);
template <typename Msg>
void encode_fields(Writer& w, Msg& m);

// A message struct inside another (KbdintReply's AuthOutcome): its fields in order, no type byte.
template <HasFields T>
void read_field(Reader& r, T& v) {
  decode_fields(r, v);
}
template <HasFields T>
void write_field(Writer& w, T& v) {
  encode_fields(w, v);
}

template <typename Msg>
void decode_fields(Reader& r, Msg& m) {
  std::apply([&](auto&... f) { (read_field(r, f), ...); }, m.fields());
}
template <typename Msg>
void encode_fields(Writer& w, Msg& m) {
  std::apply([&](auto&... f) { (write_field(w, f), ...); }, m.fields());
}

template <typename T>
concept HasFds = requires(T t) {
  { t.fds } -> std::same_as<std::vector<UniqueFd>&>;
};
}  // namespace detail

// Decodes a whole datagram into Msg: type byte, each field, nothing trailing. Throws
// ProtocolError on anything malformed.
template <typename Msg>
Msg decode(ByteView datagram) {
  Reader r(datagram);
  if (r.u8() != Msg::kType) throw ProtocolError("ipc: unexpected message type");
  Msg m{};
  detail::decode_fields(r, m);
  r.expect_done("ipc message");
  return m;
}

// Encodes Msg into a buffer that wipes itself: the transport state and similar travel this way.
template <typename Msg>
SecretBytes encode(Msg& m) {
  Writer w;
  w.u8(Msg::kType);
  detail::encode_fields(w, m);
  SecretBytes out(ByteView(w.buffer()));
  OPENSSL_cleanse(w.buffer().data(), w.buffer().size());
  return out;
}

// The answer to a request the monitor refuses or could not carry out (an expected failure, e.g.
// "no such pty"). Requests that are not allowed at all are not answered: the monitor ends the
// connection instead.
//   byte   kType (255)
//   string message
struct ErrorReply {
  static constexpr uint8_t kType = 255;
  std::string message;
  auto fields() { return std::tie(message); }
};

// A message that is never answered (log lines, notifications).
struct NoReply {};

// One received datagram.
struct Message {
  uint8_t type = 0;
  SecretBytes data;  // the whole datagram, type byte first
  std::vector<UniqueFd> fds;
};

// A send that could not complete by the channel's send deadline: the peer stopped reading.
// Not a ConnectionClosed: the peer is still there, and whoever waits for it to exit would wait
// forever; the caller ends it.
class SendTimedOut : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Milliseconds on CLOCK_MONOTONIC, the clock send deadlines are given in.
uint64_t monotonic_ms();

class Channel {
 public:
  Channel() = default;
  explicit Channel(UniqueFd fd) : m_fd(std::move(fd)) {}
  Channel(Channel&&) noexcept = default;
  Channel& operator=(Channel&&) noexcept = default;

  // A connected SOCK_SEQPACKET pair, close-on-exec on both ends. Throws std::system_error.
  static std::pair<Channel, Channel> make_pair();

  int fd() const { return m_fd.get(); }
  bool valid() const { return m_fd.valid(); }
  UniqueFd release_fd() { return std::move(m_fd); }

  // From now on every send must complete by deadline_ms (monotonic_ms(); 0: no deadline, sends
  // block). The monitor sets LoginGraceTime's deadline on its pre-auth channel, so a child that
  // stops reading cannot hold the root monitor past it.
  void set_send_deadline(uint64_t deadline_ms) { m_send_deadline_ms = deadline_ms; }

  // Sends one datagram with the given descriptors (the receiver gets duplicates). Throws
  // ConnectionClosed when the peer has gone, ProtocolError when the message is too big,
  // SendTimedOut when the send deadline passes first.
  void send_datagram(ByteView datagram, std::span<const int> fds = {});
  template <typename Msg>
  void send(Msg&& msg, std::span<const int> fds = {}) {
    auto& m = msg;
    SecretBytes d = encode(m);
    send_datagram(d.view(), fds);
  }

  // Blocks for one datagram. Throws ConnectionClosed on EOF and ProtocolError on an empty,
  // truncated or oversized datagram or one with too many descriptors.
  Message receive();

  // Sends a request and blocks for its reply: Req::Reply, or the error text of an ErrorReply.
  // A reply struct with a `std::vector<UniqueFd> fds` member receives the descriptors. Any other
  // answer is a protocol violation.
  template <typename Req>
  Result<typename Req::Reply> call(Req req, std::span<const int> fds = {}) {
    using Reply = typename Req::Reply;
    send(req, fds);
    Message m = receive();
    if (m.type == ErrorReply::kType) {
      if (!m.fds.empty()) throw ProtocolError("ipc: error reply with descriptors");
      return Unexpected(decode<ErrorReply>(m.data.view()).message);
    }
    if (m.type != Reply::kType) throw ProtocolError("ipc: unexpected reply type");
    Reply reply = decode<Reply>(m.data.view());
    if constexpr (detail::HasFds<Reply>) {
      reply.fds = std::move(m.fds);
    } else {
      if (!m.fds.empty()) throw ProtocolError("ipc: unexpected descriptors in reply");
    }
    return reply;
  }

 private:
  // Waits for room in the socket until the send deadline; throws SendTimedOut past it.
  void wait_writable() const;

  UniqueFd m_fd;
  // The receive buffer, reused: allocated uninitialised, so an idle process holds only the pages
  // its datagrams touched (a zero-filled one was 160 KiB resident in each process, for good);
  // receive() wipes what a datagram wrote before it returns.
  std::unique_ptr<uint8_t[]> m_buf;
  uint64_t m_send_deadline_ms = 0;
};

// Server side: one handler per request type. A handler gets the decoded request and the
// descriptors that came with it, and returns its Reply (sent back, with the reply's fds if it
// has any) or an error (sent as ErrorReply). Requests whose Reply is NoReply are not answered.
class Dispatcher {
 public:
  template <typename Req, typename F>
  void on(F handler) {
    m_handlers.push_back({Req::kType, [handler = std::move(handler)](Channel& ch, Message& m) {
                            Req req = decode<Req>(m.data.view());
                            using Reply = typename Req::Reply;
                            if constexpr (std::is_same_v<Reply, NoReply>) {
                              handler(req, m.fds);
                            } else {
                              Result<Reply> r = handler(req, m.fds);
                              if (!r) {
                                ch.send(ErrorReply{r.error().message});
                                return;
                              }
                              if constexpr (detail::HasFds<Reply>) {
                                std::vector<int> raw;
                                for (auto& fd : r->fds) raw.push_back(fd.get());
                                ch.send(*r, raw);
                              } else {
                                ch.send(*r);
                              }
                            }
                          }});
  }

  bool handles(uint8_t type) const;
  // Runs the handler for m.type. Returns false when there is none (the caller decides what an
  // unknown request means; for the monitor it is fatal). Decoding errors throw ProtocolError.
  bool dispatch(Channel& ch, Message& m) const;

 private:
  struct Entry {
    uint8_t type;
    std::function<void(Channel&, Message&)> run;
  };
  std::vector<Entry> m_handlers;
};

}  // namespace postern::ipc
