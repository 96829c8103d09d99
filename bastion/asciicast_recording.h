// A recorded channel's asciicast v2 file in sshd-bastion (relay.h ChannelRecording): the monitor
// opened the file and wrote its header (recording_store.h); this process only write()s event
// lines to the descriptor it was passed and close()s it (its jail has no open()).
//
// A write never stalls the relay: what the file does not take at once waits in a bounded
// buffer; past that, lines are dropped and counted, and a notice in the recording says how much
// went missing once the file takes data again.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "bastion/asciicast_events.h"
#include "bastion/relay.h"
#include "common/unique_fd.h"

namespace postern::bastion {

// The descriptor and the bytes waiting for it.
class RecordingFile {
 public:
  static constexpr size_t kMaxPending = 4 * 1024 * 1024;

  // `fd` should be non-blocking (O_NONBLOCK); a regular file takes writes at once anyway.
  explicit RecordingFile(UniqueFd fd, size_t max_pending = kMaxPending);
  RecordingFile(const RecordingFile&) = delete;
  RecordingFile& operator=(const RecordingFile&) = delete;
  ~RecordingFile();

  // Writes what the file takes now and keeps the rest. False when `data` did not fit in the
  // buffer and was dropped whole (or the file failed).
  bool append(std::string_view data);
  // Writes what waits, as far as the file takes it now.
  void flush();
  // The end: waits up to `timeout_ms` for the file to take the rest, then closes it.
  void close(int timeout_ms);

  size_t pending() const { return m_pending.size() - m_offset; }
  size_t max_pending() const { return m_max_pending; }
  // A write failed (disk full, I/O error): nothing more is written.
  bool failed() const { return m_failed; }

 private:
  UniqueFd m_fd;
  size_t m_max_pending;
  std::string m_pending;
  size_t m_offset = 0;
  bool m_failed = false;
};

// What the monitor's RECORDING_OPEN reply says about the file it opened.
struct RecordingParams {
  bool record_input = false;
  uint64_t max_bytes = 0;      // record_max_bytes
  uint64_t header_bytes = 0;   // the header line the monitor wrote
  uint64_t start_unix_us = 0;  // the header's timestamp, in microseconds
};

class AsciicastRecording : public ChannelRecording {
 public:
  using Clock = std::function<uint64_t()>;  // microseconds since the epoch

  AsciicastRecording(UniqueFd fd, const RecordingParams& params, Clock clock = realtime_us,
                     size_t max_pending = RecordingFile::kMaxPending);
  ~AsciicastRecording() override;

  void output(ByteView data) override;
  void input(ByteView data) override;
  void resize(uint32_t cols, uint32_t rows) override;

  uint64_t dropped() const { return m_dropped; }
  static uint64_t realtime_us();

 private:
  uint64_t elapsed_us() const;
  void write_out();

  RecordingParams m_params;
  Clock m_clock;
  AsciicastEvents m_events;
  RecordingFile m_file;
  std::string m_out;
  uint64_t m_dropped = 0;  // bytes of event lines dropped since the last notice
};

}  // namespace postern::bastion
