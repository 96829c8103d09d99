// Shared by the session index's tests: a temporary directory and audit lines in the log's form.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace postern::bastion::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/audit_index_test.XXXXXX";
    m_path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(m_path); }
  const std::string& path() const { return m_path; }

 private:
  std::string m_path;
};

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// One audit line as audit_log.cpp writes it (the fields that matter here; "prev" varies so each
// line hashes apart).
inline std::string audit_line(const std::string& time, const std::string& event,
                              const std::string& session, const std::string& user,
                              const std::string& target, const std::string& exit_status = "",
                              const std::string& recording = "") {
  static int n = 0;
  return "{\"time\":\"" + time + "\",\"event\":\"" + event + "\",\"session\":\"" + session +
         "\",\"bastion_user\":\"" + user + "\",\"client\":\"127.0.0.1 port 5000\",\"target\":\"" +
         target +
         "\",\"target_user\":\"root\",\"channel\":\"shell\",\"decision\":\"allow\","
         "\"reason\":\"\",\"role\":\"ops\",\"detail\":\"\",\"bytes_up\":10,\"bytes_down\":20,"
         "\"exit_status\":" +
         (exit_status.empty() ? std::string("null") : "\"" + exit_status + "\"") +
         ",\"recording\":\"" + recording + "\",\"recording_sha256\":\"\",\"prev\":\"" +
         std::to_string(++n) + "\"}";
}

}  // namespace postern::bastion::testing
