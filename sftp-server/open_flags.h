// SSH_FXP_OPEN's pflags (draft-ietf-secsh-filexfer-02 §6.3) as open(2) flags and as the text
// OpenSSH's sftp-server logs, and what an open handle's access mode allows.
#pragma once

#include <cstdint>
#include <string>

namespace postern::sftp {

// "READ,WRITE,CREATE", as the open log line prints the flags.
std::string open_flags_string(uint32_t pflags);
// The open(2) flags for SSH_FXF_* pflags.
int posix_open_flags(uint32_t pflags);
bool opened_for_reading(int flags);
bool opened_for_writing(int flags);

}  // namespace postern::sftp
