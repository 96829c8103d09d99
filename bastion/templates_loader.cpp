// templates.json: a JSON array of objects, the JSON form of PrivX's certificate templates
// (../shared/BASTION.md "Files"). The fields of one object:
//
//   name                 required, unique, 1..253 bytes of printable text (spaces allowed)
//   type                 required: "openssh", or the name of another template it derives from
//   description          optional text
//   service              optional; "SSH" (the only service postern issues for)
//   key_id               string; may hold the tokens %H %R %S %P %%
//   principals           array of strings, tokens as key_id; [] means the target user
//   extensions           array of "name" or "name=value" (value may hold tokens)
//   rsa_signature_types  optional array of rsa-sha2-512 | rsa-sha2-256 | ssh-rsa; empty: the
//                        issuer's default
//
// key_id, principals and extensions are required of a template of type "openssh" (a root).
// Derivation: a template whose type names another inherits every field it does not give from
// that template, after that one's own derivation; a field it gives replaces the inherited one
// whole (lists are not merged, so "extensions": [] means none). Chains end at an "openssh"
// root; a cycle or an unknown name is an error. Any other field is an error: a misspelt field
// must not silently give a wider certificate.
#include "bastion/templates_loader.h"

#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "bastion/policy_values.h"

namespace postern::bastion {
namespace {

using detail::quote_text;
using nlohmann::json;

// Reads `text` for nlohmann's parser while counting the lines it has consumed, so the parser's
// callback knows the line of the object or key it reports (the lexer reads no further than the
// '{' or the key's closing quote before it calls back).
class LineCountingIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  LineCountingIterator(const char* p, int* line) : m_p(p), m_line(line) {}
  reference operator*() const { return *m_p; }
  LineCountingIterator& operator++() {
    if (*m_p == '\n') ++*m_line;
    ++m_p;
    return *this;
  }
  LineCountingIterator operator++(int) {
    LineCountingIterator old = *this;
    ++*this;
    return old;
  }
  bool operator==(const LineCountingIterator& o) const { return m_p == o.m_p; }
  bool operator!=(const LineCountingIterator& o) const { return m_p != o.m_p; }

 private:
  const char* m_p;
  int* m_line;
};

// Where each template object and each of its keys starts.
struct Lines {
  std::vector<int> object;  // by index in the array
  std::vector<std::map<std::string, int>> key;
  std::string duplicate;  // set for the first duplicated field
  int duplicate_line = 0;
};

struct LoadError {
  std::string message;
};

class TemplateReader {
 public:
  TemplateReader(const std::string& path, const Lines& lines) : m_path(path), m_lines(lines) {}

  [[noreturn]] void fail(size_t index, std::string_view field, const std::string& what) const {
    fail_named(index, m_name, field, what);
  }
  [[noreturn]] void fail_named(size_t index, const std::string& name, std::string_view field,
                               const std::string& what) const {
    int line = m_lines.object[index];
    if (!field.empty()) {
      auto it = m_lines.key[index].find(std::string(field));
      if (it != m_lines.key[index].end()) line = it->second;
    }
    std::string where =
        name.empty() ? "template #" + std::to_string(index + 1) : "template " + quote_text(name);
    std::string msg = m_path + ":" + std::to_string(line) + ": " + where + ": ";
    if (!field.empty()) msg += std::string(field) + ": ";
    throw LoadError{msg + what};
  }

  // One object of the array; `given` collects the fields it gives, for derivation.
  CertTemplate read(size_t index, const json& obj, std::set<std::string>& given) {
    m_name.clear();
    if (!obj.is_object()) fail(index, "", "expected an object");
    CertTemplate t;
    t.name = text(index, obj, "name", true);
    // Only bastion.toml refers to a template name, so it may hold spaces ("GitHub Enterprise").
    if (t.name.empty() || t.name.size() > detail::kMaxNameLength)
      fail(index, "name", "empty or longer than " + std::to_string(detail::kMaxNameLength));
    m_name = t.name;
    static const std::set<std::string> kFields = {
        "name",   "description", "service",    "type",
        "key_id", "principals",  "extensions", "rsa_signature_types"};
    for (auto it = obj.begin(); it != obj.end(); ++it)
      if (!kFields.count(it.key())) fail(index, it.key(), "unknown field " + quote_text(it.key()));
    t.type = text(index, obj, "type", true);
    t.description = text(index, obj, "description", false);
    t.service = text(index, obj, "service", false);
    if (obj.contains("service") && t.service != "SSH")
      fail(index, "service", "unsupported service " + quote_text(t.service) + " (only \"SSH\")");
    bool root = t.type == "openssh";
    t.key_id = text(index, obj, "key_id", root);
    check_tokens(index, "key_id", t.key_id);
    t.principals = list(index, obj, "principals", root);
    for (const auto& p : t.principals) check_tokens(index, "principals", p);
    t.extensions = list(index, obj, "extensions", root);
    for (const auto& e : t.extensions) {
      if (e.empty() || e.front() == '=') fail(index, "extensions", "empty extension name");
      check_tokens(index, "extensions", e);
    }
    t.rsa_signature_types = list(index, obj, "rsa_signature_types", false);
    for (const auto& s : t.rsa_signature_types)
      if (s != "rsa-sha2-512" && s != "rsa-sha2-256" && s != "ssh-rsa")
        fail(index, "rsa_signature_types", "unknown signature type " + quote_text(s));
    for (auto it = obj.begin(); it != obj.end(); ++it) given.insert(it.key());
    return t;
  }

 private:
  std::string text(size_t index, const json& obj, const char* field, bool required) const {
    auto it = obj.find(field);
    if (it == obj.end()) {
      if (required) fail(index, "", std::string("missing field ") + field);
      return "";
    }
    if (!it->is_string()) fail(index, field, "expected a string");
    std::string s = it->get<std::string>();
    for (char c : s)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
        fail(index, field, "control character in " + quote_text(s));
    return s;
  }

  std::vector<std::string> list(size_t index, const json& obj, const char* field,
                                bool required) const {
    auto it = obj.find(field);
    if (it == obj.end()) {
      if (required) fail(index, "", std::string("missing field ") + field);
      return {};
    }
    if (!it->is_array()) fail(index, field, "expected an array of strings");
    std::vector<std::string> out;
    for (const json& e : *it) {
      if (!e.is_string()) fail(index, field, "expected an array of strings");
      out.push_back(e.get<std::string>());
      for (char c : out.back())
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
          fail(index, field, "control character in " + quote_text(out.back()));
    }
    return out;
  }

  void check_tokens(size_t index, const char* field, const std::string& s) const {
    if (auto bad = detail::bad_template_token(s))
      fail(index, field, "unknown token " + quote_text(*bad) + " (allowed: %H %R %S %P %%)");
  }

  const std::string& m_path;
  const Lines& m_lines;
  std::string m_name;
};

// Longest chain of derivations; a bound keeps the recursion below shallow.
constexpr size_t kMaxDerivation = 16;

struct Resolver {
  std::vector<CertTemplate>& ts;
  const std::vector<std::set<std::string>>& given;
  const std::map<std::string, size_t>& by_name;
  const TemplateReader& reader;
  std::vector<int> state;     // 1: being resolved, 2: done; meeting a 1 again closes a cycle
  std::vector<size_t> depth;  // of a resolved template: 0 for a root
  std::vector<size_t> chain;

  [[noreturn]] void fail_chain(size_t i, const std::string& what) {
    std::string path;
    for (size_t k : chain) path += (path.empty() ? "" : " -> ") + quote_text(ts[k].name);
    reader.fail_named(i, ts[i].name, "type", what + " " + path);
  }

  // Fills in what ts[i] inherits along its chain of types.
  void resolve(size_t i) {
    if (state[i] == 2) return;
    chain.push_back(i);
    if (state[i] == 1) fail_chain(chain.front(), "derivation cycle");
    if (chain.size() > kMaxDerivation + 1)
      reader.fail_named(chain.front(), ts[chain.front()].name, "type",
                        "derivation chain longer than " + std::to_string(kMaxDerivation));
    state[i] = 1;
    if (ts[i].type != "openssh") {
      auto found = by_name.find(ts[i].type);
      if (found == by_name.end())
        reader.fail_named(i, ts[i].name, "type",
                          "not \"openssh\" nor a template name: " + quote_text(ts[i].type));
      size_t base = found->second;
      resolve(base);
      depth[i] = depth[base] + 1;
      if (depth[i] > kMaxDerivation)
        reader.fail_named(i, ts[i].name, "type",
                          "derivation chain longer than " + std::to_string(kMaxDerivation));
      const CertTemplate& b = ts[base];
      CertTemplate& t = ts[i];
      auto inherit = [&](const char* field, auto& mine, const auto& theirs) {
        if (!given[i].count(field)) mine = theirs;
      };
      inherit("description", t.description, b.description);
      inherit("service", t.service, b.service);
      inherit("key_id", t.key_id, b.key_id);
      inherit("principals", t.principals, b.principals);
      inherit("extensions", t.extensions, b.extensions);
      inherit("rsa_signature_types", t.rsa_signature_types, b.rsa_signature_types);
    }
    state[i] = 2;
    chain.pop_back();
  }
};

}  // namespace

Result<std::vector<CertTemplate>> parse_templates(std::string_view text, const std::string& path) {
  int line = 1;
  Lines lines;
  // depth 1: an object of the top-level array; depth 2: a key of such an object.
  auto note = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 1 && event == json::parse_event_t::object_start) {
      lines.object.push_back(line);
      lines.key.emplace_back();
    } else if (depth == 2 && event == json::parse_event_t::key && !lines.key.empty()) {
      std::string key = parsed.get<std::string>();
      if (!lines.key.back().emplace(key, line).second && lines.duplicate.empty()) {
        lines.duplicate = key;
        lines.duplicate_line = line;
      }
    }
    return true;
  };
  json doc;
  try {
    LineCountingIterator first(text.data(), &line), last(text.data() + text.size(), &line);
    doc = json::parse(first, last, note);
  } catch (const json::parse_error& e) {
    // e.byte is 1-based; count lines and columns up to it ourselves.
    size_t end = std::min<size_t>(e.byte, text.size());
    int l = 1, col = 1;
    for (size_t k = 0; k + 1 < end; ++k, ++col)
      if (text[k] == '\n') ++l, col = 0;
    std::string what = e.what();
    size_t colon = what.rfind(": ");
    if (colon != what.npos) what = what.substr(colon + 2);
    return Unexpected(path + ":" + std::to_string(l) + ":" + std::to_string(col) + ": " + what);
  } catch (const json::exception& e) {
    // Not a syntax error but still no document: a number out of range (out_of_range 406),
    // found by the bastion_policy fuzzer. The line is where the parser stopped (it reads one
    // character past the number).
    std::string what = e.what();
    size_t bracket = what.find("] ");
    if (bracket != what.npos) what = what.substr(bracket + 2);
    return Unexpected(path + ":" + std::to_string(line) + ": " + what);
  }
  if (!doc.is_array()) return Unexpected(path + ":1: expected a JSON array of template objects");
  // Only objects at depth 1 were noted; a non-object element is refused before lines are used.
  for (size_t i = 0; i < doc.size(); ++i)
    if (!doc[i].is_object())
      return Unexpected(path + ": element " + std::to_string(i + 1) + " is not an object");
  if (!lines.duplicate.empty())
    return Unexpected(path + ":" + std::to_string(lines.duplicate_line) + ": field " +
                      quote_text(lines.duplicate) + " given twice");
  TemplateReader reader(path, lines);
  try {
    std::vector<CertTemplate> ts;
    std::vector<std::set<std::string>> given(doc.size());
    std::map<std::string, size_t> by_name;
    for (size_t i = 0; i < doc.size(); ++i) {
      ts.push_back(reader.read(i, doc[i], given[i]));
      auto [it, added] = by_name.emplace(ts[i].name, i);
      if (!added)
        reader.fail(
            i, "name",
            "duplicate template name (also line " + std::to_string(lines.object[it->second]) + ")");
    }
    Resolver resolver{ts,
                      given,
                      by_name,
                      reader,
                      std::vector<int>(ts.size(), 0),
                      std::vector<size_t>(ts.size(), 0),
                      {}};
    for (size_t i = 0; i < ts.size(); ++i) {
      resolver.chain.clear();
      resolver.resolve(i);
    }
    return ts;
  } catch (const LoadError& e) {
    return Unexpected(e.message);
  }
}

}  // namespace postern::bastion
