// A shared library opened at run time (dlopen) for what only some configurations use: the
// session index's SQLite and libpq. Linked into sshd-session they would be mapped and
// relocated by every connection's monitor, bastion or not, with all they depend on
// (docs/performance.md: libpq alone brings 20 objects and 3.4 ms of loader time per exec).
#pragma once

#include <string>

#include "common/result.h"

namespace postern::bastion {

class SharedLibrary {
 public:
  // RTLD_NOW: a missing symbol is found here, not at the first call; RTLD_LOCAL: its symbols
  // stay out of the process's global scope. A library, once open, stays for the process.
  static Result<SharedLibrary> open(const std::string& soname);

  // Sets `fn` to the named function, or remembers the first name that was missing (missing()).
  template <typename Fn>
  void bind(const char* name, Fn*& fn) {
    fn = reinterpret_cast<Fn*>(find(name));
  }
  // "" when every bind() found its symbol, else an error naming the first that did not.
  const std::string& missing() const { return m_missing; }

 private:
  explicit SharedLibrary(void* handle, std::string soname)
      : m_handle(handle), m_soname(std::move(soname)) {}
  void* find(const char* name);

  void* m_handle;
  std::string m_soname;
  std::string m_missing;
};

// The API table `Load` fills, loaded once per process and safely from any thread (a static's
// initialisation runs once); later calls return the same table or the same error.
template <typename Api, Result<Api> (*Load)()>
Result<const Api*> load_once() {
  static const Result<Api> loaded = Load();
  if (!loaded) return Unexpected(loaded.error());
  return &*loaded;
}

}  // namespace postern::bastion
