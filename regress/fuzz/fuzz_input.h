// What the harnesses share: the input as text, and an input cut into several parts (a policy
// file and its templates, a sequence of messages) so one fuzz input can carry them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "common/bytes.h"

namespace postern::fuzz {

// A property the harness asserts (a round trip, an invariant): a failure is a finding.
#define FUZZ_CHECK(cond)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Parts separated by `separator` (kept out of the parts); at most `max_parts`, the last one
// taking the rest.
inline std::vector<std::string_view> split_text(std::string_view text, std::string_view separator,
                                                size_t max_parts) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < max_parts) {
    size_t at = text.find(separator);
    if (at == std::string_view::npos) break;
    parts.push_back(text.substr(0, at));
    text.remove_prefix(at + separator.size());
  }
  parts.push_back(text);
  return parts;
}

// Messages framed as [u16 big-endian length][bytes], the form the seed corpora are written in
// (regress/fuzz/make_corpus.py); a short last frame takes what is left.
inline std::vector<ByteView> split_frames(const uint8_t* data, size_t size) {
  std::vector<ByteView> frames;
  size_t pos = 0;
  while (pos + 2 <= size) {
    size_t len = (size_t{data[pos]} << 8) | data[pos + 1];
    pos += 2;
    if (len > size - pos) len = size - pos;
    frames.emplace_back(data + pos, len);
    pos += len;
  }
  return frames;
}

}  // namespace postern::fuzz
