#include "bastion/picker.h"

#include <gtest/gtest.h>

namespace postern::bastion {
namespace {

using Kind = PickOutcome::Kind;

// alice (role operators) reaches deploy@web1, deploy@web2 and ops@db1; the lab role gives her any
// account on lab1; nothing grants her secret1, which must never show.
const char kPolicy[] = R"(
[[user]]
name = "alice"

[[target]]
name = "web1"
address = "10.1.0.5"
users = ["deploy"]
tags = ["prod", "web"]

[[target]]
name = "web2"
address = "10.1.0.6"
users = ["deploy"]
tags = ["prod", "web"]

[[target]]
name = "db1"
address = "10.1.0.9"
users = ["ops"]
tags = ["prod", "db"]

[[target]]
name = "lab1"
address = "10.2.0.7"

[[target]]
name = "secret1"
address = "10.3.0.1"
users = ["root"]

[[role]]
name = "operators"
members = ["alice"]
targets = ["web1", "web2", "db1"]
target_users = ["*"]
channels = ["shell", "exec"]
credential = "agent"

[[role]]
name = "lab"
members = ["alice"]
targets = ["lab1"]
target_users = ["*"]
channels = ["shell"]
credential = "agent"

[[role]]
name = "vault"
members = ["bob"]
targets = ["secret1"]
target_users = ["root"]
channels = ["shell"]
credential = "agent"
)";

class PickerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto p = parse_policy(kPolicy, "b.toml", "[]", "t.json");
    ASSERT_TRUE(p) << p.error().message;
    policy = std::move(*p);
    entries = picker_entries(policy, Subject{"alice", {}, "192.0.2.1"});
    all = {0, 1, 2, 3};
  }
  Policy policy;
  std::vector<PickerEntry> entries;
  std::vector<size_t> all;
};

TEST_F(PickerTest, ListsExactlyWhatTheRolesGrant) {
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(picker_line(entries[0]), "deploy@web1  [prod,web]  role operators");
  EXPECT_EQ(picker_line(entries[2]), "ops@db1  [prod,db]  role operators");
  EXPECT_EQ(picker_line(entries[3]), "*@lab1  role lab");
  for (const auto& e : entries) EXPECT_NE(e.target, "secret1");
  EXPECT_TRUE(picker_entries(policy, Subject{"mallory", {}, "192.0.2.1"}).empty());
}

TEST_F(PickerTest, NumberTakesTheShownEntry) {
  auto o = pick_target(entries, all, "2");
  EXPECT_EQ(o.kind, Kind::kChosen);
  EXPECT_EQ(o.target_user, "deploy");
  EXPECT_EQ(o.target, "web2");
  // Numbers count in the list as shown: after narrowing to db1 alone, 1 is db1.
  o = pick_target(entries, {2}, " 1 ");
  EXPECT_EQ(o.kind, Kind::kChosen);
  EXPECT_EQ(o.target, "db1");
  for (const char* bad : {"0", "5", "99999999999999999999"}) {
    o = pick_target(entries, all, bad);
    EXPECT_EQ(o.kind, Kind::kNone) << bad;
    EXPECT_EQ(o.shown, all) << bad;
    EXPECT_NE(o.note.find("No choice"), std::string::npos) << bad;
  }
}

TEST_F(PickerTest, AccountAtTargetTakesOnlyListedEntries) {
  auto o = pick_target(entries, {2}, "deploy@web1");  // the full list, whatever is shown
  EXPECT_EQ(o.kind, Kind::kChosen);
  EXPECT_EQ(o.target_user, "deploy");
  EXPECT_EQ(o.target, "web1");
  o = pick_target(entries, all, "guest@lab1");  // "*": any account
  EXPECT_EQ(o.kind, Kind::kChosen);
  EXPECT_EQ(o.target_user, "guest");
  EXPECT_EQ(o.target, "lab1");
  for (const char* refused : {"root@secret1", "root@web1", "*@lab1", "@lab1", "a%b@lab1"}) {
    o = pick_target(entries, all, refused);
    EXPECT_EQ(o.kind, Kind::kNone) << refused;
    EXPECT_EQ(o.note, std::string(refused) + " is not in your list.");
  }
}

TEST_F(PickerTest, FilterTakesAUniqueMatchNarrowsSeveralAndResetsOnNone) {
  auto o = pick_target(entries, all, "DB");
  EXPECT_EQ(o.kind, Kind::kChosen);
  EXPECT_EQ(o.target_user, "ops");
  EXPECT_EQ(o.target, "db1");
  o = pick_target(entries, all, "web");
  EXPECT_EQ(o.kind, Kind::kNarrowed);
  EXPECT_EQ(o.shown, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(o.note, "2 match \"web\":");
  o = pick_target(entries, all, "nothing-like-this");
  EXPECT_EQ(o.kind, Kind::kNone);
  EXPECT_EQ(o.shown, all);
  EXPECT_EQ(o.note, "Nothing matches \"nothing-like-this\".");
  // A filter never finds what is not listed.
  EXPECT_EQ(pick_target(entries, all, "secret").kind, Kind::kNone);
}

TEST_F(PickerTest, AnyAccountEntryAsksForTheAccount) {
  auto o = pick_target(entries, all, "4");
  EXPECT_EQ(o.kind, Kind::kNarrowed);
  EXPECT_EQ(o.shown, (std::vector<size_t>{3}));
  EXPECT_EQ(o.note, "Any account on lab1: type ACCOUNT@lab1");
  EXPECT_EQ(pick_target(entries, all, "lab").kind, Kind::kNarrowed);
}

TEST_F(PickerTest, BadAnswersAreNotes) {
  EXPECT_EQ(pick_target(entries, all, "").kind, Kind::kNone);
  EXPECT_EQ(pick_target(entries, all, "   ").kind, Kind::kNone);
  auto o = pick_target(entries, all, std::string("we\x1b[2Jb"));
  EXPECT_EQ(o.kind, Kind::kNone);
  EXPECT_EQ(o.note.find('\x1b'), std::string::npos);
  o = pick_target(entries, all, std::string(300, 'w'));
  EXPECT_EQ(o.kind, Kind::kNone);
  EXPECT_LT(o.note.size(), 80u);
}

TEST_F(PickerTest, InstructionNumbersTheShownListAndTruncates) {
  EXPECT_EQ(picker_instruction(entries, {0, 2}, "2 match \"x\":", 4096),
            "2 match \"x\":\n1) deploy@web1  [prod,web]  role operators\n"
            "2) ops@db1  [prod,db]  role operators\n");
  std::vector<PickerEntry> many;
  for (int i = 0; i < 2000; ++i) many.push_back({"deploy", "host" + std::to_string(i), {}, "r"});
  std::vector<size_t> shown(many.size());
  for (size_t i = 0; i < shown.size(); ++i) shown[i] = i;
  std::string text = picker_instruction(many, shown, "", PickerConversation::kMaxInstruction);
  EXPECT_LE(text.size(), PickerConversation::kMaxInstruction);
  EXPECT_NE(text.find("1) deploy@host0  role r\n"), std::string::npos);
  EXPECT_NE(text.find(" more: type a filter to narrow.\n"), std::string::npos);
  EXPECT_EQ(text.find("2000) "), std::string::npos);
}

TEST_F(PickerTest, ConversationRoundsAreBounded) {
  PickerConversation c(entries);
  EXPECT_NE(c.instruction().find("4) *@lab1  role lab\n"), std::string::npos);
  auto o = c.answer("web");
  EXPECT_EQ(o.kind, Kind::kNarrowed);
  EXPECT_EQ(c.instruction(),
            "2 match \"web\":\n1) deploy@web1  [prod,web]  role operators\n"
            "2) deploy@web2  [prod,web]  role operators\n");
  o = c.answer("2");
  EXPECT_EQ(o.kind, Kind::kChosen);
  EXPECT_EQ(o.target, "web2");

  c.restart();
  for (unsigned i = 0; i < PickerConversation::kMaxRounds; ++i) {
    EXPECT_FALSE(c.exhausted());
    EXPECT_EQ(c.answer("zzz").kind, Kind::kNone);
  }
  EXPECT_TRUE(c.exhausted());
  EXPECT_NE(c.instruction().find("Nothing matches"), std::string::npos);
  c.restart();
  EXPECT_FALSE(c.exhausted());
}

}  // namespace
}  // namespace postern::bastion
