#include "session/session_options.h"

#include <gtest/gtest.h>

#include "common/config/server_config.h"
#include "common/ipc_messages.h"

namespace postern::session {
namespace {

using Env = std::vector<std::pair<std::string, std::string>>;

// SetEnv's first value wins (session_channel), so PAM's environment comes after it; entries
// without '=' are dropped, and PAM's "=value" (no name) too.
TEST(SessionOptions, SetEnvThenPamEnvironment) {
  config::ServerConfig cfg;
  cfg.set_env = {"A=1", "broken", "B=x=y"};
  ipc::UserSetup setup;
  setup.pam_env = {"A=pam", "=nameless", "C=3"};
  EXPECT_EQ(session_options_from_config(cfg, setup).set_env,
            (Env{{"A", "1"}, {"B", "x=y"}, {"A", "pam"}, {"C", "3"}}));
}

// The authenticating key's restrictions arrive in the setup, beside the configuration's.
TEST(SessionOptions, KeyRestrictionsComeFromTheSetup) {
  config::ServerConfig cfg;
  cfg.force_command = "/bin/true";
  cfg.permit_open = {"any"};
  ipc::UserSetup setup;
  setup.key_command = true;
  setup.key_environment = {"K=v"};
  setup.key_permit_open = {"h:1"};
  setup.key_permit_listen = {"2"};
  SessionOptions o = session_options_from_config(cfg, setup);
  EXPECT_EQ(o.force_command, "/bin/true");
  EXPECT_TRUE(o.force_command_from_key);
  EXPECT_EQ(o.key_environment, std::vector<std::string>{"K=v"});
  EXPECT_EQ(o.forward.permit_open, std::vector<std::string>{"any"});
  EXPECT_EQ(o.forward.key_permit_open, std::vector<std::string>{"h:1"});
  EXPECT_EQ(o.forward.key_permit_listen, std::vector<std::string>{"2"});
}

// Negative counts never become huge unsigned ones; an unset XAuthLocation keeps the default.
TEST(SessionOptions, NegativeNumbersAreZeroAndXauthHasADefault) {
  config::ServerConfig cfg;
  cfg.max_sessions = -1;
  cfg.client_alive_interval = -5;
  SessionOptions o = session_options_from_config(cfg, ipc::UserSetup{});
  EXPECT_EQ(o.max_sessions, 0u);
  EXPECT_EQ(o.client_alive_interval, 0u);
  EXPECT_EQ(o.xauth_location, "/usr/bin/xauth");
  cfg.xauth_location = "/opt/bin/xauth";
  EXPECT_EQ(session_options_from_config(cfg, ipc::UserSetup{}).xauth_location, "/opt/bin/xauth");
}

}  // namespace
}  // namespace postern::session
