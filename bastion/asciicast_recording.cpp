#include "bastion/asciicast_recording.h"

#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "common/ipc.h"

namespace postern::bastion {

// ---- RecordingFile -------------------------------------------------------------------------

RecordingFile::RecordingFile(UniqueFd fd, size_t max_pending)
    : m_fd(std::move(fd)), m_max_pending(max_pending) {}

RecordingFile::~RecordingFile() {
  close(0);
}

bool RecordingFile::append(std::string_view data) {
  if (m_failed || !m_fd) return false;
  flush();
  if (pending() == 0) {
    // The common case: straight to the file, no copy.
    while (!data.empty()) {
      ssize_t n = ::write(m_fd.get(), data.data(), data.size());
      if (n > 0) {
        data.remove_prefix(size_t(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        m_failed = true;
        return false;
      }
      break;
    }
    if (data.empty()) return true;
  }
  if (pending() + data.size() > m_max_pending) return false;
  if (m_offset > 0 && m_offset >= m_pending.size() / 2) {
    m_pending.erase(0, m_offset);
    m_offset = 0;
  }
  m_pending.append(data);
  return true;
}

void RecordingFile::flush() {
  while (!m_failed && m_fd && pending() > 0) {
    ssize_t n = ::write(m_fd.get(), m_pending.data() + m_offset, pending());
    if (n > 0) {
      m_offset += size_t(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) m_failed = true;
    break;
  }
  if (pending() == 0) {
    m_pending.clear();
    m_offset = 0;
  }
}

void RecordingFile::close(int timeout_ms) {
  if (!m_fd) return;
  uint64_t deadline = ipc::monotonic_ms() + uint64_t(timeout_ms > 0 ? timeout_ms : 0);
  flush();
  while (!m_failed && pending() > 0) {
    uint64_t now = ipc::monotonic_ms();
    if (now >= deadline) break;
    pollfd p{m_fd.get(), POLLOUT, 0};
    ::poll(&p, 1, int(deadline - now));
    flush();
  }
  m_fd.reset();
  m_pending.clear();
  m_offset = 0;
}

// ---- AsciicastRecording --------------------------------------------------------------------

uint64_t AsciicastRecording::realtime_us() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000000 + uint64_t(ts.tv_nsec) / 1000;
}

AsciicastRecording::AsciicastRecording(UniqueFd fd, const RecordingParams& params, Clock clock,
                                       size_t max_pending)
    : m_params(params),
      m_clock(std::move(clock)),
      m_events(params.max_bytes, params.header_bytes),
      m_file(std::move(fd), max_pending) {}

AsciicastRecording::~AsciicastRecording() {
  m_out.clear();
  m_events.finish(elapsed_us(), m_out);
  write_out();
  // A second at most for a slow disk at the end: the relay's other channels wait meanwhile.
  m_file.close(1000);
}

uint64_t AsciicastRecording::elapsed_us() const {
  uint64_t now = m_clock();
  return now > m_params.start_unix_us ? now - m_params.start_unix_us : 0;
}

void AsciicastRecording::output(ByteView data) {
  if (m_events.cut()) return;
  m_out.clear();
  m_events.output(elapsed_us(), data, m_out);
  write_out();
}

void AsciicastRecording::input(ByteView data) {
  if (!m_params.record_input || m_events.cut()) return;
  m_out.clear();
  m_events.input(elapsed_us(), data, m_out);
  write_out();
}

void AsciicastRecording::resize(uint32_t cols, uint32_t rows) {
  m_out.clear();
  m_events.resize(elapsed_us(), cols, rows, m_out);
  write_out();
}

void AsciicastRecording::write_out() {
  if (m_dropped > 0) {
    m_file.flush();
    // Once the file has room again, the recording says what it is missing.
    if (m_file.pending() <= m_file.max_pending() / 2) {
      std::string notice;
      m_events.notice(elapsed_us(),
                      "\r\n[postern: " + std::to_string(m_dropped) +
                          " bytes of the recording dropped: the disk was too slow]\r\n",
                      notice);
      if (m_file.append(notice)) m_dropped = 0;
    }
  }
  if (!m_out.empty() && !m_file.append(m_out)) m_dropped += m_out.size();
}

}  // namespace postern::bastion
