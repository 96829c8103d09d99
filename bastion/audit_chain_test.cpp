#include "bastion/audit_chain.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bastion/audit_log.h"
#include "common/unique_fd.h"

namespace postern::bastion {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<std::string> lines_of(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

std::string prev_of(const std::string& line) {
  return json::parse(line)["prev"];
}

AuditEvent event(const std::string& name, const std::string& session = "s1") {
  AuditEvent e;
  e.event = name;
  e.session = session;
  return e;
}

class AuditChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/postern-chain.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    m_dir = tmpl;
    m_log = (m_dir / "audit.jsonl").string();
  }
  void TearDown() override { fs::remove_all(m_dir); }
  Result<ChainTail> tail_of(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY));
    EXPECT_TRUE(fd);
    return read_chain_tail(fd.get(), path);
  }
  fs::path m_dir;
  std::string m_log;
};

TEST(AuditLineHash, IsSha256HexOfTheBytes) {
  // FIPS 180-2 appendix B.1 and the empty message.
  EXPECT_EQ(audit_line_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(audit_line_hash(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_TRUE(is_chain_hash(audit_line_hash("x")));
  EXPECT_TRUE(is_chain_hash(kChainAnchor));
  EXPECT_FALSE(is_chain_hash(std::string(63, 'a')));
  EXPECT_FALSE(is_chain_hash(std::string(64, 'A')));  // lowercase only: one spelling per hash
  EXPECT_FALSE(is_chain_hash(std::string(64, 'g')));
}

TEST_F(AuditChainTest, EachLineNamesTheHashOfTheOneBefore) {
  AuditLog log(m_log);
  for (const char* name : {"login", "target-open", "channel", "channel-close"})
    ASSERT_TRUE(log.write(event(name)));
  auto lines = lines_of(m_log);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(prev_of(lines[0]), kChainAnchor);
  for (size_t i = 1; i < lines.size(); ++i)
    EXPECT_EQ(prev_of(lines[i]), audit_line_hash(lines[i - 1])) << i;
  // prev is the last key, after every field the line had before the chain.
  EXPECT_EQ(lines[1].rfind(",\"prev\":\""), lines[1].size() - 75);
  auto tail = tail_of(m_log);
  ASSERT_TRUE(tail);
  EXPECT_FALSE(tail->empty);
  EXPECT_TRUE(tail->complete);
  EXPECT_EQ(tail->last_hash, audit_line_hash(lines[3]));
}

TEST_F(AuditChainTest, TailIsFoundAcrossReadChunksAndAtTheFileStart) {
  // One long line (longer than the 64 KiB chunk) after a short one; then the long line alone.
  std::string long_line(200000, 'x');
  std::ofstream(m_log) << "short\n" << long_line << "\n";
  auto tail = tail_of(m_log);
  ASSERT_TRUE(tail);
  EXPECT_EQ(tail->last_hash, audit_line_hash(long_line));
  std::ofstream(m_log) << long_line << "\n";
  tail = tail_of(m_log);
  ASSERT_TRUE(tail);
  EXPECT_EQ(tail->last_hash, audit_line_hash(long_line));
  std::ofstream(m_log) << "\n";  // one empty line
  tail = tail_of(m_log);
  ASSERT_TRUE(tail);
  EXPECT_EQ(tail->last_hash, audit_line_hash(""));
}

TEST_F(AuditChainTest, TornLineIsEndedAndChainedNotGluedTo) {
  AuditLog log(m_log);
  ASSERT_TRUE(log.write(event("login")));
  std::ofstream(m_log, std::ios::app) << "{\"time\":\"2030-01";  // a crash mid-write
  auto tail = tail_of(m_log);
  ASSERT_TRUE(tail);
  EXPECT_FALSE(tail->complete);
  EXPECT_EQ(tail->last_hash, audit_line_hash("{\"time\":\"2030-01"));
  ASSERT_TRUE(log.write(event("channel")));
  auto lines = lines_of(m_log);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1], "{\"time\":\"2030-01");
  EXPECT_EQ(prev_of(lines[2]), audit_line_hash(lines[1]));
}

TEST_F(AuditChainTest, RefusesATailLongerThanAnyAuditLine) {
  std::ofstream(m_log) << std::string(kMaxAuditLine + 10, 'z') << "\n";
  auto written = AuditLog(m_log).write(event("login"));
  ASSERT_FALSE(written);
  EXPECT_NE(written.error().message.find("longer than"), std::string::npos)
      << written.error().message;
  EXPECT_EQ(lines_of(m_log).size(), 1u);  // nothing appended after a tail it cannot hash
}

TEST_F(AuditChainTest, RotatedLogAnchorsTheNewFileInTheOldOnesLastLine) {
  AuditLog log(m_log);
  ASSERT_TRUE(log.write(event("login")));
  ASSERT_TRUE(log.write(event("channel-close")));
  std::string old_last = lines_of(m_log).back();
  fs::rename(m_log, m_log + ".1");  // logrotate's rename
  ASSERT_TRUE(log.write(event("login", "s2")));
  ASSERT_TRUE(log.write(event("channel", "s2")));
  auto lines = lines_of(m_log);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(prev_of(lines[0]), audit_line_hash(old_last));
  EXPECT_EQ(prev_of(lines[1]), audit_line_hash(lines[0]));

  // copytruncate leaves an empty file beside the copy: the same rule holds.
  std::string new_last = lines.back();
  fs::copy_file(m_log, m_log + ".1", fs::copy_options::overwrite_existing);
  fs::resize_file(m_log, 0);
  ASSERT_TRUE(log.write(event("login", "s3")));
  EXPECT_EQ(prev_of(lines_of(m_log)[0]), audit_line_hash(new_last));

  // No rotated sibling, or an empty one: the anchor of zeros.
  fs::remove(m_log + ".1");
  fs::remove(m_log);
  ASSERT_TRUE(log.write(event("login", "s4")));
  EXPECT_EQ(prev_of(lines_of(m_log)[0]), kChainAnchor);
  fs::remove(m_log);
  std::ofstream(m_log + ".1").close();
  auto anchor = rotation_anchor(m_log);
  ASSERT_TRUE(anchor);
  EXPECT_EQ(*anchor, kChainAnchor);
}

TEST_F(AuditChainTest, WritersAcrossARotationKeepOneChainOverBothFiles) {
  // Forked writers append while the parent renames the log away: every line lands in one of the
  // two files, and the old file's lines followed by the new file's form one chain.
  constexpr int kProcs = 3, kEach = 120;
  std::vector<pid_t> children;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      AuditLog log(m_log);
      for (int i = 0; i < kEach; ++i)
        if (!log.write(event("channel", "p" + std::to_string(p)))) _exit(1);
      _exit(0);
    }
    children.push_back(pid);
  }
  // Rotate once the log has some lines.
  for (int i = 0; i < 2000 && lines_of(m_log).size() < 20; ++i) usleep(1000);
  fs::rename(m_log, m_log + ".1");
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  auto old_lines = lines_of(m_log + ".1"), new_lines = lines_of(m_log);
  EXPECT_EQ(old_lines.size() + new_lines.size(), size_t(kProcs * kEach));
  ASSERT_FALSE(old_lines.empty());
  std::string expected(kChainAnchor);
  for (const auto* lines : {&old_lines, &new_lines})
    for (const auto& line : *lines) {
      ASSERT_EQ(prev_of(line), expected);
      expected = audit_line_hash(line);
    }
}

}  // namespace
}  // namespace postern::bastion
