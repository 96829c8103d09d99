// The example policy files in bastion/testdata (copies of ../shared/bastion), for the tests.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

namespace postern::bastion::testing {

inline std::string testdata(const std::string& name) {
  return std::string(BASTION_TESTDATA) + "/" + name;
}

inline std::string read_testdata(const std::string& name) {
  std::ifstream in(testdata(name));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace postern::bastion::testing
