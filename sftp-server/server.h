// An SFTP version 3 server (draft-ietf-secsh-filexfer-02) with OpenSSH's extensions (OpenSSH
// PROTOCOL §4), free of I/O on its client side: bytes from the client go in, reply bytes come
// out, and the caller moves them (Botan-style). Filesystem calls are made
// directly, as the user the process runs as, relative to the start directory.
//
// Two users:
//  - the sftp-server binary (sftp_server_main.cpp) drives it from stdin/stdout with
//    run_fd_loop() (fd_loop.h);
//  - internal-sftp: the session process, already chrooted (ChrootDirectory) and running as the
//    user, builds one Server per "sftp" subsystem channel from the words of the Subsystem or
//    ForceCommand line:
//
//      auto in = sftp::internal_sftp_options(words_after_internal_sftp, pw->pw_name,
//                                            pw->pw_dir, remote_address);   // options.h
//      if (!in) -> log in.error().message, refuse the subsystem request
//      if (in->log_level_given) -> apply in->log_level to this process's log
//      sftp::Server server(in->options);   // logs "session opened for local user ..."
//      server.set_output_limit(<channel window>)  // optional
//      // channel data arrives:    server.received_data(data);
//      // send what is pending:    send(server.output()); server.consume_output(n);
//      //                          then server.process() to run requests held back
//      // window management:      stop adjusting the window while !server.wants_input()
//      // channel EOF / close:     destroy the Server (logs "session closed ...")
//      // ProtocolError thrown:    the client broke the framing; close the channel.
//
//    Log lines go through common/log.h. ServerOptions::umask is applied with umask(2) when the
//    Server is built (OpenSSH's -u replaces the process umask). session/sftp_channel.cpp is
//    that caller: it runs the server at its -l level (ERROR by default, as OpenSSH's
//    internal-sftp) and with its -u umask only while inside the server's calls.
#pragma once

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/wire.h"
#include "sftp-server/byte_buffer.h"
#include "sftp-server/file_info.h"
#include "sftp-server/handle_table.h"
#include "sftp-server/options.h"
#include "sftp-server/protocol.h"

namespace postern::sftp {

// limits@openssh.com (PROTOCOL §4.8). OpenSSH's client refuses any message over 256 KiB, so a
// DATA reply (13 bytes of header) must stay under it: reads and writes carry up to 255 KiB.
inline constexpr uint32_t kMaxPacketLength = 256 * 1024;
inline constexpr uint32_t kMaxReadLength = kMaxPacketLength - 1024;
inline constexpr uint32_t kMaxWriteLength = kMaxPacketLength - 1024;
// Requests stop being executed while this much reply data is waiting to be sent, so a client
// that pipelines reads faster than it drains replies cannot make us buffer without bound. About
// one maximal read: replies start moving as soon as one is ready, which measured faster (less
// CPU, a warm buffer) than batching megabytes of them.
inline constexpr size_t kOutputHighWater = 256 * 1024;

// Every request name -P, -p and -Q know, in OpenSSH's order.
const std::vector<std::string_view>& request_names();

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Takes bytes from the client and executes the complete requests among them (as far as
  // process() goes). Throws ProtocolError when the client breaks the packet framing.
  void received_data(ByteView data);

  // Zero-copy input: read(2) into input_space(), then commit_input() and process().
  MutableByteView input_space();
  void commit_input(size_t n) { m_in.commit(n); }

  // Executes the buffered complete requests until none is left or the reply backlog reaches
  // kOutputHighWater. Throws ProtocolError on a framing violation.
  void process();

  // Reply bytes waiting to be sent, and how many of them went.
  ByteView output() const { return m_out.view(); }
  void consume_output(size_t n);

  // False while the backlog is over the high-water mark or a whole packet is already buffered
  // unprocessed: the caller should stop reading (or stop opening the channel window).
  bool wants_input() const;
  bool has_unprocessed_input() const { return !m_in.empty(); }

  // The reply backlog at which requests stop being executed (default kOutputHighWater). A
  // smaller one gets replies moving sooner; a channel may set it to its window.
  void set_output_limit(size_t bytes) { m_output_limit = std::max<size_t>(bytes, 1); }

  uint32_t open_handles() const { return m_handles.open_count(); }
  const std::string& cwd() const { return m_cwd; }

 private:
  using Handler = void (Server::*)(uint32_t id, Reader& r);
  struct RequestType {
    uint8_t type;             // SSH_FXP_*, or kFxpExtended for an extension
    const char* name;         // as -P/-p/-Q name it
    const char* ext_name;     // the wire name of an extension, else nullptr
    const char* ext_version;  // advertised in SSH_FXP_VERSION
    Handler handler;
    bool writes;  // refused with -R
  };
  static const RequestType kRequests[];

  static void check_packet_length(uint32_t len);
  void handle_packet(ByteView packet);
  void handle_init(Reader& r);
  bool request_permitted(const RequestType& rt, bool at_init);
  void dispatch(const RequestType& rt, uint32_t id, Reader& r);

  // Request handlers (draft §6, PROTOCOL §4).
  void do_open(uint32_t id, Reader& r);
  void do_close(uint32_t id, Reader& r);
  void do_read(uint32_t id, Reader& r);
  void do_write(uint32_t id, Reader& r);
  void do_lstat(uint32_t id, Reader& r);
  void do_fstat(uint32_t id, Reader& r);
  void do_setstat(uint32_t id, Reader& r);
  void do_fsetstat(uint32_t id, Reader& r);
  void do_opendir(uint32_t id, Reader& r);
  void do_readdir(uint32_t id, Reader& r);
  void do_remove(uint32_t id, Reader& r);
  void do_mkdir(uint32_t id, Reader& r);
  void do_rmdir(uint32_t id, Reader& r);
  void do_realpath(uint32_t id, Reader& r);
  void do_stat(uint32_t id, Reader& r);
  void do_rename(uint32_t id, Reader& r);
  void do_readlink(uint32_t id, Reader& r);
  void do_symlink(uint32_t id, Reader& r);
  void do_posix_rename(uint32_t id, Reader& r);
  void do_statvfs(uint32_t id, Reader& r);
  void do_fstatvfs(uint32_t id, Reader& r);
  void do_hardlink(uint32_t id, Reader& r);
  void do_fsync(uint32_t id, Reader& r);
  void do_lsetstat(uint32_t id, Reader& r);
  void do_limits(uint32_t id, Reader& r);
  void do_expand_path(uint32_t id, Reader& r);
  void do_copy_data(uint32_t id, Reader& r);
  void do_home_directory(uint32_t id, Reader& r);
  void do_users_groups_by_id(uint32_t id, Reader& r);

  void stat_common(uint32_t id, Reader& r, bool follow, const char* what);
  void setstat_common(uint32_t id, const std::string& path, int fd, const Attrs& a, bool follow);

  // Reads a path string and makes it absolute against the start directory. Throws
  // ProtocolError (answered with SSH_FX_BAD_MESSAGE) for a path with a NUL byte.
  std::string read_path(Reader& r);
  std::string absolute(std::string_view path) const;
  // realpath(3), except that the last component may be missing (the client asks for the
  // canonical name of a file it is about to create). Sets err to an errno value on failure.
  std::string canonical(const std::string& path, int& err) const;
  std::string home_of(std::string_view user, int& err) const;

  // Replies. A reply is built in m_reply and then framed into m_out.
  Writer& begin_packet(uint8_t type);
  Writer& begin_reply(uint8_t type, uint32_t id);
  void end_reply();
  void send_status(uint32_t id, uint32_t code, const char* message = nullptr);
  void send_errno(uint32_t id, int err);
  void send_handle(uint32_t id, const uint8_t (&name)[kHandleSize]);
  void send_attrs(uint32_t id, const struct stat& st);
  void send_single_name(uint32_t id, const std::string& name);
  void write_statvfs(uint32_t id, const struct statvfs& st);

  ServerOptions m_options;
  std::string m_cwd;
  HandleTable m_handles;
  NameCache m_names;
  bool m_initialised = false;
  ByteBuffer m_in;
  ByteBuffer m_out;
  Bytes m_reply_bytes;
  Writer m_reply{m_reply_bytes};
  Bytes m_copy_buffer;
  size_t m_output_limit = kOutputHighWater;
};

// The status code OpenSSH reports for an errno value (draft §7 has only a few codes).
uint32_t status_from_errno(int err);

}  // namespace postern::sftp
