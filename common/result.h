// Result<T>: the subset of std::expected<T, Error> that postern uses, so it can become an alias
// once the compiler has <expected>. Expected failures (auth refused, file not found) are values;
// protocol violations are exceptions (see protocol_error.h).
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace postern {

struct Error {
  std::string message;
};

// Mirrors std::unexpected: `return Unexpected{"bad key"};`
struct Unexpected {
  Error error;
  explicit Unexpected(std::string message) : error{std::move(message)} {}
  explicit Unexpected(Error e) : error(std::move(e)) {}
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : m_v(std::in_place_index<0>, std::move(value)) {}
  Result(Unexpected u) : m_v(std::in_place_index<1>, std::move(u.error)) {}

  bool has_value() const { return m_v.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { assert(has_value()); return std::get<0>(m_v); }
  const T& value() const& { assert(has_value()); return std::get<0>(m_v); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(m_v)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { assert(!has_value()); return std::get<1>(m_v); }

 private:
  std::variant<T, Error> m_v;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Unexpected u) : m_error(std::move(u.error)), m_failed(true) {}

  bool has_value() const { return !m_failed; }
  explicit operator bool() const { return has_value(); }
  const Error& error() const { assert(m_failed); return m_error; }

 private:
  Error m_error;
  bool m_failed = false;
};

}  // namespace postern
