// postern-audit (man/postern-audit.1): the auditor's command over the bastion's audit log and
// recordings. verify walks the hash chain; sessions, show and play read the session index when
// there is one (audit_database) and the log the policy names otherwise; export reads the log;
// reindex rebuilds the index from the log.
#include <openssl/evp.h>
#include <time.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>

#include "audit/asciicast_play.h"
#include "audit/audit_args.h"
#include "audit/audit_index_read.h"
#include "audit/audit_sessions.h"
#include "audit/audit_time.h"
#include "audit/audit_verify.h"
#include "audit/cast_file.h"
#include "audit/export_html.h"
#include "audit/player_assets.h"
#include "bastion/audit_chain.h"
#include "bastion/audit_index_schema.h"
#include "bastion/policy.h"

namespace postern::audit {
namespace {

using json = AuditJson;

int64_t now_ms() {
  struct timespec ts {};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

int fail(const std::string& message, int status = 2) {
  std::cerr << "postern-audit: " << message << "\n";
  return status;
}

// The policy (bastion/policy.h's loader: the same checks as the bastion's own), and its audit
// log's files.
Result<bastion::Policy> read_policy(const std::string& policy_path) {
  return bastion::load_policy(policy_path);
}

Result<std::vector<std::string>> log_files(const bastion::Policy& policy) {
  auto files = audit_files(policy.bastion.audit_log);
  if (files.empty())
    return Unexpected("audit log " + policy.bastion.audit_log + " does not exist (yet)");
  return files;
}

// The index to read, unless --from-log; an index that is there but cannot be read is named on
// stderr and the JSON log read instead.
std::unique_ptr<bastion::IndexDb> index_for(const AuditArgs& a, const bastion::Policy& policy) {
  if (a.from_log) return nullptr;
  auto index = open_index_for_reading(policy);
  if (!index.db && !index.why_not.empty())
    std::cerr << "postern-audit: " << printable(index.why_not) << "; reading the JSON log\n";
  return std::move(index.db);
}

void print_session(const AuditArgs& a, const SessionSummary& s) {
  if (a.json)
    std::cout << session_json(s).dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
  else
    std::cout << session_text_line(s) << "\n";
}

int run_sessions(const AuditArgs& a) {
  SessionFilter filter = a.filter;
  if (a.since) {
    auto since = parse_since(*a.since, now_ms());
    if (!since) return fail(since.error().message);
    filter.since_ms = *since;
  }
  auto policy = read_policy(a.policy);
  if (!policy) return fail(policy.error().message);
  if (auto db = index_for(a, *policy)) {
    if (!a.json) std::cout << session_columns_header() << "\n";
    auto done = index_sessions(*db, filter, [&](const SessionSummary& s) { print_session(a, s); });
    if (!done) return fail(printable(done.error().message));
    return 0;
  }
  auto files = log_files(*policy);
  if (!files) return fail(files.error().message);
  SessionIndex index;
  auto skipped = for_each_event(
      *files, [&](const json& ev) { index.add(ev); }, std::cerr);
  if (!skipped) return fail(skipped.error().message);
  if (!a.json) std::cout << session_columns_header() << "\n";
  for (const auto& s : index.sessions())
    if (filter.matches(s)) print_session(a, s);
  return *skipped == 0 ? 0 : 1;
}

// The session's events, in the log's order: from the index when there is one.
Result<std::vector<json>> session_events(const AuditArgs& a, size_t& skipped) {
  auto policy = read_policy(a.policy);
  if (!policy) return Unexpected(policy.error());
  std::vector<json> events;
  if (auto db = index_for(a, *policy)) {
    auto indexed = index_session_events(*db, a.session);
    if (!indexed) return Unexpected(indexed.error());
    events = std::move(*indexed);
  } else {
    auto files = log_files(*policy);
    if (!files) return Unexpected(files.error());
    auto read = for_each_event(
        *files,
        [&](const json& ev) {
          auto it = ev.find("session");
          if (it != ev.end() && it->is_string() && *it == a.session) events.push_back(ev);
        },
        std::cerr);
    if (!read) return Unexpected(read.error());
    skipped = *read;
  }
  if (events.empty()) return Unexpected("no session " + printable(a.session) + " in the audit log");
  return events;
}

int run_show(const AuditArgs& a) {
  size_t skipped = 0;
  auto events = session_events(a, skipped);
  if (!events) return fail(events.error().message);
  for (const auto& ev : *events) std::cout << event_text_line(ev) << "\n";
  return skipped == 0 ? 0 : 1;
}

// Rebuilds the index from the JSON log (creating it when missing): idempotent, so it may run
// while the bastion writes, and again after a database outage.
int run_reindex(const AuditArgs& a) {
  auto policy = read_policy(a.policy);
  if (!policy) return fail(policy.error().message);
  auto where = bastion::index_location(policy->bastion.audit_database, policy->bastion.audit_log);
  if (!where) return fail(where.error().message);
  if (!where->enabled) return fail("the audit index is off (audit_database = \"off\")");
  auto files = log_files(*policy);
  if (!files) return fail(files.error().message);
  auto db = bastion::open_index(*where, /*create=*/true);
  if (!db) return fail(printable(db.error().message));
  auto counts = reindex_files(**db, *files, std::cerr);
  if (!counts) return fail(printable(counts.error().message));
  std::cout << "reindex: " << counts->lines << " lines read, " << counts->added << " added, "
            << counts->skipped << " skipped\n";
  return counts->skipped == 0 ? 0 : 1;
}

// The SHA-256 of a file, hex, or an error; read in chunks (recordings can be large).
Result<std::string> file_sha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Unexpected(path + ": " + std::strerror(errno));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx);
    return Unexpected("SHA-256 unavailable");
  }
  std::string buf(1 << 16, '\0');
  while (in.read(buf.data(), std::streamsize(buf.size())) || in.gcount() > 0)
    EVP_DigestUpdate(ctx, buf.data(), size_t(in.gcount()));
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned i = 0; i < len; ++i) (hex += kHex[md[i] >> 4]) += kHex[md[i] & 0xf];
  return hex;
}

int run_play(const AuditArgs& a) {
  size_t skipped = 0;
  auto events = session_events(a, skipped);
  if (!events) return fail(events.error().message);
  int played = 0;
  for (const auto& ev : *events) {
    auto rec = ev.find("recording");
    if (rec == ev.end() || !rec->is_string() || rec->get_ref<const std::string&>().empty())
      continue;
    const std::string path = *rec;
    // The log names the recording's hash when it closed: a changed file is not played as
    // evidence.
    auto logged = ev.find("recording_sha256");
    if (logged != ev.end() && logged->is_string() &&
        !logged->get_ref<const std::string&>().empty()) {
      auto actual = file_sha256(path);
      if (!actual) return fail("recording " + printable(actual.error().message));
      if (*actual != *logged)
        return fail("recording " + printable(path) +
                    ": its SHA-256 is not the one the audit log recorded; the file was changed");
    }
    std::cerr << "postern-audit: playing " << printable(path) << "\n";
    auto done = play_cast(path, a.play, std::cout, [](double seconds) {
      std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    });
    if (!done) return fail(printable(done.error().message));
    ++played;
  }
  if (played == 0) return fail("session " + printable(a.session) + " has no recording");
  return skipped == 0 ? 0 : 1;
}

// Now as RFC 3339 UTC, the audit log's own form.
std::string now_rfc3339() {
  int64_t ms = now_ms();
  time_t secs = time_t(ms / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[40];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, sizeof buf - n, ".%03dZ", int(ms % 1000));
  return buf;
}

// export --html: everything is read and checked before the page is written, so a missing or
// corrupt recording leaves no half page on stdout.
int run_export(const AuditArgs& a) {
  size_t skipped = 0;
  auto events = session_events(a, skipped);
  if (!events) return fail(events.error().message);
  ExportSession page;
  page.exported_at = now_rfc3339();
  SessionIndex index;
  for (const auto& ev : *events) {
    index.add(ev);
    auto kind = ev.find("event");
    if (kind != ev.end() && kind->is_string() && *kind == "file") page.file_events.push_back(ev);
  }
  page.summary = index.sessions().front();
  for (const std::string& path : page.summary.recordings) {
    ExportRecording r;
    r.path = path;
    // The event that names the recording says its channel; the one that closed it, its hash.
    for (const auto& ev : *events) {
      auto rec = ev.find("recording");
      if (rec == ev.end() || !rec->is_string() || *rec != path) continue;
      auto channel = ev.find("channel");
      if (r.channel.empty() && channel != ev.end() && channel->is_string()) r.channel = *channel;
      auto sha = ev.find("recording_sha256");
      if (sha != ev.end() && sha->is_string() && !sha->get_ref<const std::string&>().empty())
        r.logged_sha256 = *sha;
    }
    auto cast = read_cast_file(path);
    if (!cast) return fail("recording " + printable(cast.error().message));
    r.cast = std::move(cast->text);
    r.file_sha256 = cast->sha256;
    r.width = cast->width;
    r.height = cast->height;
    page.recordings.push_back(std::move(r));
  }
  std::cout << export_html_page(page, PlayerAssets{asciinema_player_js(), asciinema_player_css(),
                                                   asciinema_player_version()});
  std::cout.flush();
  if (!std::cout) return fail("writing the page: " + std::string(std::strerror(errno)));
  int status = skipped == 0 ? 0 : 1;
  for (const auto& r : page.recordings) {
    if (check_recording(r) == RecordingCheck::kDiffers) {
      std::cerr << "postern-audit: warning: recording " << printable(r.path)
                << ": its SHA-256 is not the one the audit log recorded; the page says so\n";
      status = 1;
    }
  }
  return status;
}

}  // namespace
}  // namespace postern::audit

int main(int argc, char** argv) {
  using namespace postern::audit;
  auto args = parse_audit_args(std::vector<std::string>(argv + 1, argv + argc));
  if (!args) {
    std::cerr << "postern-audit: " << args.error().message << "\n" << kAuditUsage;
    return 2;
  }
  try {
    switch (args->command) {
      case Subcommand::kVerify:
        return verify_files(args->files, std::cout, std::cerr);
      case Subcommand::kSessions:
        return run_sessions(*args);
      case Subcommand::kShow:
        return run_show(*args);
      case Subcommand::kPlay:
        return run_play(*args);
      case Subcommand::kExport:
        return run_export(*args);
      case Subcommand::kReindex:
        return run_reindex(*args);
      case Subcommand::kHelp:
        std::cout << kAuditUsage;
        return 0;
    }
  } catch (const std::exception& e) {
    // Only resource failures (out of memory) land here: bad input is a Result above.
    std::cerr << "postern-audit: " << e.what() << "\n";
  }
  return 2;
}
