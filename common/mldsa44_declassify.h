// Marks bytes computed from secrets as public from here on: a signature candidate once it is
// accepted (it is published), or whether a sampler's SHAKE prefix sufficed (it fails with
// probability below 2^-200). Under valgrind's memcheck, which common/mldsa44_ct_check.cpp runs
// with the seed, secret key and rnd marked undefined, everything not declassified that a branch
// or an address depends on is reported; elsewhere this costs a few instructions and no call.
#pragma once

#include <cstddef>

#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#endif

namespace postern::mldsa44 {

inline void declassify([[maybe_unused]] const void* p, [[maybe_unused]] size_t n) {
#if __has_include(<valgrind/memcheck.h>)
  (void)VALGRIND_MAKE_MEM_DEFINED(p, n);
#endif
}

}  // namespace postern::mldsa44
