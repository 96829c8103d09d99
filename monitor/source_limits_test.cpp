#include "monitor/source_limits.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/wait.h>

namespace postern::monitor {
namespace {

sockaddr_storage v4(const char* a) {
  sockaddr_storage ss{};
  auto& in = reinterpret_cast<sockaddr_in&>(ss);
  in.sin_family = AF_INET;
  inet_pton(AF_INET, a, &in.sin_addr);
  return ss;
}

sockaddr_storage v6(const char* a) {
  sockaddr_storage ss{};
  auto& in = reinterpret_cast<sockaddr_in6&>(ss);
  in.sin6_family = AF_INET6;
  inet_pton(AF_INET6, a, &in.sin6_addr);
  return ss;
}

TEST(SourceKey, MasksToTheNetblock) {
  EXPECT_EQ(describe_source(source_key(v4("10.1.2.3"), 24, 64)), "10.1.2.0/24");
  EXPECT_EQ(describe_source(source_key(v4("10.1.2.3"), 32, 64)), "10.1.2.3/32");
  EXPECT_EQ(describe_source(source_key(v6("2001:db8:1:2:3::4"), 32, 48)), "2001:db8:1::/48");
  // An IPv4-mapped peer on a dual-stack socket is the IPv4 source.
  EXPECT_EQ(source_key(v6("::ffff:10.1.2.3"), 32, 128), source_key(v4("10.1.2.3"), 32, 128));
  EXPECT_EQ(source_key(v4("10.1.2.3"), 8, 128), source_key(v4("10.200.0.1"), 8, 128));
}

TEST(SessionOutcome, EachReportedEndHasItsPenalty) {
  EXPECT_EQ(penalty_for(SessionOutcome::kAuthenticated), Penalty::kNone);
  EXPECT_EQ(penalty_for(SessionOutcome::kAuthFail), Penalty::kAuthFail);
  EXPECT_EQ(penalty_for(SessionOutcome::kNoAuth), Penalty::kNoAuth);
  EXPECT_EQ(penalty_for(SessionOutcome::kGraceExceeded), Penalty::kGraceExceeded);
  EXPECT_EQ(penalty_for(SessionOutcome::kCrash), Penalty::kCrash);
  EXPECT_EQ(penalty_for(SessionOutcome::kRefused), Penalty::kRefuseConnection);
  EXPECT_EQ(session_outcome_from_byte('R'), SessionOutcome::kRefused);
  EXPECT_EQ(session_outcome_from_byte('F'), SessionOutcome::kAuthFail);
  EXPECT_EQ(penalty_for(SessionOutcome::kInvalidUser), Penalty::kInvalidUser);
  EXPECT_EQ(session_outcome_from_byte('I'), SessionOutcome::kInvalidUser);
  EXPECT_EQ(session_outcome_from_byte('x'), std::nullopt);
  EXPECT_EQ(session_outcome_from_byte('\0'), std::nullopt);
}

TEST(SessionOutcome, SilentEndIsACrashOnlyByAnUnexpectedSignal) {
  EXPECT_EQ(classify_silent_exit(SIGSEGV), Penalty::kCrash);
  EXPECT_EQ(classify_silent_exit(SIGABRT), Penalty::kCrash);
  EXPECT_EQ(classify_silent_exit(SIGTERM), Penalty::kNone);
  EXPECT_EQ(classify_silent_exit(SIGKILL), Penalty::kNone);
  EXPECT_EQ(classify_silent_exit(255 << 8), Penalty::kNone);
  EXPECT_EQ(classify_silent_exit(0), Penalty::kNone);
}

TEST(SourceLimits, PerSourceMaxStartups) {
  config::ServerConfig cfg;
  cfg.per_source_max_startups = 2;
  cfg.per_source_netblock_size_ipv4 = 24;
  SourceLimits sl;
  sl.configure(cfg);
  auto a = sl.key_of(v4("10.0.0.1")), b = sl.key_of(v4("10.0.0.2")), c = sl.key_of(v4("10.0.1.1"));
  EXPECT_EQ(a, b);
  EXPECT_EQ(sl.refusal(a, "10.0.0.1", 0), "");
  sl.started(a);
  sl.started(b);
  EXPECT_EQ(sl.refusal(a, "10.0.0.1", 0), "past PerSourceMaxStartups");
  EXPECT_EQ(sl.refusal(c, "10.0.1.1", 0), "");
  sl.finished_startup(a);
  EXPECT_EQ(sl.refusal(b, "10.0.0.2", 0), "");
}

TEST(SourceLimits, PenaltiesAccumulateAndExpire) {
  config::ServerConfig cfg;
  cfg.per_source_penalties.enabled = true;
  cfg.per_source_penalties.authfail = 5;
  cfg.per_source_penalties.min = 15;
  cfg.per_source_penalties.max = 30;
  cfg.per_source_penalty_exempt_list = "10.9.0.0/16";
  SourceLimits sl;
  sl.configure(cfg);
  auto a = sl.key_of(v4("10.0.0.1")), other = sl.key_of(v4("10.0.0.2"));
  EXPECT_FALSE(sl.penalise(a, "10.0.0.1", Penalty::kAuthFail, 100));
  EXPECT_FALSE(sl.penalise(a, "10.0.0.1", Penalty::kAuthFail, 100));
  EXPECT_EQ(sl.refusal(a, "10.0.0.1", 100), "");
  EXPECT_TRUE(sl.penalise(a, "10.0.0.1", Penalty::kAuthFail, 100));
  EXPECT_EQ(sl.refusal(a, "10.0.0.1", 101), "penalty: failed authentication");
  EXPECT_EQ(sl.refusal(other, "10.0.0.2", 101), "");
  for (int i = 0; i < 20; ++i) sl.penalise(a, "10.0.0.1", Penalty::kAuthFail, 101);
  EXPECT_EQ(sl.refusal(a, "10.0.0.1", 130), "penalty: failed authentication");  // capped: 131
  EXPECT_EQ(sl.refusal(a, "10.0.0.1", 131), "");
  EXPECT_EQ(sl.penalised_sources(), 0u);
  auto ex = sl.key_of(v4("10.9.1.1"));
  EXPECT_FALSE(sl.penalise(ex, "10.9.1.1", Penalty::kCrash, 100));
  EXPECT_EQ(sl.refusal(ex, "10.9.1.1", 100), "");
}

// With min 15 s, one connection that earns `heavy` (set to 20 s or more) passes min at once,
// refused for `reason`; one that earns `light` (set under min) does not.
void expect_own_penalty(int config::PerSourcePenalties::*heavy_field, Penalty heavy,
                        int config::PerSourcePenalties::*light_field, Penalty light,
                        const char* reason) {
  config::ServerConfig cfg;
  cfg.per_source_penalties.enabled = true;
  cfg.per_source_penalties.*heavy_field = 20;
  cfg.per_source_penalties.*light_field = 1;
  cfg.per_source_penalties.min = 15;
  SourceLimits sl;
  sl.configure(cfg);
  auto a = sl.key_of(v4("10.0.0.1"));
  EXPECT_TRUE(sl.penalise(a, "10.0.0.1", heavy, 100));
  EXPECT_EQ(sl.refusal(a, "10.0.0.1", 101), reason);
  auto b = sl.key_of(v4("10.0.0.2"));
  EXPECT_FALSE(sl.penalise(b, "10.0.0.2", light, 100));
}

TEST(SourceLimits, RefuseConnectionHasItsOwnPenalty) {
  expect_own_penalty(&config::PerSourcePenalties::refuse_connection, Penalty::kRefuseConnection,
                     &config::PerSourcePenalties::noauth, Penalty::kNoAuth,
                     "penalty: connection prohibited by RefuseConnection");
}

TEST(SourceLimits, InvalidUserHasItsOwnPenalty) {
  // OpenSSH 10's invaliduser: an administrator may refuse name-guessers longer than typists.
  expect_own_penalty(&config::PerSourcePenalties::invalid_user, Penalty::kInvalidUser,
                     &config::PerSourcePenalties::authfail, Penalty::kAuthFail,
                     "penalty: attempted authentication by invalid user");
}

TEST(SourceLimits, OffByDefault) {
  SourceLimits sl;
  sl.configure(config::ServerConfig{});
  auto a = sl.key_of(v4("10.0.0.1"));
  for (int i = 0; i < 10; ++i) sl.penalise(a, "10.0.0.1", Penalty::kCrash, 0);
  EXPECT_EQ(sl.refusal(a, "10.0.0.1", 1), "");
}

}  // namespace
}  // namespace postern::monitor
