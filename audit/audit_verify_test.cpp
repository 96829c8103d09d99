#include "audit/audit_verify.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "bastion/audit_chain.h"
#include "bastion/audit_log.h"

namespace postern::audit {
namespace {

namespace fs = std::filesystem;
using bastion::audit_line_hash;
using bastion::kChainAnchor;

// A chained line as the writer makes it, for event `name`, after the line hashing to `prev`.
std::string line(const std::string& name, const std::string& prev) {
  bastion::AuditEvent e;
  e.event = name;
  e.session = "0123456789abcdef";
  std::string l = bastion::audit_json_line(e, 1893456000000, prev);
  l.pop_back();
  return l;
}

std::vector<std::string> chain(size_t n, std::string prev = std::string(kChainAnchor)) {
  std::vector<std::string> lines;
  for (size_t i = 0; i < n; ++i) {
    lines.push_back(line("event" + std::to_string(i), prev));
    prev = audit_line_hash(lines.back());
  }
  return lines;
}

class VerifyFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/postern-verify.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    m_dir = tmpl;
  }
  void TearDown() override { fs::remove_all(m_dir); }
  std::string write(const std::string& name, const std::vector<std::string>& lines,
                    bool final_newline = true) {
    std::string path = (m_dir / name).string();
    std::ofstream out(path);
    for (size_t i = 0; i < lines.size(); ++i)
      out << lines[i] << (i + 1 < lines.size() || final_newline ? "\n" : "");
    return path;
  }
  // verify's status, with its error output in m_err.
  int verify(const std::vector<std::string>& files) {
    std::ostringstream out, err;
    int status = verify_files(files, out, err);
    m_out = out.str();
    m_err = err.str();
    return status;
  }
  fs::path m_dir;
  std::string m_out, m_err;
};

TEST_F(VerifyFiles, IntactChainPasses) {
  std::string f = write("a", chain(5));
  EXPECT_EQ(verify({f}), 0) << m_err;
  EXPECT_NE(m_out.find(": 5 lines, chain intact (starts a new log)"), std::string::npos) << m_out;
}

TEST_F(VerifyFiles, EditedLineIsFoundAtTheLineAfterIt) {
  auto lines = chain(5);
  lines[2].replace(lines[2].find("event2"), 6, "eventX");  // still JSON, same length
  EXPECT_EQ(verify({write("a", lines)}), 1);
  EXPECT_NE(m_err.find("/a:4: hash mismatch"), std::string::npos) << m_err;
  EXPECT_NE(m_err.find("of line 3"), std::string::npos) << m_err;
}

TEST_F(VerifyFiles, RemovedAndReorderedLinesAreFound) {
  auto lines = chain(5);
  auto removed = lines;
  removed.erase(removed.begin() + 1);
  EXPECT_EQ(verify({write("removed", removed)}), 1);
  EXPECT_NE(m_err.find("/removed:2: hash mismatch"), std::string::npos) << m_err;
  auto swapped = lines;
  std::swap(swapped[2], swapped[3]);
  EXPECT_EQ(verify({write("swapped", swapped)}), 1);
  EXPECT_NE(m_err.find("/swapped:3: hash mismatch"), std::string::npos) << m_err;
}

TEST_F(VerifyFiles, MalformedLinesSayWhy) {
  auto lines = chain(3);
  auto bad = lines;
  bad[1] = "{\"time\": \"2030\"";
  EXPECT_EQ(verify({write("notjson", bad)}), 1);
  EXPECT_NE(m_err.find("/notjson:2: not JSON"), std::string::npos) << m_err;
  bad[1] = "[1,2]";
  EXPECT_EQ(verify({write("array", bad)}), 1);
  EXPECT_NE(m_err.find("/array:2: not a JSON object"), std::string::npos) << m_err;
  bad[1] = R"({"time":"x","event":"login"})";
  EXPECT_EQ(verify({write("noprev", bad)}), 1);
  EXPECT_NE(m_err.find("/noprev:2: missing prev"), std::string::npos) << m_err;
  bad[1] = R"({"prev":"ABC"})";
  EXPECT_EQ(verify({write("badprev", bad)}), 1);
  EXPECT_NE(m_err.find("/badprev:2: prev is not 64 lowercase hex"), std::string::npos) << m_err;
  bad = lines;
  bad.insert(bad.begin() + 1, "");
  EXPECT_EQ(verify({write("blank", bad)}), 1);
  EXPECT_NE(m_err.find("/blank:2: not JSON"), std::string::npos) << m_err;
  EXPECT_EQ(verify({write("cut", lines, false)}), 1);
  EXPECT_NE(m_err.find("/cut:3: no newline"), std::string::npos) << m_err;
  std::ofstream(m_dir / "huge") << std::string(bastion::kMaxAuditLine + 1, '{');
  EXPECT_EQ(verify({(m_dir / "huge").string()}), 1);
  EXPECT_NE(m_err.find("huge:1: line longer than"), std::string::npos) << m_err;
  EXPECT_EQ(verify({(m_dir / "missing").string()}), 2);
  EXPECT_NE(m_err.find("missing: No such file"), std::string::npos) << m_err;
}

TEST_F(VerifyFiles, RotatedFilesMustFollowEachOther) {
  auto old_lines = chain(3);
  auto new_lines = chain(2, audit_line_hash(old_lines.back()));
  std::string older = write("audit.jsonl.1", old_lines), newer = write("audit.jsonl", new_lines);
  EXPECT_EQ(verify({older, newer}), 0) << m_err;
  // The newer file alone: its first line follows a file not given, which verify says.
  EXPECT_EQ(verify({newer}), 0) << m_err;
  EXPECT_NE(
      m_out.find("follows a file whose last line hashes to " + audit_line_hash(old_lines.back())),
      std::string::npos)
      << m_out;
  // Out of order, or with the old file's last line gone.
  EXPECT_EQ(verify({newer, older}), 1);
  EXPECT_NE(m_err.find("audit.jsonl.1:1: hash mismatch"), std::string::npos) << m_err;
  EXPECT_NE(m_err.find("files are out of order"), std::string::npos) << m_err;
  old_lines.pop_back();
  EXPECT_EQ(verify({write("audit.jsonl.1", old_lines), newer}), 1);
  EXPECT_NE(m_err.find("/audit.jsonl:1: hash mismatch"), std::string::npos) << m_err;
  // An empty file between two does not break the chain.
  EXPECT_EQ(verify({write("a1", chain(2)), write("empty", {}),
                    write("a2", chain(1, audit_line_hash(chain(2).back())))}),
            0)
      << m_err;
}

}  // namespace
}  // namespace postern::audit
