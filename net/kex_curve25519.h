// curve25519-sha256 and its pre-RFC name curve25519-sha256@libssh.org (RFC 8731).
#pragma once

#include <memory>
#include <string_view>

#include "common/bytes.h"
#include "net/kex_method.h"

namespace postern::net {

inline constexpr size_t kX25519KeySize = 32;

// nullptr unless `name` is one of the two curve25519 method names.
std::unique_ptr<KexMethod> make_curve25519_kex(std::string_view name);

// The same method with a fixed private scalar instead of a random one, so tests can replay the
// RFC 7748 vectors through the code path the server uses. Not for production use.
std::unique_ptr<KexMethod> make_curve25519_kex_for_test(std::string_view name,
                                                        ByteView private_key);

}  // namespace postern::net
