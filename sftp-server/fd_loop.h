// Drives a Server over a pair of file descriptors (the sftp-server binary's stdin and stdout):
// one poll loop, reads straight into the server's input buffer, writes straight from its reply
// buffer.
#pragma once

#include "sftp-server/server.h"

namespace postern::sftp {

// Returns when the client has closed its end and every reply is written (0), or on a framing
// violation or I/O error (1, after logging why).
int run_fd_loop(Server& server, int in_fd, int out_fd);

}  // namespace postern::sftp
