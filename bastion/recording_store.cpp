#include "bastion/recording_store.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/ossl.h"

namespace postern::bastion {

namespace {

constexpr size_t kMaxNamePart = 64;
constexpr unsigned kMaxAttempts = 100;

std::string name_part(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, kMaxNamePart)) {
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '-' || c == '+';
    out += keep ? c : '-';
  }
  // "." and ".." are no names of a file of ours.
  if (out.empty() || out == "." || out == "..") return "-";
  return out;
}

std::string utc_compact(uint64_t unix_seconds) {
  time_t t = time_t(unix_seconds);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string errno_text(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

// mkdir -p, 0700: recordings are root's alone.
Result<void> make_dirs(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return Unexpected(dir + " is not a directory");
    return {};
  }
  size_t slash = dir.find('/', 1);
  while (true) {
    std::string part = dir.substr(0, slash);
    if (!part.empty() && ::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST)
      return Unexpected(errno_text("mkdir " + part));
    if (slash == std::string::npos) return {};
    slash = dir.find('/', slash + 1);
  }
}

}  // namespace

std::string recording_file_name(const RecordingInfo& info, unsigned attempt) {
  std::string name = utc_compact(info.unix_seconds) + "_" + name_part(info.bastion_user) + "_" +
                     name_part(info.target_user) + "@" + name_part(info.target) + "_" +
                     name_part(info.session);
  if (attempt > 1) name += "-" + std::to_string(attempt);
  return name + ".cast";
}

std::string asciicast_header(const RecordingInfo& info) {
  // asciicast v2 header (docs.asciinema.org/manual/asciicast/v2/); unknown keys are for us.
  nlohmann::ordered_json h;
  h["version"] = 2;
  h["width"] = info.width;
  h["height"] = info.height;
  h["timestamp"] = info.unix_seconds;
  if (!info.command.empty()) h["command"] = info.command;
  std::string title = info.bastion_user + " as " + info.target_user + "@" + info.target + ": " +
                      (info.command.empty() ? info.channel : info.command);
  h["title"] = title;
  nlohmann::ordered_json env = nlohmann::ordered_json::object();
  if (!info.term.empty()) env["TERM"] = info.term;
  h["env"] = env;
  h["postern"] = {{"session", info.session}, {"bastion_user", info.bastion_user},
                  {"target", info.target},   {"target_user", info.target_user},
                  {"channel", info.channel}, {"client_channel", info.client_channel}};
  return h.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

Result<OpenedRecording> open_recording(const std::string& dir, const RecordingInfo& info) {
  auto made = make_dirs(dir);
  if (!made) return Unexpected("recordings directory: " + made.error().message);
  OpenedRecording r;
  for (unsigned attempt = 1; attempt <= kMaxAttempts && !r.fd; ++attempt) {
    r.path = dir + (dir.ends_with('/') ? "" : "/") + recording_file_name(info, attempt);
    r.fd.reset(::open(r.path.c_str(), O_CREAT | O_EXCL | O_APPEND | O_WRONLY | O_CLOEXEC, 0600));
    if (!r.fd && errno != EEXIST) return Unexpected(errno_text("recording " + r.path));
  }
  if (!r.fd) return Unexpected("recording " + r.path + ": too many recordings of this name");
  // A umask may not widen it, but an inherited ACL default might: 0600 whatever the directory.
  ::fchmod(r.fd.get(), 0600);
  std::string header = asciicast_header(info);
  size_t done = 0;
  while (done < header.size()) {
    ssize_t n = ::write(r.fd.get(), header.data() + done, header.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::string why = errno_text("recording " + r.path + ": write");
      ::unlink(r.path.c_str());
      return Unexpected(why);
    }
    done += size_t(n);
  }
  r.header_bytes = header.size();
  return r;
}

Result<std::string> file_sha256_hex(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return Unexpected(errno_text(path));
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
    return Unexpected("sha256: cannot initialise");
  std::string buf(1 << 16, '\0');
  while (true) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Unexpected(errno_text(path));
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buf.data(), size_t(n));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

}  // namespace postern::bastion
