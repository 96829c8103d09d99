// The monitor's writer of the session index (audit_index_schema.h): audit lines are queued
// (bounded) and written by a thread of their own, so a slow, locked, corrupt or unreachable
// database never holds up a session. The JSON audit log, written first and synchronously, stays
// the source of truth: what the queue drops or the database refuses, `postern-audit reindex`
// brings back.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "bastion/audit_index_db.h"

namespace postern::bastion {

struct IndexWriterOptions {
  size_t max_queued = 4096;  // lines waiting; past this a new line is dropped (and counted)
  size_t batch = 256;        // lines per transaction
  // After a failure (cannot open, locked past the busy timeout, server down) the thread waits,
  // doubling from first_retry to max_retry, then tries the same lines again.
  std::chrono::milliseconds first_retry{250};
  std::chrono::milliseconds max_retry{30000};
  // How long the destructor waits for queued lines at the end of a connection.
  std::chrono::milliseconds drain_at_exit{3000};
};

struct IndexWriterStats {
  uint64_t written = 0;   // lines that entered the index (or were there already)
  uint64_t dropped = 0;   // lines the full queue turned away
  uint64_t rejected = 0;  // lines that are no JSON object: never retried
  uint64_t failures = 0;  // failed attempts (each retried)
  size_t queued = 0;
  std::string last_error;
};

class AuditIndexWriter {
 public:
  // `on_error` is called on the writer's thread with each new failure (a repeat of the same
  // message is not reported again), so the monitor can log it.
  AuditIndexWriter(IndexLocation where, IndexWriterOptions options = {},
                   std::function<void(const std::string&)> on_error = {});
  // Waits at most drain_at_exit for the queue (not at all while the database is failing); a
  // thread still busy then (a server that does not answer) is left to end with the process.
  ~AuditIndexWriter();
  AuditIndexWriter(const AuditIndexWriter&) = delete;
  AuditIndexWriter& operator=(const AuditIndexWriter&) = delete;

  // Queues one audit line (without its newline). Never waits for the database: false when the
  // queue is full and the line was dropped.
  bool enqueue(std::string line);

  // Waits until every queued line is written or `within` passes; true when the queue is empty.
  bool drain(std::chrono::milliseconds within);

  IndexWriterStats stats() const;

  struct State;

 private:
  std::shared_ptr<State> m_state;
};

}  // namespace postern::bastion
