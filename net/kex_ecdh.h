// ecdh-sha2-nistp256/384/521 (RFC 5656 §4) over OpenSSL's EC keys.
#pragma once

#include <memory>
#include <string_view>

#include "net/kex_method.h"

namespace postern::net {

// nullptr unless `name` is one of the three ecdh-sha2-nistp* method names.
std::unique_ptr<KexMethod> make_ecdh_kex(std::string_view name);

}  // namespace postern::net
