// A channel whose other end is a stream socket: direct-tcpip and direct-streamlocal (the client
// asked us to connect somewhere), forwarded-tcpip, forwarded-streamlocal and auth-agent (we
// accepted a connection and opened the channel to the client). RFC 4254 §7 and OpenSSH's
// PROTOCOL §2.4-2.5. Data goes straight between the decrypted packet and the socket; what the
// socket cannot take waits in a queue bounded by the window we advertise.
#pragma once

#include <sys/socket.h>

#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "session/byte_queue.h"
#include "session/channel.h"

namespace postern::session {

class ForwardChannel final : public Channel {
 public:
  enum class State {
    kConnecting,       // client-opened; the connect is in progress, no reply sent yet
    kAwaitingConfirm,  // we opened it; waiting for OPEN_CONFIRMATION
    kOpen,
    kDead,  // the open failed: nothing more to send or receive
  };

  // `description` names the channel in log lines ("direct-tcpip", ...).
  ForwardChannel(PacketSink& out, Bytes& scratch, uint32_t local_id, uint32_t remote_id,
                 uint32_t remote_window, uint32_t remote_max_packet, std::string description);
  ~ForwardChannel() override;

  // Client-opened TCP: resolve `host` and connect without blocking, trying each address.
  // Returns false (OPEN_FAILURE already sent) when nothing could even be tried.
  bool connect_tcp(const std::string& host, uint32_t port);
  // Client-opened Unix socket: connect to `path`. Returns false after sending OPEN_FAILURE.
  bool connect_unix(const std::string& path);
  // Server-opened: `fd` is an accepted connection; CHANNEL_OPEN has been sent.
  void attach(UniqueFd fd);
  void open_confirmed(uint32_t remote_id, uint32_t window, uint32_t max_packet);
  void open_failed();

  State state() const { return m_state; }
  bool finished() const override;

  void handle_request(std::string_view type, bool want_reply, ByteView args) override;
  void add_pollfds(PollSet& set) override;
  void on_poll(int tag, short revents) override;

 protected:
  void on_data(ByteView data) override;
  void on_eof() override;
  void on_close() override;

 private:
  enum Tag { kTagConnect, kTagRead, kTagWrite };

  bool try_next_address();
  void connect_done();
  void fail_open(uint32_t reason, const std::string& why);
  void confirm_open();
  void flush_output();
  void write_failed();
  void read_socket();
  void maybe_close();

  std::string m_description;
  State m_state = State::kOpen;
  UniqueFd m_fd;
  // Addresses still to try for a TCP connect (OpenSSH tries them all before failing).
  std::vector<std::pair<sockaddr_storage, socklen_t>> m_addrs;
  size_t m_next_addr = 0;
  std::string m_host;
  uint32_t m_port = 0;
  int m_last_errno = 0;
  ByteQueue m_to_socket;
  bool m_read_done = false;   // the socket said EOF; our EOF is sent
  bool m_write_done = false;  // shut down or failed
};

}  // namespace postern::session
