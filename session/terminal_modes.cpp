#include "session/terminal_modes.h"

#include <unistd.h>

#include "common/wire.h"

namespace postern::session {
namespace {

// Opcode numbers from RFC 4254 §8 (42 IUTF8 from RFC 8160).
enum Opcode : uint8_t {
  kTtyOpEnd = 0,
  kVintr = 1,
  kVquit = 2,
  kVerase = 3,
  kVkill = 4,
  kVeof = 5,
  kVeol = 6,
  kVeol2 = 7,
  kVstart = 8,
  kVstop = 9,
  kVsusp = 10,
  kVdsusp = 11,
  kVreprint = 12,
  kVwerase = 13,
  kVlnext = 14,
  kVflush = 15,
  kVswtch = 16,
  kVstatus = 17,
  kVdiscard = 18,
  kIgnpar = 30,
  kParmrk = 31,
  kInpck = 32,
  kIstrip = 33,
  kInlcr = 34,
  kIgncr = 35,
  kIcrnl = 36,
  kIuclc = 37,
  kIxon = 38,
  kIxany = 39,
  kIxoff = 40,
  kImaxbel = 41,
  kIutf8 = 42,
  kIsig = 50,
  kIcanon = 51,
  kXcase = 52,
  kEcho = 53,
  kEchoe = 54,
  kEchok = 55,
  kEchonl = 56,
  kNoflsh = 57,
  kTostop = 58,
  kIexten = 59,
  kEchoctl = 60,
  kEchoke = 61,
  kPendin = 62,
  kOpost = 70,
  kOlcuc = 71,
  kOnlcr = 72,
  kOcrnl = 73,
  kOnocr = 74,
  kOnlret = 75,
  kCs7 = 90,
  kCs8 = 91,
  kParenb = 92,
  kParodd = 93,
  kTtyOpIspeed = 128,
  kTtyOpOspeed = 129,
};

// The control character index for an opcode, or -1.
int cc_index(uint8_t op) {
  switch (op) {
    case kVintr:
      return VINTR;
    case kVquit:
      return VQUIT;
    case kVerase:
      return VERASE;
    case kVkill:
      return VKILL;
    case kVeof:
      return VEOF;
    case kVeol:
      return VEOL;
    case kVeol2:
      return VEOL2;
    case kVstart:
      return VSTART;
    case kVstop:
      return VSTOP;
    case kVsusp:
      return VSUSP;
    case kVreprint:
      return VREPRINT;
    case kVwerase:
      return VWERASE;
    case kVlnext:
      return VLNEXT;
#ifdef VSWTC
    case kVswtch:
      return VSWTC;
#endif
    case kVdiscard:
      return VDISCARD;
    default:
      return -1;
  }
}

struct FlagBit {
  tcflag_t termios::*field;
  tcflag_t bit;
};

// The termios flag for an opcode; field is null when there is none on this system.
FlagBit flag_for(uint8_t op) {
  switch (op) {
    case kIgnpar:
      return {&termios::c_iflag, IGNPAR};
    case kParmrk:
      return {&termios::c_iflag, PARMRK};
    case kInpck:
      return {&termios::c_iflag, INPCK};
    case kIstrip:
      return {&termios::c_iflag, ISTRIP};
    case kInlcr:
      return {&termios::c_iflag, INLCR};
    case kIgncr:
      return {&termios::c_iflag, IGNCR};
    case kIcrnl:
      return {&termios::c_iflag, ICRNL};
#ifdef IUCLC
    case kIuclc:
      return {&termios::c_iflag, IUCLC};
#endif
    case kIxon:
      return {&termios::c_iflag, IXON};
    case kIxany:
      return {&termios::c_iflag, IXANY};
    case kIxoff:
      return {&termios::c_iflag, IXOFF};
    case kImaxbel:
      return {&termios::c_iflag, IMAXBEL};
#ifdef IUTF8
    case kIutf8:
      return {&termios::c_iflag, IUTF8};
#endif
    case kIsig:
      return {&termios::c_lflag, ISIG};
    case kIcanon:
      return {&termios::c_lflag, ICANON};
#ifdef XCASE
    case kXcase:
      return {&termios::c_lflag, XCASE};
#endif
    case kEcho:
      return {&termios::c_lflag, ECHO};
    case kEchoe:
      return {&termios::c_lflag, ECHOE};
    case kEchok:
      return {&termios::c_lflag, ECHOK};
    case kEchonl:
      return {&termios::c_lflag, ECHONL};
    case kNoflsh:
      return {&termios::c_lflag, NOFLSH};
    case kTostop:
      return {&termios::c_lflag, TOSTOP};
    case kIexten:
      return {&termios::c_lflag, IEXTEN};
    case kEchoctl:
      return {&termios::c_lflag, ECHOCTL};
    case kEchoke:
      return {&termios::c_lflag, ECHOKE};
    case kPendin:
      return {&termios::c_lflag, PENDIN};
    case kOpost:
      return {&termios::c_oflag, OPOST};
#ifdef OLCUC
    case kOlcuc:
      return {&termios::c_oflag, OLCUC};
#endif
    case kOnlcr:
      return {&termios::c_oflag, ONLCR};
    case kOcrnl:
      return {&termios::c_oflag, OCRNL};
    case kOnocr:
      return {&termios::c_oflag, ONOCR};
    case kOnlret:
      return {&termios::c_oflag, ONLRET};
    case kParenb:
      return {&termios::c_cflag, PARENB};
    case kParodd:
      return {&termios::c_cflag, PARODD};
    default:
      return {nullptr, 0};
  }
}

speed_t baud_to_speed(uint32_t baud) {
  static const struct {
    uint32_t baud;
    speed_t speed;
  } kSpeeds[] = {
      {0, B0},         {50, B50},       {75, B75},         {110, B110},       {134, B134},
      {150, B150},     {200, B200},     {300, B300},       {600, B600},       {1200, B1200},
      {1800, B1800},   {2400, B2400},   {4800, B4800},     {9600, B9600},     {19200, B19200},
      {38400, B38400}, {57600, B57600}, {115200, B115200}, {230400, B230400}, {460800, B460800},
  };
  speed_t best = B9600;
  for (const auto& s : kSpeeds) {
    if (s.baud <= baud) best = s.speed;
  }
  return best;
}

}  // namespace

void apply_terminal_modes(ByteView encoded, struct termios& tio) {
  Reader r(encoded);
  while (!r.done()) {
    uint8_t op = r.u8();
    // §8: opcodes 160 to 255 are not yet defined and cause parsing to stop.
    if (op == kTtyOpEnd || op >= 160) break;
    uint32_t arg = r.u32();
    if (op == kTtyOpIspeed) {
      cfsetispeed(&tio, baud_to_speed(arg));
    } else if (op == kTtyOpOspeed) {
      cfsetospeed(&tio, baud_to_speed(arg));
    } else if (op == kCs7 || op == kCs8) {
      if (arg) {
        tio.c_cflag &= ~CSIZE;
        tio.c_cflag |= op == kCs7 ? CS7 : CS8;
      }
    } else if (int cc = cc_index(op); cc >= 0) {
      // 255 means "disabled" on the wire; the local spelling is _POSIX_VDISABLE.
      tio.c_cc[cc] = arg == 255 ? cc_t(_POSIX_VDISABLE) : cc_t(arg);
    } else if (FlagBit f = flag_for(op); f.field) {
      if (arg)
        tio.*f.field |= f.bit;
      else
        tio.*f.field &= ~f.bit;
    }
    // Anything else (VDSUSP, VSTATUS, VFLUSH here) has no Linux equivalent: skipped.
  }
}

}  // namespace postern::session
