#include "bastion/audit_index_writer.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "bastion/audit_index_schema.h"

namespace postern::bastion {

// Shared by the writer and its thread, so a thread left behind at exit never touches freed
// memory.
struct AuditIndexWriter::State {
  IndexLocation where;
  IndexWriterOptions options;
  std::function<void(const std::string&)> on_error;

  std::mutex mu;
  std::condition_variable wake;     // lines queued, or stopping
  std::condition_variable drained;  // the queue emptied
  std::deque<std::string> queue;
  bool in_flight = false;  // the thread holds lines it took from the queue
  bool failing = false;    // the last attempt failed: the thread is waiting to retry
  bool stopping = false;
  IndexWriterStats stats;
  std::thread thread;

  std::unique_ptr<IndexDb> db;  // the thread's alone

  void run();
  Result<void> write_batch(std::vector<std::string>& lines);
  void failed(const std::string& message);
};

void AuditIndexWriter::State::failed(const std::string& message) {
  bool repeat;
  {
    std::lock_guard lock(mu);
    ++stats.failures;
    failing = true;
    repeat = stats.last_error == message;
    stats.last_error = message;
  }
  if (!repeat && on_error) on_error(message);
}

Result<void> AuditIndexWriter::State::write_batch(std::vector<std::string>& lines) {
  if (!db) {
    auto opened = open_index(where, /*create=*/true);
    if (!opened) return Unexpected(opened.error());
    auto migrated = migrate_index(**opened);
    if (!migrated) return migrated;
    db = std::move(*opened);
  }
  auto begin = db->query(db->kind() == DbKind::kSqlite ? "BEGIN IMMEDIATE" : "BEGIN");
  if (!begin) return Unexpected(begin.error());
  uint64_t rejected = 0;
  for (const auto& line : lines) {
    auto added = index_audit_line(*db, line);
    if (added) continue;
    // A line that is no JSON object will never be one: skip it (the log keeps it). Any other
    // failure is the database's: undo the batch and retry it whole.
    if (added.error().message == kNotAuditJson) {
      ++rejected;
      continue;
    }
    (void)db->query("ROLLBACK");
    return Unexpected(added.error());
  }
  auto commit = db->query("COMMIT");
  if (!commit) {
    (void)db->query("ROLLBACK");
    return Unexpected(commit.error());
  }
  std::lock_guard lock(mu);
  failing = false;
  stats.written += lines.size() - rejected;
  stats.rejected += rejected;
  return {};
}

void AuditIndexWriter::State::run() {
  auto retry = options.first_retry;
  std::vector<std::string> lines;
  for (;;) {
    {
      std::unique_lock lock(mu);
      in_flight = false;
      if (queue.empty()) drained.notify_all();
      wake.wait(lock, [&] { return stopping || !queue.empty(); });
      if (queue.empty()) return;  // stopping, nothing left
      lines.clear();
      while (!queue.empty() && lines.size() < options.batch) {
        lines.push_back(std::move(queue.front()));
        queue.pop_front();
      }
      in_flight = true;
    }
    for (;;) {
      auto done = write_batch(lines);
      if (done) {
        retry = options.first_retry;
        break;
      }
      // The connection or file may be what failed: open it afresh next time.
      db.reset();
      failed(done.error().message);
      std::unique_lock lock(mu);
      if (wake.wait_for(lock, retry, [&] { return stopping; })) {
        // Stopping with the database still failing: these lines stay in the JSON log only.
        return;
      }
      retry = std::min(retry * 2, options.max_retry);
    }
  }
}

AuditIndexWriter::AuditIndexWriter(IndexLocation where, IndexWriterOptions options,
                                   std::function<void(const std::string&)> on_error)
    : m_state(std::make_shared<State>()) {
  m_state->where = std::move(where);
  m_state->options = options;
  m_state->on_error = std::move(on_error);
}

AuditIndexWriter::~AuditIndexWriter() {
  if (!m_state->thread.joinable()) return;
  // A database that is failing is not waited for: the connection's end is not held up, and
  // the lines are in the JSON log for reindex.
  bool failing;
  {
    std::lock_guard lock(m_state->mu);
    failing = m_state->failing;
  }
  if (!failing) drain(m_state->options.drain_at_exit);
  std::unique_lock lock(m_state->mu);
  m_state->stopping = true;
  bool idle = !m_state->in_flight;
  lock.unlock();
  m_state->wake.notify_all();
  // An idle thread wakes and returns at once; one still busy (a database call that does not
  // return, a server that stopped answering) is not waited for.
  if (idle)
    m_state->thread.join();
  else
    m_state->thread.detach();
}

bool AuditIndexWriter::enqueue(std::string line) {
  if (!m_state->where.enabled) return true;
  std::lock_guard lock(m_state->mu);
  if (m_state->queue.size() >= m_state->options.max_queued) {
    ++m_state->stats.dropped;
    return false;
  }
  m_state->queue.push_back(std::move(line));
  // Started at the first line, so a connection that audits nothing costs no thread.
  if (!m_state->thread.joinable()) {
    auto state = m_state;
    m_state->thread = std::thread([state] { state->run(); });
  }
  m_state->wake.notify_one();
  return true;
}

bool AuditIndexWriter::drain(std::chrono::milliseconds within) {
  std::unique_lock lock(m_state->mu);
  return m_state->drained.wait_for(lock, within,
                                   [&] { return m_state->queue.empty() && !m_state->in_flight; });
}

IndexWriterStats AuditIndexWriter::stats() const {
  std::lock_guard lock(m_state->mu);
  IndexWriterStats s = m_state->stats;
  s.queued = m_state->queue.size();
  return s;
}

}  // namespace postern::bastion
