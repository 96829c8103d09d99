#pragma once
// For tests that prove the data path does not allocate per packet: include this in exactly one
// file of a test binary. It replaces the global operator new and delete with ones that count.
// The replacements pair malloc with free, which GCC's inliner cannot see through.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <atomic>
#include <cstdlib>
#include <new>

namespace postern::test_support {
inline std::atomic<long> g_heap_allocations{0};
}  // namespace postern::test_support

void* operator new(size_t n) {
  ++postern::test_support::g_heap_allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}
