// ML-DSA-44 (FIPS 204): placeholder so common_mldsa_dep exists for the key type to link against
// while the implementation is written (issue 17). Every entry point refuses.
#include "common/mldsa44.h"

#include <stdexcept>

namespace postern::mldsa44 {

void keygen_from_seed(MutableByteView, MutableByteView, ByteView) {
  throw std::logic_error("mldsa44: not implemented yet");
}
void keygen(MutableByteView, MutableByteView, MutableByteView) {
  throw std::logic_error("mldsa44: not implemented yet");
}
bool sign(MutableByteView, ByteView, ByteView, ByteView) {
  throw std::logic_error("mldsa44: not implemented yet");
}
bool verify(ByteView, ByteView, ByteView, ByteView) {
  return false;
}
void sign_internal(MutableByteView, ByteView, ByteView, ByteView) {
  throw std::logic_error("mldsa44: not implemented yet");
}
bool verify_internal(ByteView, ByteView, ByteView) {
  return false;
}

}  // namespace postern::mldsa44
