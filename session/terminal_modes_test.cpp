#include "session/terminal_modes.h"

#include <gtest/gtest.h>

#include <cstring>

#include "common/protocol_error.h"
#include "common/wire.h"

namespace postern::session {
namespace {

Bytes modes(std::initializer_list<std::pair<uint8_t, uint32_t>> ops, bool end = true) {
  Writer w;
  for (auto [op, arg] : ops) w.u8(op).u32(arg);
  if (end) w.u8(0);
  return w.take();
}

TEST(TerminalModes, ControlCharactersAndFlags) {
  struct termios tio;
  std::memset(&tio, 0, sizeof tio);
  tio.c_lflag = ECHO;
  // VINTR=3, VERASE=127, VEOF disabled (255), ECHO off, ICANON on, ICRNL on, ONLCR on, CS8.
  Bytes m = modes({{1, 3}, {3, 127}, {5, 255}, {53, 0}, {51, 1}, {36, 1}, {72, 1}, {91, 1}});
  apply_terminal_modes(m, tio);
  EXPECT_EQ(tio.c_cc[VINTR], 3);
  EXPECT_EQ(tio.c_cc[VERASE], 127);
  EXPECT_EQ(tio.c_cc[VEOF], _POSIX_VDISABLE);
  EXPECT_FALSE(tio.c_lflag & ECHO);
  EXPECT_TRUE(tio.c_lflag & ICANON);
  EXPECT_TRUE(tio.c_iflag & ICRNL);
  EXPECT_TRUE(tio.c_oflag & ONLCR);
  EXPECT_EQ(tio.c_cflag & CSIZE, tcflag_t(CS8));
}

TEST(TerminalModes, Speeds) {
  struct termios tio;
  std::memset(&tio, 0, sizeof tio);
  apply_terminal_modes(modes({{128, 38400}, {129, 38400}}), tio);
  EXPECT_EQ(cfgetispeed(&tio), speed_t(B38400));
  EXPECT_EQ(cfgetospeed(&tio), speed_t(B38400));
}

TEST(TerminalModes, UnknownOpcodesSkippedAndHighOpcodeStops) {
  struct termios tio;
  std::memset(&tio, 0, sizeof tio);
  // 17 (VSTATUS) has no Linux equivalent; 200 stops parsing, so ECHO after it is not applied
  // even though what follows is not a valid argument.
  Writer w;
  w.u8(17).u32(20).u8(53).u32(1).u8(200).u8(1).u8(2);
  apply_terminal_modes(w.buffer(), tio);
  EXPECT_TRUE(tio.c_lflag & ECHO);
}

TEST(TerminalModes, EmptyAndTruncated) {
  struct termios tio;
  std::memset(&tio, 0, sizeof tio);
  apply_terminal_modes(ByteView(), tio);
  Bytes bad = {53, 0, 0};
  EXPECT_THROW(apply_terminal_modes(bad, tio), ProtocolError);
}

}  // namespace
}  // namespace postern::session
