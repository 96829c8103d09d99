#include "bastion/shared_library.h"

#include <dlfcn.h>

namespace postern::bastion {

Result<SharedLibrary> SharedLibrary::open(const std::string& soname) {
  void* handle = ::dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    return Unexpected("cannot load " + soname + ": " + (why ? why : "unknown error"));
  }
  return SharedLibrary(handle, soname);
}

void* SharedLibrary::find(const char* name) {
  ::dlerror();
  void* sym = ::dlsym(m_handle, name);
  if (sym == nullptr && m_missing.empty()) m_missing = m_soname + " has no " + name;
  return sym;
}

}  // namespace postern::bastion
