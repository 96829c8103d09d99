#include "audit/audit_verify.h"

#include <sys/file.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "audit/line_reader.h"
#include "bastion/audit_chain.h"

namespace postern::audit {

namespace {
std::string short_hash(std::string_view h) {
  return std::string(h.substr(0, 16)) + "...";
}
}  // namespace

void ChainVerifier::begin_file(const std::string& path) {
  if (m_file_has_lines) m_previous_file = m_file;
  m_file = path;
  m_file_has_lines = false;
}

std::optional<std::string> ChainVerifier::check(std::string_view line, size_t line_no,
                                                bool had_newline) {
  const bool first_in_file = !m_file_has_lines;
  m_file_has_lines = true;
  ++m_lines;
  auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return "not JSON";
  if (!j.is_object()) return "not a JSON object";
  auto prev_it = j.find("prev");
  if (prev_it == j.end()) return "missing prev";
  if (!prev_it->is_string() || !bastion::is_chain_hash(prev_it->get_ref<const std::string&>()))
    return "prev is not 64 lowercase hex digits";
  const std::string& prev = prev_it->get_ref<const std::string&>();
  if (!m_expected) {
    m_first_prev = prev;
  } else if (prev != *m_expected) {
    if (first_in_file)
      return "hash mismatch: prev " + short_hash(prev) + " is not the hash " +
             short_hash(*m_expected) + " of the last line of " + m_previous_file +
             " (the files are out of order, or lines are missing between them)";
    return "hash mismatch: prev " + short_hash(prev) + " is not the hash " +
           short_hash(*m_expected) + " of line " + std::to_string(line_no - 1) +
           " (a line here or just before was changed, removed or reordered)";
  }
  m_expected = bastion::audit_line_hash(line);
  // The writer ends every line; a missing newline is a write cut short or an edit.
  if (!had_newline) return "no newline at the end of the file (a write cut short, or an edit)";
  return std::nullopt;
}

int verify_files(const std::vector<std::string>& files, std::ostream& out, std::ostream& err) {
  ChainVerifier chain;
  for (const auto& path : files) {
    auto reader = LineReader::open(path, bastion::kMaxAuditLine);
    if (!reader) {
      err << "postern-audit verify: " << reader.error().message << "\n";
      return 2;
    }
    // A shared lock: the monitors' appends (exclusive, one line each) wait, so no half-written
    // line is seen.
    while (::flock(reader->fd(), LOCK_SH) != 0)
      if (errno != EINTR) {
        err << "postern-audit verify: " << path << ": flock: " << std::strerror(errno) << "\n";
        return 2;
      }
    chain.begin_file(path);
    size_t before = chain.lines();
    std::string line;
    for (;;) {
      auto more = reader->next(line);
      if (!more) {
        err << "postern-audit verify: " << more.error().message << "\n";
        return 1;
      }
      if (!*more) break;
      if (auto problem = chain.check(line, reader->number(), reader->had_newline())) {
        err << "postern-audit verify: " << path << ":" << reader->number() << ": " << *problem
            << "\n";
        return 1;
      }
    }
    out << path << ": " << chain.lines() - before << " lines, chain intact";
    if (before == 0 && chain.lines() > 0)
      out << (chain.first_prev() == bastion::kChainAnchor
                  ? " (starts a new log)"
                  : " (follows a file whose last line hashes to " + chain.first_prev() + ")");
    out << "\n";
  }
  return 0;
}

}  // namespace postern::audit
