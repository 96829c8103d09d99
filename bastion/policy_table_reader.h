// One table of bastion.toml read with errors that say where: a TableReader knows the file, the
// table's name for messages and the keys it accepts, so every error reads
// "FILE:LINE: role \"web-ops\": channels: unknown channel \"ftp\"". Errors are thrown as
// LoadError; policy_loader.cpp's parse_policy turns them into a Result, the one boundary.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bastion/toml.h"

namespace postern::bastion::detail {

struct LoadError {
  std::string message;
};

// A string of a list, with the line it is on.
struct Item {
  std::string value;
  int line;
};

int line_of(const toml::node& n);

class TableReader {
 public:
  TableReader(const std::string& path, const toml::table& table, std::string what)
      : m_path(path), m_table(table), m_what(std::move(what)) {}

  // Unknown keys are errors (policy.h). Checked once the table's name is known, so the
  // message can name it.
  void only(std::initializer_list<std::string_view> keys) const;

  // Names the table by its `name` in later messages (once that is known to be valid).
  void rename(std::string what) { m_what = std::move(what); }
  int line() const { return line_of(m_table); }
  // The key's line, or the table's when the key is absent.
  int line(std::string_view key) const;

  [[noreturn]] void fail(int line, std::string_view key, const std::string& what) const;
  [[noreturn]] void fail(std::string_view key, const std::string& what) const {
    fail(line(key), key, what);
  }

  bool has(std::string_view key) const { return m_table.get(key) != nullptr; }

  std::optional<Item> string(std::string_view key, bool required = false) const;
  std::vector<Item> strings(std::string_view key, bool required = false) const;
  std::optional<int64_t> integer(std::string_view key) const;
  std::optional<bool> boolean(std::string_view key) const;

  // A name as policy_values.h is_name says.
  std::string name() const;

  // An absolute path without control characters, into `out` when the key is there.
  void path(std::string_view key, std::string& out) const;
  std::string checked_path(const Item& p, std::string_view key) const;

  // A size ("64M", "1G") or an integer of bytes, at least `lo`.
  void size(std::string_view key, uint64_t& out, uint64_t lo) const;

  // A duration: a TIME FORMATS string ("5m", "1h30m") or an integer of seconds, in [lo, hi].
  void duration(std::string_view key, uint32_t& out, uint32_t lo, uint32_t hi) const;

  // The authorized_keys(5) lines of `key`: their options and key type must parse (a misspelt
  // from= must not be ignored). Key data that does not decode is let through: the line then
  // matches no key, as such a line of an authorized_keys file does in sshd, and the example
  // policy's placeholder keys stay loadable.
  std::vector<std::string> keys(std::string_view key) const;

 private:
  const std::string& m_path;
  const toml::table& m_table;
  std::string m_what;
};

}  // namespace postern::bastion::detail
