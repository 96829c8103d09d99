#include "monitor/auth_methods.h"

#include <gtest/gtest.h>

namespace postern::monitor {
namespace {

const std::vector<std::string> kEnabled = {"publickey", "password", "keyboard-interactive"};

TEST(AuthMethodLists, AnyNeedsOneMethod) {
  AuthMethodLists l({"any"});
  EXPECT_TRUE(l.may_try("password"));
  EXPECT_TRUE(l.succeeded("password"));
  EXPECT_EQ(l.next(kEnabled), kEnabled);
}

TEST(AuthMethodLists, TwoListsWithPartialSuccess) {
  AuthMethodLists l({"publickey,password", "publickey,keyboard-interactive:pam"});
  EXPECT_EQ(l.next(kEnabled), std::vector<std::string>{"publickey"});
  EXPECT_FALSE(l.may_try("password"));
  EXPECT_FALSE(l.succeeded("publickey"));  // partial
  EXPECT_EQ(l.next(kEnabled), (std::vector<std::string>{"password", "keyboard-interactive"}));
  EXPECT_FALSE(l.may_try("publickey"));
  EXPECT_TRUE(l.succeeded("keyboard-interactive"));
  EXPECT_EQ(l.done(), (std::vector<std::string>{"publickey", "keyboard-interactive"}));
}

TEST(AuthMethodLists, SameMethodTwice) {
  AuthMethodLists l({"publickey,publickey"});
  EXPECT_FALSE(l.succeeded("publickey"));
  EXPECT_TRUE(l.may_try("publickey"));
  EXPECT_TRUE(l.succeeded("publickey"));
}

TEST(AuthMethodLists, MethodOutOfOrderDoesNotCount) {
  AuthMethodLists l({"publickey,password"});
  EXPECT_FALSE(l.succeeded("password"));
  EXPECT_TRUE(l.done().empty());
}

}  // namespace
}  // namespace postern::monitor
