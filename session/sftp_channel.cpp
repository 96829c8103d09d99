#include "session/sftp_channel.h"

#include <sys/stat.h>

#include <algorithm>

#include "common/protocol_error.h"
#include "sftp-server/options.h"
#include "sftp-server/server.h"

namespace postern::session {

bool is_internal_sftp(std::string_view command) {
  constexpr std::string_view kName = "internal-sftp";
  if (command.substr(0, kName.size()) != kName) return false;
  return command.size() == kName.size() || command[kName.size()] == ' ' ||
         command[kName.size()] == '\t';
}

std::vector<std::string> split_command_words(std::string_view command) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < command.size(); ++i) {
    char c = command[i];
    if (quote) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < command.size() &&
                 (command[i + 1] == '"' || command[i + 1] == '\\')) {
        word += command[++i];
      } else {
        word += c;
      }
      continue;
    }
    if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '\\' && i + 1 < command.size()) {
      word += command[++i];
    } else {
      word += c;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

// The server's log level and umask hold while it runs; the session's come back afterwards, so
// neither leaks into the session's other channels or the children they start.
class SftpChannel::Scope {
 public:
  explicit Scope(const SftpChannel& c)
      : m_level(log_set_level(c.m_log_level)),
        m_facility(log_set_facility_override(c.m_log_facility)) {
    if (c.m_umask) m_umask = ::umask(*c.m_umask);
  }
  ~Scope() {
    log_set_level(m_level);
    log_set_facility_override(m_facility);
    if (m_umask) ::umask(*m_umask);
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  LogLevel m_level;
  int m_facility;
  std::optional<mode_t> m_umask;
};

SftpChannel::SftpChannel(Io io, LogLevel level, std::optional<mode_t> umask)
    : m_io(std::move(io)), m_log_level(level), m_umask(umask) {}

Result<std::unique_ptr<SftpChannel>> SftpChannel::start(std::string_view command,
                                                        const Account& user,
                                                        const ConnectionEnds& peer, Io io) {
  std::vector<std::string> words = split_command_words(command);
  if (words.empty() || words[0] != "internal-sftp")
    return Unexpected("not an internal-sftp command line");
  words.erase(words.begin());
  auto in = sftp::internal_sftp_options(words, user.name, user.home, peer.remote.address);
  if (!in) return Unexpected(in.error());
  // The umask is ours to apply around the server's calls, not the server's to set for good.
  std::optional<mode_t> umask = in->options.umask;
  in->options.umask.reset();
  std::unique_ptr<SftpChannel> c(new SftpChannel(std::move(io), in->log_level, umask));
  // -f: the monitor writes the server's lines with this facility (common/log.h).
  if (in->log_facility_given) c->m_log_facility = in->log_facility;
  {
    Scope scope(*c);
    c->m_server = std::make_unique<sftp::Server>(std::move(in->options));
  }
  return c;
}

std::unique_ptr<SftpChannel> SftpChannel::refuse_non_sftp(Io io) {
  std::unique_ptr<SftpChannel> c(new SftpChannel(std::move(io), LogLevel::kError, std::nullopt));
  c->m_refusal = "This service allows sftp connections only.\n";
  return c;
}

SftpChannel::~SftpChannel() {
  if (!m_server) return;
  // The server logs the handles it closes and "session closed".
  Scope scope(*this);
  m_server.reset();
}

void SftpChannel::received(ByteView data) {
  if (!m_server) {
    m_io.consumed(data.size());
    return;
  }
  m_held_window += data.size();
  {
    Scope scope(*this);
    try {
      m_server->received_data(data);
    } catch (const ProtocolError& e) {
      fail(e.what());
      return;
    }
  }
  pump();
}

void SftpChannel::received_eof() {
  m_eof = true;
  pump();
}

void SftpChannel::pump() {
  if (!m_refusal.empty()) {
    size_t n = std::min(m_io.send_room(), m_refusal.size());
    if (n > 0) {
      m_io.send(ByteView(reinterpret_cast<const uint8_t*>(m_refusal.data()), n));
      m_refusal.erase(0, n);
    }
    if (m_refusal.empty()) m_exit_status = 1;
    return;
  }
  if (!m_server) return;
  {
    Scope scope(*this);
    try {
      run_server();
    } catch (const ProtocolError& e) {
      fail(e.what());
      return;
    }
    // The window reopens only once the server takes input again: a client that pipelines
    // faster than its replies drain waits for them instead of filling our memory.
    if (m_held_window > 0 && m_server->wants_input()) {
      m_io.consumed(m_held_window);
      m_held_window = 0;
    }
    if (m_eof && m_server->output().empty() && m_server->wants_input()) {
      // Everything the client sent before EOF has run and been answered; a partial request
      // left over is dropped, as sftp-server does at the end of its input.
      m_server.reset();
      m_exit_status = 0;
    }
  }
  if (m_exit_status && m_held_window > 0) {
    m_io.consumed(m_held_window);
    m_held_window = 0;
  }
}

void SftpChannel::run_server() {
  for (;;) {
    for (ByteView out = m_server->output(); !out.empty(); out = m_server->output()) {
      size_t n = std::min(m_io.send_room(), out.size());
      if (n == 0) return;
      m_io.send(out.first(n));
      m_server->consume_output(n);
    }
    // All replies are out: run what the backlog held back, if anything.
    if (!m_server->has_unprocessed_input()) return;
    m_server->process();
    if (m_server->output().empty()) return;  // only a partial request is left
  }
}

void SftpChannel::fail(const char* why) {
  log_error("internal-sftp: %s", why);
  {
    Scope scope(*this);
    m_server.reset();
  }
  m_exit_status = 255;
  m_io.consumed(m_held_window);
  m_held_window = 0;
}

}  // namespace postern::session
