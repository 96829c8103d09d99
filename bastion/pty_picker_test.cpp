#include "bastion/pty_picker.h"

#include <gtest/gtest.h>

namespace postern::bastion {
namespace {

using State = PtyPicker::State;

std::vector<PtyPickerEntry> three() {
  return {{"deploy", "web1", "deploy@web1  [prod,web]  role ops"},
          {"deploy", "web2", "deploy@web2  [prod,web]  role ops"},
          {"ops", "db1", "ops@db1  [prod,db]  role dba"}};
}

std::vector<PtyPickerEntry> many(size_t n) {
  std::vector<PtyPickerEntry> v;
  for (size_t i = 0; i < n; ++i) {
    std::string t = "host" + std::to_string(i);
    v.push_back({"deploy", t, "deploy@" + t});
  }
  return v;
}

bool shows(const std::string& screen, const std::string& text) {
  return screen.find(text) != std::string::npos;
}

TEST(PtyPicker, FirstScreenListsEveryEntryAndSelectsTheFirst) {
  PtyPicker p(three(), 80, 24);
  std::string s = p.start();
  EXPECT_TRUE(shows(s, "\x1b[?1049h"));  // the alternate screen
  EXPECT_TRUE(shows(s, "\x1b[7m> deploy@web1  [prod,web]  role ops\x1b[m"));
  EXPECT_TRUE(shows(s, "  deploy@web2"));
  EXPECT_TRUE(shows(s, "  ops@db1"));
  EXPECT_TRUE(shows(s, "Targets 1-3 of 3"));
  EXPECT_EQ(p.state(), State::kPicking);
}

TEST(PtyPicker, TypingFiltersCaseInsensitivelyAndEnterChooses) {
  PtyPicker p(three(), 80, 24);
  p.start();
  std::string s = p.input("DB");
  EXPECT_EQ(p.matches(), (std::vector<size_t>{2}));
  EXPECT_TRUE(shows(s, "Filter: DB"));
  EXPECT_FALSE(shows(s, "web1"));
  std::string end = p.input("\r");
  EXPECT_EQ(p.state(), State::kChosen);
  EXPECT_EQ(p.chosen_user(), "ops");
  EXPECT_EQ(p.chosen_target(), "db1");
  EXPECT_TRUE(shows(end, "\x1b[?1049l"));
  EXPECT_TRUE(shows(end, "connecting to ops@db1"));
  // What follows the choice is not the picker's.
  EXPECT_EQ(p.input("x"), "");
}

TEST(PtyPicker, InputUsedStopsAtTheChoice) {
  PtyPicker p(three(), 80, 24);
  p.start();
  p.input("db");
  EXPECT_EQ(p.input_used(), 2u);
  // An arrow key's sequence, the Enter, and then keys for the target in the same input.
  std::string end = p.input("\x1b[A\rls\r");
  EXPECT_EQ(p.state(), State::kChosen);
  EXPECT_EQ(p.input_used(), 4u);
  EXPECT_FALSE(shows(end, "ls"));
  p.input("more");
  EXPECT_EQ(p.input_used(), 0u);
}

TEST(PtyPicker, ArrowsAndEmacsKeysMoveTheSelectionWithinTheList) {
  PtyPicker p(three(), 80, 24);
  p.start();
  p.input("\x1b[B");  // Down
  EXPECT_EQ(p.selected(), 1u);
  p.input("\x0e");  // Ctrl-N
  EXPECT_EQ(p.selected(), 2u);
  p.input("\x1bOB");  // Down in application cursor mode: stays on the last
  EXPECT_EQ(p.selected(), 2u);
  p.input("\x10\x1b[A");  // Ctrl-P, Up
  EXPECT_EQ(p.selected(), 0u);
  p.input("\x1b[B\r");
  EXPECT_EQ(p.chosen_target(), "web2");
}

TEST(PtyPicker, EscapeSequenceSplitAcrossReads) {
  PtyPicker p(three(), 80, 24);
  p.start();
  EXPECT_EQ(p.input("\x1b"), "");
  EXPECT_TRUE(p.escape_pending());
  p.input("[");
  EXPECT_FALSE(p.escape_pending());
  p.input("B");
  EXPECT_EQ(p.state(), State::kPicking);
  EXPECT_EQ(p.selected(), 1u);
  p.input("\x1b[6");
  p.input("~");  // PgDn, split after its parameter
  EXPECT_EQ(p.selected(), 2u);
  EXPECT_EQ(p.filter(), "");  // none of the sequence's bytes were taken as typing
}

TEST(PtyPicker, EscAloneLeavesAfterTheTimeoutAndCtrlCAtOnce) {
  PtyPicker p(three(), 80, 24);
  p.start();
  p.input("\x1b");
  EXPECT_EQ(p.state(), State::kPicking);
  std::string end = p.escape_timeout();
  EXPECT_EQ(p.state(), State::kCancelled);
  EXPECT_TRUE(shows(end, "no target chosen"));

  PtyPicker q(three(), 80, 24);
  q.start();
  q.input("we\x03");
  EXPECT_EQ(q.state(), State::kCancelled);

  // ESC ESC: the first was the Esc key.
  PtyPicker r(three(), 80, 24);
  r.start();
  r.input("\x1b\x1b");
  EXPECT_EQ(r.state(), State::kCancelled);
  // No timeout without a lone ESC.
  PtyPicker t(three(), 80, 24);
  t.start();
  EXPECT_EQ(t.escape_timeout(), "");
  EXPECT_EQ(t.state(), State::kPicking);
}

TEST(PtyPicker, BackspaceAndCtrlUEditTheFilter) {
  PtyPicker p(three(), 80, 24);
  p.start();
  p.input("webx");
  EXPECT_TRUE(p.matches().empty());
  std::string s = p.input("\r");
  EXPECT_EQ(p.state(), State::kPicking);
  EXPECT_TRUE(shows(s, "Nothing to connect to"));
  p.input("\x7f");
  EXPECT_EQ(p.filter(), "web");
  EXPECT_EQ(p.matches().size(), 2u);
  p.input("\x15");
  EXPECT_EQ(p.filter(), "");
  EXPECT_EQ(p.matches().size(), 3u);
}

TEST(PtyPicker, InputIsBounded) {
  PtyPicker p(three(), 80, 24);
  p.start();
  std::string s = p.input(std::string(1000, 'a'));
  EXPECT_EQ(p.filter().size(), PtyPicker::kMaxFilter);
  EXPECT_TRUE(shows(s, "at most 64 characters"));
  // An overlong CSI sequence is dropped at the bound, up to its final byte (here in a later
  // read); what follows is typing again.
  PtyPicker q(three(), 80, 24);
  q.start();
  q.input("\x1b[" + std::string(100, '1'));
  EXPECT_EQ(q.filter(), "");
  q.input("~db");
  EXPECT_EQ(q.filter(), "db");
  // Control bytes and non-ASCII are not typing; unknown sequences do nothing.
  PtyPicker r(three(), 80, 24);
  r.start();
  r.input("\x01\x02\xc3\xa9\x1b[C\x1b[15~");
  EXPECT_EQ(r.filter(), "");
  EXPECT_EQ(r.state(), State::kPicking);
}

TEST(PtyPicker, HundredsOfTargetsScrollByLineAndPage) {
  PtyPicker p(many(300), 80, 24);
  std::string s = p.start();
  EXPECT_EQ(p.list_rows(), 21u);
  EXPECT_TRUE(shows(s, "deploy@host20\x1b[K"));
  EXPECT_FALSE(shows(s, "deploy@host21\x1b[K"));
  EXPECT_TRUE(shows(s, "Targets 1-21 of 300, PgUp/PgDn scroll"));
  for (int i = 0; i < 21; ++i) p.input("\x1b[B");
  EXPECT_EQ(p.selected(), 21u);
  EXPECT_EQ(p.top(), 1u);
  s = p.input("\x1b[6~");
  EXPECT_EQ(p.selected(), 42u);
  EXPECT_TRUE(shows(s, "> deploy@host42"));
  EXPECT_FALSE(shows(s, "deploy@host0\x1b[K"));
  p.input("\x1b[F");  // End
  EXPECT_EQ(p.selected(), 299u);
  EXPECT_EQ(p.top(), 279u);
  p.input("\x1b[5~\x1b[H");  // PgUp, Home
  EXPECT_EQ(p.selected(), 0u);
  EXPECT_EQ(p.top(), 0u);
  // Every screen stays within 80 columns: no line is drawn past column 79.
  s = p.input("\x1b[B");
  EXPECT_FALSE(shows(s, "\n"));
}

TEST(PtyPicker, ResizeRedrawsTheWholeScreenAndKeepsTheSelectionVisible) {
  PtyPicker p(many(300), 80, 24);
  p.start();
  p.input("\x1b[6~\x1b[6~");  // selection 42
  std::string s = p.resize(100, 10);
  EXPECT_TRUE(shows(s, "\x1b[2J"));
  EXPECT_EQ(p.list_rows(), 7u);
  EXPECT_LE(p.top(), p.selected());
  EXPECT_LT(p.selected(), p.top() + p.list_rows());
  EXPECT_TRUE(shows(s, "\x1b[10;1H"));  // the status line moved to the new last row
  // A tiny or zero size is clamped, not trusted.
  p.resize(1, 1);
  EXPECT_EQ(p.list_rows(), size_t(PtyPicker::kMinRows - 3));
  p.resize(100000, 100000);
  EXPECT_EQ(p.list_rows(), size_t(PtyPicker::kMaxRows - 3));
}

TEST(PtyPicker, LongLinesAreCutToTheWidth) {
  std::vector<PtyPickerEntry> v = {{"u", "t", "u@t  [" + std::string(200, 'x') + "]"}};
  PtyPicker p(v, 40, 24);
  std::string s = p.start();
  EXPECT_TRUE(shows(s, "> u@t  [" + std::string(39 - 8, 'x') + "\x1b[m"));
  EXPECT_FALSE(shows(s, std::string(32, 'x')));
}

TEST(PtyPicker, AnyAccountEntryTakesTheAccountTyped) {
  std::vector<PtyPickerEntry> v = {{"*", "lab1", "*@lab1  [lab]  role lab"},
                                   {"deploy", "web1", "deploy@web1"}};
  PtyPicker p(v, 80, 24);
  p.start();
  std::string s = p.input("lab\r");
  EXPECT_EQ(p.state(), State::kPicking);
  EXPECT_TRUE(shows(s, "type ACCOUNT@lab1"));
  p.input("\x15");
  p.input("root@LAB1");
  EXPECT_EQ(p.matches(), (std::vector<size_t>{0}));
  p.input("\r");
  EXPECT_EQ(p.state(), State::kChosen);
  EXPECT_EQ(p.chosen_user(), "root");
  EXPECT_EQ(p.chosen_target(), "lab1");
}

}  // namespace
}  // namespace postern::bastion
