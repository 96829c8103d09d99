// bastion.toml (../shared/bastion/bastion.toml is the example every key here follows) and the
// reading of both policy files. Each table is read through a TableReader
// (policy_table_reader.h), so every error names its file, line and table. Errors are thrown as
// LoadError and become a Result at parse_policy, the one boundary.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "bastion/bounded_file.h"
#include "bastion/policy.h"
#include "bastion/policy_table_reader.h"
#include "bastion/policy_values.h"
#include "bastion/templates_loader.h"
#include "bastion/toml.h"
#include "bastion/totp.h"
#include "common/unique_fd.h"

namespace postern::bastion {
namespace {

using detail::Item;
using detail::line_of;
using detail::LoadError;
using detail::quote_text;
using detail::TableReader;

bool is_channel(std::string_view s) {
  return std::find(std::begin(kChannelKinds), std::end(kChannelKinds), s) !=
         std::end(kChannelKinds);
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A host glob in a role's targets: letters, digits, '-', '.', ':' (IPv6) and the wildcards.
bool is_host_glob(std::string_view s) {
  if (s.empty() || s.size() > detail::kMaxNameLength ||
      s.find_first_of("*?") == std::string_view::npos)
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == ':' || c == '*' || c == '?';
  });
}

class PolicyBuilder {
 public:
  PolicyBuilder(const std::string& path, const std::vector<CertTemplate>& templates,
                const std::string& templates_path)
      : m_path(path), m_templates(templates), m_templates_path(templates_path) {}

  Policy build(const toml::table& root) {
    Policy p;
    p.path = m_path;
    p.templates = m_templates;
    static const std::set<std::string_view> kArrays = {"user", "target", "extender", "role"};
    for (auto&& [key, node] : root) {
      int line = static_cast<int>(key.source().begin.line);
      if (key.str() == "bastion") {
        if (!node.is_table()) fail(line, "bastion: expected a table ([bastion])");
      } else if (kArrays.count(key.str())) {
        if (!node.is_array_of_tables())
          fail(line,
               std::string(key.str()) + ": expected tables ([[" + std::string(key.str()) + "]])");
      } else {
        fail(line, "unknown table or key " + quote_text(key.str()));
      }
    }
    if (const toml::table* t = root["bastion"].as_table()) read_settings(*t, p.bastion);
    // Extenders before targets (a target's via names one), targets before roles.
    for_each(root, "extender", [&](const toml::table& t) { p.extenders.push_back(extender(t)); });
    for_each(root, "user", [&](const toml::table& t) { p.users.push_back(user(t)); });
    m_extenders = &p.extenders;
    for_each(root, "target", [&](const toml::table& t) { p.targets.push_back(target(t)); });
    m_targets = &p.targets;
    for_each(root, "role", [&](const toml::table& t) { p.roles.push_back(role(t)); });
    return p;
  }

 private:
  [[noreturn]] void fail(int line, const std::string& what) const {
    throw LoadError{m_path + ":" + std::to_string(line) + ": " + what};
  }

  template <typename Fn>
  void for_each(const toml::table& root, std::string_view kind, Fn fn) {
    if (const toml::array* a = root[kind].as_array())
      for (const toml::node& n : *a) fn(*n.as_table());
  }

  // Names of one kind must be unique; users and extenders share one space (both log in).
  void unique(TableReader& r, const std::string& kind, const std::string& name) {
    auto [it, added] = m_names.emplace(kind + "\n" + name, r.line("name"));
    if (!added)
      r.fail("name", "duplicate " + kind + " name " + quote_text(name) + " (also line " +
                         std::to_string(it->second) + ")");
  }

  void read_settings(const toml::table& t, Settings& s) {
    TableReader r(m_path, t, "bastion");
    r.only({"ca_key", "templates", "known_hosts", "host_key_policy", "recordings", "audit_log",
            "proxy_listen", "certificate_validity", "record", "serial_file", "connect_timeout",
            "record_input", "record_max_bytes", "record_failure", "extender_sockets",
            "audit_database"});
    r.path("ca_key", s.ca_key);
    r.path("templates", s.templates);
    r.path("known_hosts", s.known_hosts);
    r.path("recordings", s.recordings);
    r.path("audit_log", s.audit_log);
    if (auto db = r.string("audit_database")) {
      const std::string& v = db->value;
      for (char c : v)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
          r.fail(db->line, "audit_database", "control character in " + quote_text(v));
      bool pg = v.starts_with("postgresql://") || v.starts_with("postgres://");
      if (v.starts_with("sqlite:"))
        r.checked_path(Item{v.substr(7), db->line}, "audit_database");
      else if (!pg && v != "off")
        r.fail(db->line, "audit_database",
               "expected \"sqlite:/path\", \"postgresql://...\" or \"off\", not " + quote_text(v));
      s.audit_database = v;
    }
    r.path("serial_file", s.serial_file);
    r.path("extender_sockets", s.extender_sockets);
    if (auto hk = r.string("host_key_policy")) {
      if (hk->value == "strict")
        s.host_key_policy = HostKeyPolicy::kStrict;
      else if (hk->value == "accept-new")
        s.host_key_policy = HostKeyPolicy::kAcceptNew;
      else
        r.fail(hk->line, "host_key_policy",
               "expected \"strict\" or \"accept-new\", not " + quote_text(hk->value));
    }
    if (r.has("proxy_listen")) {
      s.proxy_listen.clear();
      for (const Item& l : r.strings("proxy_listen")) {
        // An address alone listens on 1080, the port SOCKS clients assume (RFC 1928 §3).
        std::string with_port = l.value + ":1080";
        if (detail::is_listen_address(l.value))
          s.proxy_listen.push_back(l.value);
        else if (detail::is_listen_address(with_port))
          s.proxy_listen.push_back(with_port);
        else
          r.fail(l.line, "proxy_listen", "not address[:port]: " + quote_text(l.value));
      }
    }
    // A certificate lives from 1 second to a year; a target connection gets up to an hour.
    r.duration("certificate_validity", s.certificate_validity, 1, 366 * 86400);
    r.duration("connect_timeout", s.connect_timeout, 1, 3600);
    if (r.has("record")) {
      s.record.clear();
      for (const Item& k : r.strings("record")) {
        if (k.value != "shell" && k.value != "exec" && k.value != "sftp")
          r.fail(k.line, "record", "expected shell, exec or sftp, not " + quote_text(k.value));
        s.record.push_back(k.value);
      }
    }
    if (auto b = r.boolean("record_input")) s.record_input = *b;
    // Below 4 KiB not even the header and the cut marker fit.
    r.size("record_max_bytes", s.record_max_bytes, 4096);
    if (auto f = r.string("record_failure")) {
      if (f->value != "refuse" && f->value != "allow")
        r.fail(f->line, "record_failure",
               "expected \"refuse\" or \"allow\", not " + quote_text(f->value));
      s.record_failure_allow = f->value == "allow";
    }
  }

  PolicyUser user(const toml::table& t) {
    TableReader r(m_path, t, "user");
    PolicyUser u;
    u.name = r.name();
    r.rename("user " + quote_text(u.name));
    r.only({"name", "keys", "totp"});
    unique(r, "user or extender", u.name);
    u.keys = r.keys("keys");
    if (auto totp = r.string("totp")) {
      auto secret = parse_totp_secret(totp->value);
      if (!secret) r.fail(totp->line, "totp", secret.error().message);
      u.totp = totp->value;
    }
    return u;
  }

  Extender extender(const toml::table& t) {
    TableReader r(m_path, t, "extender");
    Extender e;
    e.name = r.name();
    r.rename("extender " + quote_text(e.name));
    r.only({"name", "keys"});
    // route.h: in targetuser%target%X%bastionuser a number is a port, so no extender is one.
    if (all_digits(e.name)) r.fail("name", "an extender name may not be a number");
    unique(r, "user or extender", e.name);
    e.keys = r.keys("keys");
    return e;
  }

  Target target(const toml::table& t) {
    TableReader r(m_path, t, "target");
    Target g;
    g.name = r.name();
    r.rename("target " + quote_text(g.name));
    r.only({"name", "address", "port", "users", "tags", "via"});
    unique(r, "target", g.name);
    Item a = *r.string("address", true);
    if (!detail::is_ip_literal(a.value) && !detail::is_host_name(a.value))
      r.fail(a.line, "address", "neither an IP address nor a host name: " + quote_text(a.value));
    g.address = a.value;
    if (auto port = r.integer("port")) {
      if (*port < 1 || *port > 65535) r.fail("port", "out of range (1 to 65535)");
      g.port = static_cast<int>(*port);
    }
    for (const Item& u : r.strings("users")) {
      if (!detail::is_name(u.value))
        r.fail(u.line, "users", "not a valid name " + quote_text(u.value));
      g.users.push_back(u.value);
    }
    for (const Item& tag : r.strings("tags")) {
      if (!detail::is_name(tag.value))
        r.fail(tag.line, "tags", "not a valid tag " + quote_text(tag.value));
      g.tags.push_back(tag.value);
    }
    if (auto via = r.string("via")) {
      bool known = std::any_of(m_extenders->begin(), m_extenders->end(),
                               [&](const Extender& e) { return e.name == via->value; });
      if (!known) r.fail(via->line, "via", "unknown extender " + quote_text(via->value));
      g.via = via->value;
    }
    return g;
  }

  Role role(const toml::table& t) {
    TableReader r(m_path, t, "role");
    Role o;
    o.name = r.name();
    r.rename("role " + quote_text(o.name));
    r.only({"name", "members", "targets", "target_users", "channels", "credential", "template",
            "source", "issue_certificates"});
    unique(r, "role", o.name);
    for (const Item& m : r.strings("members", true)) {
      std::string_view v = m.value;
      bool group = v.substr(0, 6) == "group:";
      if (group) v.remove_prefix(6);
      if (!(m.value == "*" || detail::is_name(v)))
        r.fail(m.line, "members", "not a user name, group:NAME or \"*\": " + quote_text(m.value));
      o.members.push_back(m.value);
    }
    for (const Item& g : r.strings("targets", true)) {
      check_target_pattern(r, g);
      o.targets.push_back(g.value);
    }
    for (const Item& u : r.strings("target_users", true)) {
      if (u.value != "*" && !detail::is_name(u.value))
        r.fail(u.line, "target_users", "not a valid name " + quote_text(u.value));
      o.target_users.push_back(u.value);
    }
    for (const Item& c : r.strings("channels", true)) {
      if (!is_channel(c.value))
        r.fail(c.line, "channels", "unknown channel " + quote_text(c.value));
      o.channels.push_back(c.value);
    }
    if (auto c = r.string("credential")) {
      if (c->value == "certificate") {
        o.credential = Credential::kCertificate;
      } else if (c->value == "agent") {
        o.credential = Credential::kAgent;
      } else if (c->value.rfind("key:", 0) == 0) {
        o.credential = Credential::kKey;
        o.key_path = r.checked_path({c->value.substr(4), c->line}, "credential");
      } else {
        r.fail(c->line, "credential",
               "expected certificate, agent or key:/path, not " + quote_text(c->value));
      }
    }
    if (r.has("source")) {
      o.source.clear();
      for (const Item& s : r.strings("source")) {
        if (!detail::is_address_list(s.value))
          r.fail(s.line, "source", "not an address list: " + quote_text(s.value));
        o.source.push_back(s.value);
      }
    }
    o.issue_certificates = r.boolean("issue_certificates").value_or(false);
    if (auto tn = r.string("template")) {
      bool known = std::any_of(m_templates.begin(), m_templates.end(),
                               [&](const CertTemplate& c) { return c.name == tn->value; });
      if (!known)
        r.fail(tn->line, "template",
               "unknown template " + quote_text(tn->value) + " (not in " + m_templates_path + ")");
      o.template_name = tn->value;
    } else if (o.credential == Credential::kCertificate || o.issue_certificates) {
      // Issuing a certificate needs its key_id, principals and extensions.
      r.fail(r.line(), "",
             "missing key template (credential = \"certificate\" and "
             "issue_certificates need one)");
    }
    return o;
  }

  // role.targets: a [[target]] name, tag:TAG, an address or CIDR block, or a host glob. A bare
  // word that names no target is an error: it is most likely a misspelt target.
  void check_target_pattern(const TableReader& r, const Item& g) const {
    std::string_view v = g.value;
    if (v.substr(0, 4) == "tag:") {
      if (!detail::is_name(v.substr(4))) r.fail(g.line, "targets", "bad tag " + quote_text(v));
      return;
    }
    if (detail::is_ip_literal(v.substr(0, v.find('/')))) {
      if (!detail::is_cidr(v))
        r.fail(g.line, "targets", "not an address or CIDR block: " + quote_text(v));
      return;
    }
    if (is_host_glob(v)) return;
    bool known = std::any_of(m_targets->begin(), m_targets->end(),
                             [&](const Target& t) { return t.name == v; });
    if (!known)
      r.fail(
          g.line, "targets",
          "unknown target " + quote_text(v) + " (a [[target]] name, tag:TAG, CIDR or host glob)");
  }

  const std::string& m_path;
  const std::vector<CertTemplate>& m_templates;
  const std::string& m_templates_path;
  const std::vector<Extender>* m_extenders = nullptr;
  const std::vector<Target>* m_targets = nullptr;
  std::map<std::string, int> m_names;  // kind "\n" name -> line
};

// toml++'s own message, at the file, line and column it gives.
Result<toml::table> parse_toml(std::string_view text, const std::string& path) {
  try {
    toml_internal_check_failed = false;
    toml::table table = toml::parse(text, path);
    if (toml_internal_check_failed)
      return Unexpected(path + ": malformed TOML (toml++ rejected it in an internal check)");
    return table;
  } catch (const toml::parse_error& e) {
    return Unexpected(path + ":" + std::to_string(e.source().begin.line) + ":" +
                      std::to_string(e.source().begin.column) + ": " +
                      std::string(e.description()));
  }
}

// The largest policy or templates file read (a policy is kilobytes; this only bounds memory).
constexpr size_t kMaxFileSize = 4 * 1024 * 1024;

}  // namespace

Result<Policy> parse_policy(std::string_view toml_text, const std::string& toml_path,
                            std::string_view templates_text, const std::string& templates_path) {
  auto root = parse_toml(toml_text, toml_path);
  if (!root) return Unexpected(root.error());
  auto templates = parse_templates(templates_text, templates_path);
  if (!templates) return Unexpected(templates.error());
  try {
    return PolicyBuilder(toml_path, *templates, templates_path).build(*root);
  } catch (const LoadError& e) {
    return Unexpected(e.message);
  }
}

Result<Policy> parse_policy(const PolicyText& text) {
  return parse_policy(text.toml, text.toml_path, text.templates, text.templates_path);
}

Result<PolicyText> read_policy_files(const std::string& path) {
  PolicyText text;
  text.toml_path = path;
  auto toml = read_bounded_file(path, kMaxFileSize);
  if (!toml) return Unexpected(toml.error());
  text.toml = std::move(*toml);
  // Only [bastion] templates is needed here; parse_policy checks the rest.
  auto root = parse_toml(text.toml, path);
  if (!root) return Unexpected(root.error());
  text.templates_path = Settings{}.templates;
  if (const toml::node* n = root->at_path("bastion.templates").node()) {
    const auto* s = n->as_string();
    int line = line_of(*n);
    if (!s)
      return Unexpected(path + ":" + std::to_string(line) +
                        ": bastion: templates: expected a string");
    if (s->get().empty() || s->get().front() != '/')
      return Unexpected(path + ":" + std::to_string(line) +
                        ": bastion: templates: not an absolute path: " + quote_text(s->get()));
    text.templates_path = s->get();
  }
  auto templates = read_bounded_file(text.templates_path, kMaxFileSize);
  if (!templates) return Unexpected(templates.error());
  text.templates = std::move(*templates);
  return text;
}

Result<Policy> load_policy(const std::string& path) {
  auto text = read_policy_files(path);
  if (!text) return Unexpected(text.error());
  return parse_policy(*text);
}

}  // namespace postern::bastion
