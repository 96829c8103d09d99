// sk_provider_sign (common/sk_provider.h): one dlopen of the SecurityKeyProvider per signature,
// its sk_api_version checked, sk_sign called, the response copied out and freed.
//
// The ABI below is the interface sk-api.h documents (OpenSSH 9.2's middleware API, major version
// 0x000a0000); it is declared here from that description, never included.
#include "common/sk_provider.h"

#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace postern {
namespace {

// sk-api.h: algorithms and the version a provider must match in its high 16 bits.
constexpr uint32_t kSkEcdsa = 0x00;
constexpr uint32_t kSkEd25519 = 0x01;
constexpr uint32_t kSkVersionMajor = 0x000a0000;
constexpr uint32_t kSkVersionMajorMask = 0xffff0000;
// Bounds what we copy out of the provider: an ECDSA P-256 scalar or an Ed25519 signature.
constexpr size_t kMaxSigPart = 64;

// struct sk_sign_response, in sk-api.h's field order; the provider allocates it and each buffer
// with malloc, and the caller frees them.
struct SkSignResponse {
  uint8_t flags;
  uint32_t counter;
  uint8_t* sig_r;
  size_t sig_r_len;
  uint8_t* sig_s;
  size_t sig_s_len;
};
struct SkOption;

using SkApiVersionFn = uint32_t (*)();
using SkSignFn = int (*)(uint32_t alg, const uint8_t* data, size_t data_len,
                         const char* application, const uint8_t* key_handle, size_t key_handle_len,
                         uint8_t flags, const char* pin, SkOption** options,
                         SkSignResponse** response);

struct DlCloser {
  void operator()(void* h) const { ::dlclose(h); }
};

Result<void> check_owner_and_mode(const std::string& what, const struct stat& st) {
  if (st.st_uid != 0 && st.st_uid != ::geteuid()) return Unexpected(what + " is not owned by root");
  if (st.st_mode & (S_IWGRP | S_IWOTH)) return Unexpected(what + " is writable by group or others");
  return {};
}

}  // namespace

Result<void> check_sk_provider_path(const std::string& path) {
  if (path.empty() || path[0] != '/')
    return Unexpected("SecurityKeyProvider \"" + path + "\" is not an absolute path");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return Unexpected("SecurityKeyProvider " + path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    return Unexpected("SecurityKeyProvider " + path + " is not a regular file");
  if (auto r = check_owner_and_mode("SecurityKeyProvider " + path, st); !r) return r;
  std::string dir = path.substr(0, path.rfind('/'));
  if (dir.empty()) dir = "/";
  if (::stat(dir.c_str(), &st) != 0)
    return Unexpected("SecurityKeyProvider directory " + dir + ": " + std::strerror(errno));
  return check_owner_and_mode("SecurityKeyProvider directory " + dir, st);
}

Result<SkProviderSignature> sk_provider_sign(const std::string& provider, bool ed25519,
                                             ByteView message, const SkKeyHandle& handle) {
  if (provider.empty()) return Unexpected("no SecurityKeyProvider is configured");
  if (auto ok = check_sk_provider_path(provider); !ok) return Unexpected(ok.error());
  std::unique_ptr<void, DlCloser> lib(::dlopen(provider.c_str(), RTLD_NOW | RTLD_LOCAL));
  if (!lib) return Unexpected("dlopen " + provider + ": " + ::dlerror());
  auto version = reinterpret_cast<SkApiVersionFn>(::dlsym(lib.get(), "sk_api_version"));
  auto sign = reinterpret_cast<SkSignFn>(::dlsym(lib.get(), "sk_sign"));
  if (!version || !sign)
    return Unexpected(provider + " lacks sk_api_version or sk_sign: not a SecurityKeyProvider");
  uint32_t v = version();
  if ((v & kSkVersionMajorMask) != kSkVersionMajor)
    return Unexpected(provider + " speaks sk-api version " + std::to_string(v >> 16) + ", not " +
                      std::to_string(kSkVersionMajor >> 16));
  SkSignResponse* resp = nullptr;
  // No PIN: a host key cannot ask anyone for one. No options: the provider's default device.
  int rc = sign(ed25519 ? kSkEd25519 : kSkEcdsa, message.data(), message.size(),
                handle.application.c_str(), handle.key_handle.data(), handle.key_handle.size(),
                handle.flags, nullptr, nullptr, &resp);
  if (rc != 0 || resp == nullptr)
    return Unexpected(provider + ": sk_sign failed (" + std::to_string(rc) + ")");
  SkProviderSignature out;
  bool sane = resp->sig_r_len <= kMaxSigPart && resp->sig_s_len <= kMaxSigPart &&
              (resp->sig_r || !resp->sig_r_len) && (resp->sig_s || !resp->sig_s_len);
  if (sane) {
    out.flags = resp->flags;
    out.counter = resp->counter;
    out.sig_r.assign(resp->sig_r, resp->sig_r + resp->sig_r_len);
    out.sig_s.assign(resp->sig_s, resp->sig_s + resp->sig_s_len);
  }
  std::free(resp->sig_r);
  std::free(resp->sig_s);
  std::free(resp);
  if (!sane) return Unexpected(provider + ": sk_sign returned an oversized signature");
  return out;
}

}  // namespace postern
