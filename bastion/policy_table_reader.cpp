// Reading one bastion.toml table: typed values, each checked, each error at its file and line.
#include "bastion/policy_table_reader.h"

#include <algorithm>

#include "bastion/policy_values.h"
#include "common/authorized_keys.h"
#include "common/bytes.h"

namespace postern::bastion::detail {
namespace {

// `line` with its key data (the token after the key type) replaced by a blob that names the
// type and nothing else, so parse_authorized_keys_line judges only the options and the type.
// The options field ends at the first blank outside double quotes (sshd(8) AUTHORIZED_KEYS
// FILE FORMAT); a key type starts "ssh-", "ecdsa-" or "sk-".
std::string with_placeholder_key_data(std::string_view line) {
  std::vector<std::string_view> tokens;
  size_t i = 0;
  while (i < line.size() && tokens.size() < 3) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    bool quoted = false;
    for (; i < line.size() && (quoted || (line[i] != ' ' && line[i] != '\t')); ++i) {
      if (line[i] == '\\' && quoted && i + 1 < line.size())
        ++i;
      else if (line[i] == '"')
        quoted = !quoted;
    }
    if (i > start) tokens.push_back(line.substr(start, i - start));
  }
  auto is_type = [](std::string_view t) {
    return t.rfind("ssh-", 0) == 0 || t.rfind("ecdsa-", 0) == 0 || t.rfind("sk-", 0) == 0;
  };
  size_t type = !tokens.empty() && is_type(tokens[0]) ? 0 : 1;
  if (tokens.size() < type + 2) return std::string(line);  // the parser says what is missing
  if (tokens[type].size() > 255) return std::string(line);
  Bytes blob = {0, 0, 0, static_cast<uint8_t>(tokens[type].size())};
  blob.insert(blob.end(), tokens[type].begin(), tokens[type].end());
  std::string out;
  for (size_t t = 0; t <= type; ++t) out += std::string(tokens[t]) + " ";
  return out + base64_encode(blob);
}

}  // namespace

int line_of(const toml::node& n) {
  return static_cast<int>(n.source().begin.line);
}

void TableReader::only(std::initializer_list<std::string_view> keys) const {
  for (auto&& [key, node] : m_table) {
    (void)node;
    if (std::find(keys.begin(), keys.end(), key.str()) == keys.end())
      fail(static_cast<int>(key.source().begin.line), "", "unknown key " + quote_text(key.str()));
  }
}

int TableReader::line(std::string_view key) const {
  const toml::node* n = m_table.get(key);
  return n ? line_of(*n) : line();
}

void TableReader::fail(int line, std::string_view key, const std::string& what) const {
  std::string msg = m_path + ":" + std::to_string(line) + ": ";
  if (!m_what.empty()) msg += m_what + ": ";
  if (!key.empty()) msg += std::string(key) + ": ";
  throw LoadError{msg + what};
}

std::optional<Item> TableReader::string(std::string_view key, bool required) const {
  const toml::node* n = m_table.get(key);
  if (!n) {
    if (required) fail(line(), "", "missing key " + std::string(key));
    return std::nullopt;
  }
  const auto* s = n->as_string();
  if (!s) fail(line_of(*n), key, "expected a string");
  return Item{s->get(), line_of(*n)};
}

std::vector<Item> TableReader::strings(std::string_view key, bool required) const {
  const toml::node* n = m_table.get(key);
  if (!n) {
    if (required) fail(line(), "", "missing key " + std::string(key));
    return {};
  }
  const toml::array* a = n->as_array();
  if (!a) fail(line_of(*n), key, "expected an array of strings");
  std::vector<Item> out;
  for (const toml::node& e : *a) {
    const auto* s = e.as_string();
    if (!s) fail(line_of(e), key, "expected an array of strings");
    out.push_back({s->get(), line_of(e)});
  }
  return out;
}

std::optional<int64_t> TableReader::integer(std::string_view key) const {
  const toml::node* n = m_table.get(key);
  if (!n) return std::nullopt;
  const auto* i = n->as_integer();
  if (!i) fail(line_of(*n), key, "expected an integer");
  return i->get();
}

std::optional<bool> TableReader::boolean(std::string_view key) const {
  const toml::node* n = m_table.get(key);
  if (!n) return std::nullopt;
  const auto* b = n->as_boolean();
  if (!b) fail(line_of(*n), key, "expected true or false");
  return b->get();
}

std::string TableReader::name() const {
  Item n = *string("name", true);
  if (!detail::is_name(n.value))
    fail(n.line, "name",
         "not a valid name " + quote_text(n.value) +
             " (printable ASCII without space, '%', '@' or ':')");
  return n.value;
}

void TableReader::path(std::string_view key, std::string& out) const {
  if (auto p = string(key)) out = checked_path(*p, key);
}

std::string TableReader::checked_path(const Item& p, std::string_view key) const {
  if (p.value.empty() || p.value.front() != '/')
    fail(p.line, key, "not an absolute path: " + quote_text(p.value));
  for (char c : p.value)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      fail(p.line, key, "control character in " + quote_text(p.value));
  return p.value;
}

void TableReader::size(std::string_view key, uint64_t& out, uint64_t lo) const {
  const toml::node* n = m_table.get(key);
  if (!n) return;
  std::optional<uint64_t> v;
  if (const auto* s = n->as_string()) {
    v = detail::parse_size(s->get());
    if (!v) fail(line_of(*n), key, "not a size: " + quote_text(s->get()) + " (e.g. \"64M\")");
  } else if (const auto* i = n->as_integer()) {
    if (i->get() >= 0) v = detail::parse_size(std::to_string(i->get()));
  } else {
    fail(line_of(*n), key, "expected a size string");
  }
  if (!v || *v < lo)
    fail(line_of(*n), key, "out of range (" + std::to_string(lo) + " bytes to 1024T)");
  out = *v;
}

void TableReader::duration(std::string_view key, uint32_t& out, uint32_t lo, uint32_t hi) const {
  const toml::node* n = m_table.get(key);
  if (!n) return;
  std::optional<uint32_t> v;
  if (const auto* s = n->as_string()) {
    v = detail::parse_duration(s->get());
    if (!v) fail(line_of(*n), key, "not a duration: " + quote_text(s->get()) + " (e.g. \"5m\")");
  } else if (const auto* i = n->as_integer()) {
    if (i->get() >= 0 && i->get() <= UINT32_MAX) v = static_cast<uint32_t>(i->get());
  } else {
    fail(line_of(*n), key, "expected a duration string");
  }
  if (!v || *v < lo || *v > hi)
    fail(line_of(*n), key,
         "out of range (" + std::to_string(lo) + " to " + std::to_string(hi) + " seconds)");
  out = *v;
}

std::vector<std::string> TableReader::keys(std::string_view key) const {
  std::vector<std::string> out;
  for (const Item& k : strings(key)) {
    auto parsed = parse_authorized_keys_line(k.value);
    if (!parsed) parsed = parse_authorized_keys_line(with_placeholder_key_data(k.value));
    if (!parsed) fail(k.line, key, "not an authorized_keys line: " + parsed.error().message);
    if (!*parsed) fail(k.line, key, "empty or a comment, not a key");
    out.push_back(k.value);
  }
  return out;
}

}  // namespace postern::bastion::detail
