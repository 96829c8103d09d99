// RFC 4254 §8 encoded terminal modes (the pty-req "encoded terminal modes" string) applied to a
// termios structure.
#pragma once

#include <termios.h>

#include "common/bytes.h"

namespace postern::session {

// Applies the modes in `encoded` to `tio`. Opcodes this system has no equivalent for are
// skipped; an opcode of 160..255 ends parsing as §8 says, as does TTY_OP_END. Throws
// ProtocolError when the string is truncated.
void apply_terminal_modes(ByteView encoded, struct termios& tio);

}  // namespace postern::session
