// toml++ as postern includes it (header-only, bastion/meson.build). toml++ checks its parser's
// own invariants with TOML_ASSERT, which is assert() in a build without NDEBUG (postern's
// debugoptimized build) and an optimiser assumption with it; malformed input reaches some of
// them (the bastion_policy fuzzer found `[=]`), and neither an abort of the monitor nor
// undefined behaviour is an answer to a bad file. Here a failed check is recorded instead (some
// sit in noexcept functions, so it cannot throw), the parse goes on as toml++'s NDEBUG build
// would, and parse_toml (policy_loader.cpp) reports the file as malformed.
#pragma once

namespace postern::bastion {
inline thread_local bool toml_internal_check_failed = false;
}  // namespace postern::bastion

#define TOML_ASSERT(expr) \
  ((expr) ? void(0) : void(::postern::bastion::toml_internal_check_failed = true))
// toml++ makes TOML_ASSERT_ASSUME this check when NDEBUG is not defined, which postern's builds
// (debugoptimized, and Debian's plain) never define.
#ifdef NDEBUG
#error "bastion/toml.h: with NDEBUG, toml++ would turn its parser checks into assumptions"
#endif
#include <toml++/toml.h>
