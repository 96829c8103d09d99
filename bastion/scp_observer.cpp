#include "bastion/scp_observer.h"

#include <algorithm>

#include "common/wire.h"

namespace postern::bastion {

namespace {

// The command's PATH as the shell on the target reads it: quotes and backslashes removed, up to
// the first unquoted space.
std::string shell_word(std::string_view s) {
  std::string out;
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote == '\'') {
      if (c == '\'')
        quote = 0;
      else
        out += c;
    } else if (c == '\\' && i + 1 < s.size() &&
               (quote == 0 || s[i + 1] == '"' || s[i + 1] == '\\')) {
      out += s[++i];
    } else if (quote == '"') {
      if (c == '"')
        quote = 0;
      else
        out += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == ' ') {
      break;
    } else {
      out += c;
    }
  }
  return out;
}

std::string_view basename_of(std::string_view p) {
  while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  size_t slash = p.rfind('/');
  return slash == std::string_view::npos ? p : p.substr(slash + 1);
}

std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 200)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

}  // namespace

std::unique_ptr<ScpObserver> ScpObserver::for_command(std::string_view command,
                                                      FileEventSink& sink) {
  if (command.rfind("scp ", 0) != 0) return nullptr;
  std::string_view rest = command.substr(4);
  bool to = false, from = false, dir = false;
  while (!rest.empty()) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (rest.empty() || rest.front() != '-') break;
    size_t end = std::min(rest.find(' '), rest.size());
    std::string_view opt = rest.substr(0, end);
    rest.remove_prefix(end);
    if (opt == "--") break;
    to = to || opt.find('t') != std::string_view::npos;
    from = from || opt.find('f') != std::string_view::npos;
    dir = dir || opt.find('d') != std::string_view::npos;
  }
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  std::string path = shell_word(rest);
  if (to == from || path.empty()) return nullptr;
  auto o = std::unique_ptr<ScpObserver>(new ScpObserver(sink, to, bounded_path(path)));
  o->m_into_dir = dir || path.back() == '/';
  return o;
}

void ScpObserver::lose(const std::string& why) {
  if (m_lost) return;
  m_lost = true;
  m_digest.reset();
  m_dirs.clear();
  m_awaited.clear();
  m_sink.file_event({"lost", "", "", "", 0, "", "file-events lost: " + why});
}

void ScpObserver::feed(ByteView data, bool from_source) {
  try {
    while (!m_lost && !data.empty()) {
      if (from_source)
        source_bytes(data);
      else
        sink_bytes(data);
    }
  } catch (const std::exception& e) {
    lose(std::string("scp: ") + e.what());
  }
}

// Appends to `line` up to and including a newline; true when the line is complete.
static bool take_line(ByteView& data, std::string& line, bool& too_long) {
  auto nl = std::find(data.begin(), data.end(), uint8_t('\n'));
  size_t n = size_t(nl - data.begin());
  line.append(reinterpret_cast<const char*>(data.data()), n);
  too_long = line.size() > ScpObserver::kMaxLine;
  bool done = nl != data.end();
  data = data.subspan(done ? n + 1 : n);
  return done;
}

void ScpObserver::source_bytes(ByteView& data) {
  switch (m_source) {
    case Source::kLine:
    case Source::kSkipLine: {
      bool too_long = false;
      bool done = take_line(data, m_source_line, too_long);
      if (too_long) return lose("control line too long");
      if (!done) return;
      std::string line = std::move(m_source_line);
      m_source_line.clear();
      if (m_source == Source::kSkipLine) {
        m_source = Source::kLine;
        return;
      }
      return source_line(line);
    }
    case Source::kAwaitAnswer:
      return lose("the source went on before the sink answered");
    case Source::kData: {
      size_t n = size_t(std::min<uint64_t>(m_left, data.size()));
      if (m_digest) m_digest->update(data.first(n));
      m_bytes += n;
      m_left -= n;
      data = data.subspan(n);
      if (m_left == 0) m_source = Source::kDataEnd;
      return;
    }
    case Source::kDataEnd: {
      uint8_t b = data[0];
      data = data.subspan(1);
      if (b == 0) {
        m_source = Source::kAwaitAnswer;
        return await(Awaited::kFileData);
      }
      // The source could not read the whole file: its message line follows.
      m_digest.reset();
      m_sink.file_event({m_upload ? "write" : "read", m_file, "", "", m_bytes, "",
                         "error: the source failed while sending"});
      m_source = Source::kSkipLine;
      return;
    }
  }
}

void ScpObserver::source_line(const std::string& line) {
  if (line.empty()) return lose("empty control line");
  char kind = line[0];
  if (kind == 1 || kind == 2) {
    // The source's own error ("scp: /x: No such file or directory"); no answer follows.
    m_sink.file_event({"open", m_path, "", m_upload ? "flags=write" : "flags=read", 0, "",
                       "error: " + printable(line.substr(1))});
    return;
  }
  if (kind == 'E') {
    if (m_dirs.empty()) return lose("E without D");
    m_dirs.pop_back();
    m_source = Source::kAwaitAnswer;
    return await(Awaited::kLine);
  }
  if (kind == 'T') {
    m_source = Source::kAwaitAnswer;
    return await(Awaited::kLine);
  }
  if (kind != 'C' && kind != 'D') return lose("unknown control line");
  // "C0644 1234 name" / "D0755 0 name": four octal digits, a size, a name.
  size_t sp1 = line.find(' '), sp2 = sp1 == std::string::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 != 5 || sp2 == std::string::npos || sp2 == sp1 + 1 || sp2 + 1 >= line.size())
    return lose("malformed control line");
  uint64_t size = 0;
  for (size_t i = sp1 + 1; i < sp2; ++i) {
    if (line[i] < '0' || line[i] > '9' || size > (UINT64_MAX - 9) / 10)
      return lose("malformed size");
    size = size * 10 + uint64_t(line[i] - '0');
  }
  std::string name = line.substr(sp2 + 1);
  m_source = Source::kAwaitAnswer;
  if (kind == 'D') {
    if (m_dirs.size() >= kMaxDepth) return lose("directories too deep");
    m_dirs.push_back(bounded_path(name));
    return await(Awaited::kDir);
  }
  m_sent_name = bounded_path(name);
  m_file = file_path(m_sent_name);
  m_name_differs = m_dirs.empty() && basename_of(m_file) != m_sent_name;
  m_left = size;
  m_bytes = 0;
  m_digest = std::make_unique<StreamDigest>();
  await(Awaited::kFile);
}

// Where the file lands (-t) or comes from (-f). Inside D lines, under PATH; at the top, PATH
// itself when it names the file, else the file in PATH's directory (-f: a pattern matched it;
// -t with -d or a trailing '/': PATH is the directory). An upload to a PATH that may be either
// keeps PATH and says the name it was sent under.
std::string ScpObserver::file_path(const std::string& name) const {
  std::string base = m_path;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  if (!m_dirs.empty()) {
    for (const auto& d : m_dirs) base += "/" + d;
    return base + "/" + name;
  }
  if (basename_of(base) == name) return base;
  if (m_upload) return m_into_dir ? base + "/" + name : base;
  size_t slash = base.rfind('/');
  return slash == std::string::npos ? name : base.substr(0, slash + 1) + name;
}

void ScpObserver::await(Awaited a) {
  if (m_awaited.size() >= kMaxAwaited) return lose("too many answers outstanding");
  m_awaited.push_back(a);
}

void ScpObserver::sink_bytes(ByteView& data) {
  if (!m_sink_in_message) {
    uint8_t b = data[0];
    data = data.subspan(1);
    if (b == 0) return answer(true, "");
    if (b != 1 && b != 2) return lose("unexpected answer byte");
    m_sink_in_message = true;
  }
  bool too_long = false;
  bool done = take_line(data, m_sink_line, too_long);
  if (too_long) return lose("answer line too long");
  if (!done) return;
  m_sink_in_message = false;
  std::string message = std::move(m_sink_line);
  m_sink_line.clear();
  answer(false, message);
}

void ScpObserver::answer(bool ok, const std::string& message) {
  if (m_awaited.empty()) return lose("an answer to nothing");
  Awaited a = m_awaited.front();
  m_awaited.pop_front();
  std::string result = ok ? "ok" : "error: " + printable(message);
  std::string flags = m_upload ? "flags=write" : "flags=read";
  switch (a) {
    case Awaited::kStart:
      return;
    case Awaited::kLine:
      m_source = Source::kLine;
      return;
    case Awaited::kDir:
      if (!ok && !m_dirs.empty()) m_dirs.pop_back();
      m_source = Source::kLine;
      return;
    case Awaited::kFile:
      if (m_name_differs) flags += " name=" + m_sent_name;
      m_sink.file_event({"open", m_file, "", flags, 0, "", result});
      if (!ok) {
        m_digest.reset();
        m_source = Source::kLine;
        return;
      }
      m_source = m_left > 0 ? Source::kData : Source::kDataEnd;
      return;
    case Awaited::kFileData: {
      FileEvent e{m_upload ? "write" : "read", m_file, "", "", m_bytes, "", result};
      if (ok && m_digest) e.sha256 = m_digest->hex_final();
      m_digest.reset();
      m_sink.file_event(e);
      m_source = Source::kLine;
      return;
    }
  }
}

}  // namespace postern::bastion
