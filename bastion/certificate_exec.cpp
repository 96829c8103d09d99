#include "bastion/certificate_exec.h"

#include <algorithm>

#include "common/ssh_msg.h"
#include "common/wire.h"
#include "session/connection_messages.h"

namespace postern::bastion {

using namespace postern::session;

CertificateExec::CertificateExec(PacketSink& client, uint32_t client_id, uint32_t client_window,
                                 uint32_t client_max_packet, CertificateCommand command,
                                 Issuer issuer)
    : m_client(client),
      m_client_id(client_id),
      m_client_window(client_window),
      m_client_max_packet(client_max_packet),
      m_command(std::move(command)),
      m_issuer(std::move(issuer)) {}

void CertificateExec::start() {
  m_reading = true;
  m_client.send(encode(ChannelWindowAdjustMsg{m_client_id, uint32_t(kMaxKeyInput + 1)}));
}

void CertificateExec::on_data(ByteView data) {
  // RFC 4254 §5.2: the client may not send beyond the window we gave.
  if (!m_reading || m_input.size() + data.size() > kMaxKeyInput + 1)
    throw ProtocolError("channel data beyond the window");
  m_input.append(reinterpret_cast<const char*>(data.data()), data.size());
  if (m_input.size() > kMaxKeyInput) {
    m_reading = false;
    m_input.clear();
    refuse("postern: the key is longer than " + std::to_string(kMaxKeyInput) + " bytes");
  }
}

void CertificateExec::on_eof() {
  if (!m_reading) return;
  m_reading = false;
  answer();
}

void CertificateExec::answer() {
  auto key = parse_key_input(m_input);
  m_input.clear();
  if (!key) return refuse("postern: " + key.error().message);
  Answer a = m_issuer(m_command, key->blob);
  if (!a.issued) return refuse(a.message.empty() ? "postern: refused" : a.message);
  // The certificate line as ssh-keygen -s writes it: type, base64, the key's comment.
  Reader r(a.certificate);
  std::string line = std::string(r.text(64)) + " " + base64_encode(a.certificate);
  if (!key->comment.empty()) line += " " + key->comment;
  finish(line + "\n", "", 0);
}

void CertificateExec::refuse(const std::string& line) {
  std::string text;
  for (char c : line.substr(0, 1024)) text += (c >= 0x20 && c < 0x7f) ? c : '?';
  finish("", text + "\n", 1);
}

void CertificateExec::finish(std::string out, std::string err, uint32_t status) {
  if (m_answered) return;
  m_answered = true;
  m_reading = false;
  m_stdout = std::move(out);
  m_stderr = std::move(err);
  m_exit_status = status;
  flush();
}

void CertificateExec::on_window_adjust(uint32_t bytes) {
  uint64_t w = uint64_t(m_client_window) + bytes;
  if (w > UINT32_MAX) throw ProtocolError("channel window beyond 2^32 - 1");
  m_client_window = uint32_t(w);
  flush();
}

void CertificateExec::flush() {
  if (!m_answered || m_closed) return;
  // RFC 4254 §5.2: no more than the window, no packet over the maximum the client named.
  size_t max_chunk = std::max<uint32_t>(m_client_max_packet, 1024) - kExtendedDataHeaderSize;
  auto send_some = [&](std::string& text, bool stderr_stream) {
    while (!text.empty() && m_client_window > 0) {
      size_t n = std::min({text.size(), size_t(m_client_window), max_chunk});
      Writer w;
      if (stderr_stream)
        w.u8(kMsgChannelExtendedData).u32(m_client_id).u32(kExtendedDataStderr);
      else
        w.u8(kMsgChannelData).u32(m_client_id);
      w.string(std::string_view(text).substr(0, n));
      m_client.send(w.buffer());
      text.erase(0, n);
      m_client_window -= uint32_t(n);
    }
  };
  send_some(m_stdout, false);
  send_some(m_stderr, true);
  if (!m_stdout.empty() || !m_stderr.empty()) return;
  Writer status;  // RFC 4254 §6.10
  status.u8(kMsgChannelRequest)
      .u32(m_client_id)
      .string("exit-status")
      .boolean(false)
      .u32(m_exit_status);
  m_client.send(status.buffer());
  m_client.send(encode(ChannelEofMsg{m_client_id}));
  m_client.send(encode(ChannelCloseMsg{m_client_id}));
  m_closed = true;
}

}  // namespace postern::bastion
