#include "bastion/file_event.h"

#include <stdexcept>

namespace postern::bastion {

std::string bounded_path(std::string_view path) {
  std::string out;
  size_t n = std::min(path.size(), kMaxEventPath);
  out.reserve(n + 3);
  // Control bytes would make the detail line ambiguous; the audit writers escape the rest.
  for (size_t i = 0; i < n; ++i) out += uint8_t(path[i]) < 0x20 ? '?' : path[i];
  if (path.size() > kMaxEventPath) out += "...";
  return out;
}

std::string describe(const FileEvent& e) {
  std::string s = e.operation;
  if (!e.path.empty()) s += " " + e.path;
  if (!e.path2.empty()) s += " -> " + e.path2;
  if (!e.flags.empty()) s += " " + e.flags;
  if (e.operation == "read" || e.operation == "write")
    s += " " + std::to_string(e.bytes) + " bytes";
  if (!e.sha256.empty()) s += " sha256=" + e.sha256;
  if (!e.result.empty()) s += " " + e.result;
  return s;
}

StreamDigest::StreamDigest() : m_ctx(EVP_MD_CTX_new()) {
  if (!m_ctx || EVP_DigestInit_ex(m_ctx.get(), EVP_sha256(), nullptr) != 1)
    throw std::runtime_error(ossl_error("SHA-256"));
}

void StreamDigest::update(ByteView data) {
  if (!data.empty() && EVP_DigestUpdate(m_ctx.get(), data.data(), data.size()) != 1)
    throw std::runtime_error(ossl_error("SHA-256"));
}

std::string StreamDigest::hex_final() {
  uint8_t md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (EVP_DigestFinal_ex(m_ctx.get(), md, &len) != 1)
    throw std::runtime_error(ossl_error("SHA-256"));
  return hex(ByteView(md, len));
}

}  // namespace postern::bastion
