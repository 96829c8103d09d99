// Watches the legacy scp protocol (`scp -O`: an exec channel running `scp -t PATH` to upload or
// `scp -f PATH` to download) as the relay forwards it, and reports the files that pass: an open
// when the receiving side accepts a file, then a write (-t) or read (-f) with its byte count,
// SHA-256 and the receiver's result. I/O-free, fed the channel data both ways.
//
// The protocol (as OpenSSH's scp speaks it): the source sends control lines, "C<mode> <size>
// <name>\n" followed by the file's bytes and one status byte, "D<mode> 0 <name>\n" entering a
// directory, "E\n" leaving it, "T<mtime> 0 <atime> 0\n" times; the sink answers each line and
// each file with one byte: 0 ok, or 1 (warning) / 2 (fatal) followed by a message line.
// Bounded like the sftp observer: a line longer than kMaxLine, answers that run more than
// kMaxAwaited behind or anything unexpected end the observation with one "lost" event.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bastion/file_event.h"
#include "common/bytes.h"

namespace postern::bastion {

class ScpObserver {
 public:
  static constexpr size_t kMaxLine = 4096;
  static constexpr size_t kMaxAwaited = 64;
  static constexpr size_t kMaxDepth = 64;

  // For an exec command `scp ... -t|-f [--] PATH`; null for any other command.
  static std::unique_ptr<ScpObserver> for_command(std::string_view command, FileEventSink& sink);

  void from_client(ByteView data) { feed(data, m_upload); }
  void from_target(ByteView data) { feed(data, !m_upload); }
  bool lost() const { return m_lost; }

 private:
  ScpObserver(FileEventSink& sink, bool upload, std::string path)
      : m_sink(sink), m_upload(upload), m_path(std::move(path)) {}

  enum class Source : uint8_t { kLine, kAwaitAnswer, kData, kDataEnd, kSkipLine };
  // What the sink's next answer answers.
  enum class Awaited : uint8_t { kStart, kLine, kDir, kFile, kFileData };

  void feed(ByteView data, bool from_source);
  void source_bytes(ByteView& data);
  void source_line(const std::string& line);
  void sink_bytes(ByteView& data);
  void answer(bool ok, const std::string& message);
  void await(Awaited a);
  std::string file_path(const std::string& name) const;
  void lose(const std::string& why);

  FileEventSink& m_sink;
  bool m_upload;            // -t: the client is the source
  std::string m_path;       // the command's PATH
  bool m_into_dir = false;  // -d or a trailing '/': PATH is a directory
  bool m_lost = false;

  Source m_source = Source::kLine;
  std::string m_source_line;
  std::vector<std::string> m_dirs;  // D lines entered

  // The file in flight.
  std::string m_file;
  std::string m_sent_name;      // the C line's name
  bool m_name_differs = false;  // PATH may be a directory, the name is not its last part
  uint64_t m_left = 0, m_bytes = 0;
  std::unique_ptr<StreamDigest> m_digest;

  std::deque<Awaited> m_awaited{Awaited::kStart};
  bool m_sink_in_message = false;  // reading a 1/2 answer's message line
  bool m_sink_fatal = false;
  std::string m_sink_line;
};

}  // namespace postern::bastion
