// The session channel of `ssh bastion certificate TARGETUSER@TARGET < id.pub` in jump mode
// (certificate_command.h): after the exec request it opens a window for the key, reads stdin
// until EOF (at most kMaxKeyInput bytes), asks the monitor through an Issuer, and answers the
// way a command would: the certificate line on stdout and exit-status 0, or one line on stderr
// and exit-status 1; then EOF and CLOSE (RFC 4254 §5.3, §6.10). Output waits for the client's
// window and is cut to its maximum packet size. No I/O of its own: messages go to a PacketSink.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "bastion/certificate_command.h"
#include "common/bytes.h"
#include "session/packet_sink.h"

namespace postern::bastion {

class CertificateExec {
 public:
  // The monitor's answer: the certificate blob, or a one-line refusal.
  struct Answer {
    bool issued = false;
    std::string message;
    Bytes certificate;
  };
  using Issuer = std::function<Answer(const CertificateCommand&, const Bytes& key_blob)>;

  CertificateExec(session::PacketSink& client, uint32_t client_id, uint32_t client_window,
                  uint32_t client_max_packet, CertificateCommand command, Issuer issuer);

  // After the exec request's success reply: the window for the key (kMaxKeyInput + 1, so one
  // byte too many is seen as too many, not as a stall).
  void start();
  void on_data(ByteView data);
  void on_eof();
  void on_window_adjust(uint32_t bytes);
  // A refusal decided before any input (a malformed command): stderr line, exit-status 1.
  void refuse(const std::string& line);

  // Our CLOSE went: only the client's CLOSE is left to come.
  bool closed() const { return m_closed; }

 private:
  void answer();
  void finish(std::string out, std::string err, uint32_t status);
  void flush();

  session::PacketSink& m_client;
  uint32_t m_client_id;
  uint32_t m_client_window;
  uint32_t m_client_max_packet;
  CertificateCommand m_command;
  Issuer m_issuer;
  std::string m_input;
  bool m_reading = false;  // the window is open and EOF has not come
  bool m_answered = false;
  std::string m_stdout, m_stderr;  // what is left to send
  uint32_t m_exit_status = 0;
  bool m_closed = false;
};

}  // namespace postern::bastion
