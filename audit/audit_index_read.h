// postern-audit over the session index (bastion/audit_index_schema.h): sessions and show read
// it when there is one, with the same output as from the JSON log, and reindex rebuilds it from
// the JSON log, which stays the source of truth.
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "audit/audit_sessions.h"
#include "bastion/audit_index_db.h"
#include "bastion/policy.h"
#include "common/result.h"

namespace postern::audit {

// The policy's index, opened for reading and at this binary's schema version; or null with
// `why_not`: empty when there simply is no index (off, or no SQLite file yet: the JSON log is
// read quietly), a message when there is one that cannot be read (corrupt, newer, server down:
// the caller says so and reads the JSON log).
struct IndexForReading {
  std::unique_ptr<bastion::IndexDb> db;
  std::string why_not;
};
IndexForReading open_index_for_reading(const bastion::Policy& policy);

// The sessions `filter` selects, summed up from their indexed events exactly as SessionIndex
// sums the JSON log's, in the order the index first had them (the log's order, when one log
// fills it).
Result<void> index_sessions(bastion::IndexDb& db, const SessionFilter& filter,
                            const std::function<void(const SessionSummary&)>& on_session);

// One session's events as logged, in the order the log has them (empty: no such session).
Result<std::vector<AuditJson>> index_session_events(bastion::IndexDb& db, const std::string& id);

struct ReindexCounts {
  size_t lines = 0;    // lines read from the log
  size_t added = 0;    // lines the index did not have
  size_t skipped = 0;  // lines that are no JSON object (reported on warn)
};

// Adds every line of `files` (audit_files order) that the index lacks, creating and migrating
// the index as needed: running it twice adds nothing the second time.
Result<ReindexCounts> reindex_files(bastion::IndexDb& db, const std::vector<std::string>& files,
                                    std::ostream& warn);

}  // namespace postern::audit
