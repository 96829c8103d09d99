#include "audit/cast_file.h"

#include <openssl/evp.h>
#include <sys/stat.h>

#include "audit/asciicast_play.h"
#include "audit/line_reader.h"

namespace postern::audit {
namespace {

// One event's line is a chunk of output far smaller than this (asciicast_play.cpp's bound).
constexpr size_t kMaxCastLine = 16 << 20;

Result<std::string> sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1)
    return Unexpected("SHA-256 unavailable");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned i = 0; i < len; ++i) (hex += kHex[md[i] >> 4]) += kHex[md[i] & 0xf];
  return hex;
}

}  // namespace

Result<CastFile> read_cast_file(const std::string& path, size_t max_bytes) {
  auto reader = LineReader::open(path, kMaxCastLine);
  if (!reader) return Unexpected(reader.error());
  struct stat st {};
  if (::fstat(reader->fd(), &st) == 0 && uint64_t(st.st_size) > max_bytes)
    return Unexpected(path + ": " + std::to_string(st.st_size) + " bytes, more than the " +
                      std::to_string(max_bytes) + " a page may inline");
  auto where = [&] { return path + ":" + std::to_string(reader->number()) + ": "; };
  CastFile cast;
  std::string line;
  double last = 0;
  for (;;) {
    auto more = reader->next(line);
    if (!more) return Unexpected(more.error());
    if (!*more) break;
    // The file may have grown since fstat: the bound holds for what is read.
    if (cast.text.size() + line.size() + 1 > max_bytes)
      return Unexpected(where() + "more than the " + std::to_string(max_bytes) +
                        " bytes a page may inline");
    cast.text += line;
    if (reader->had_newline()) cast.text += '\n';
    if (reader->number() == 1) {
      auto header = parse_cast_header(line);
      if (!header) return Unexpected(where() + header.error().message);
      cast.width = header->width;
      cast.height = header->height;
      continue;
    }
    if (line.empty()) continue;  // a blank line carries nothing
    auto ev = parse_cast_event(line);
    if (!ev) return Unexpected(where() + ev.error().message);
    if (ev->time < last)
      return Unexpected(where() + "event time goes back (" + std::to_string(ev->time) + " after " +
                        std::to_string(last) + ")");
    last = ev->time;
  }
  if (cast.width == 0) return Unexpected(path + ": empty file, no asciicast header");
  auto sha = sha256_hex(cast.text);
  if (!sha) return Unexpected(sha.error());
  cast.sha256 = *sha;
  return cast;
}

}  // namespace postern::audit
