// The event lines of an asciicast v2 recording (https://docs.asciinema.org/manual/asciicast/v2/):
// `[time, "o", data]` for output, `[time, "i", data]` for input, `[time, "r", "COLSxROWS"]` for
// a window change; time in seconds since the header's timestamp, with microseconds. Free of I/O:
// lines are appended to a string the caller writes (asciicast_recording.h). The header line is
// the monitor's (bastion/recording_store.h).
//
// Data goes out as JSON strings of valid UTF-8: a multi-byte sequence split across two packets
// is held back until its end arrives (never two U+FFFD), and bytes that are no UTF-8 become
// U+FFFD. The file is capped: once the next line would pass `limit` bytes, one marker event
// says where the recording was cut and nothing more is added.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/bytes.h"

namespace postern::bastion {

class AsciicastEvents {
 public:
  // Room kept below the limit for the cut marker, so the file never passes `limit`.
  static constexpr uint64_t kMarkerRoom = 128;

  // `limit`: the most bytes the file may hold; `used`: what its header already took.
  AsciicastEvents(uint64_t limit, uint64_t used);

  // `time_us`: microseconds since the header's timestamp; a time earlier than the last event's
  // is taken as the last event's (the wall clock may step back; event times never do).
  void output(uint64_t time_us, ByteView data, std::string& out);
  void input(uint64_t time_us, ByteView data, std::string& out);
  void resize(uint64_t time_us, uint32_t cols, uint32_t rows, std::string& out);
  // A line of the bastion's own in the output stream ("[postern: ...]"), shown on playback.
  void notice(uint64_t time_us, std::string_view text, std::string& out);
  // The recording ends: a sequence still held back is written as U+FFFD.
  void finish(uint64_t time_us, std::string& out);

  bool cut() const { return m_cut; }
  uint64_t bytes() const { return m_bytes; }  // header included

 private:
  struct Stream {
    char code;
    std::string tail;  // the start of a UTF-8 sequence whose end has not come yet
  };
  void event(uint64_t time_us, Stream& s, ByteView data, bool final, std::string& out);
  template <typename Text>
  void append_line(uint64_t time_us, char code, Text&& text, std::string& out);

  uint64_t m_limit;
  uint64_t m_bytes;
  uint64_t m_last_us = 0;
  bool m_cut = false;
  Stream m_output{'o', {}}, m_input{'i', {}};
};

// `data` as the inside of a JSON string (RFC 8259 §7), UTF-8 validated: ill-formed bytes become
// U+FFFD (one per maximal ill-formed subpart, Unicode §3.9). When `tail` is not null and the
// data ends inside a sequence that could still be completed, those bytes go to *tail instead.
void append_json_utf8(std::string& out, ByteView data, std::string* tail);

// "1.000250": seconds with six decimals.
std::string asciicast_time(uint64_t time_us);

}  // namespace postern::bastion
