#include "keysign/keysign.h"

#include <glob.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "common/ssh_msg.h"
#include "common/wire.h"

namespace postern::keysign {
namespace {

constexpr size_t kMaxName = 1024;
constexpr size_t kMaxSessionId = 64;  // the largest exchange hash (SHA-512)
constexpr int kMaxIncludeDepth = 16;

Result<void> read_full(int fd, uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Unexpected(std::string("read: ") + std::strerror(errno));
    if (r == 0) return Unexpected("read: unexpected end of input");
    p += r;
    n -= size_t(r);
  }
  return {};
}

Result<void> write_full(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t r = write(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Unexpected(std::string("write: ") + std::strerror(errno));
    p += r;
    n -= size_t(r);
  }
  return {};
}

std::string lower(std::string s) {
  for (char& c : s) c = char(tolower(static_cast<unsigned char>(c)));
  return s;
}

// ssh_config(5) lines: "Keyword value..." or "Keyword=value"; '#' starts a comment line.
// Splits on whitespace and one '='; quoted arguments are not needed for the keywords read here.
std::vector<std::string> split_config_line(std::string_view line) {
  std::vector<std::string> out;
  std::string cur;
  bool eq_seen = false;
  for (char c : line) {
    bool sep = isspace(static_cast<unsigned char>(c)) || (c == '=' && !eq_seen && out.empty());
    if (c == '=' && out.empty()) eq_seen = true;
    if (sep) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

// Returns 1 (yes), 0 (no) or -1 (not set in this file and its includes).
int find_enable_keysign(const std::string& path, int depth, bool applies) {
  if (depth > kMaxIncludeDepth) return -1;
  std::ifstream in(path);
  if (!in) return -1;
  std::string line;
  while (std::getline(in, line)) {
    auto words = split_config_line(line);
    if (words.empty() || words[0][0] == '#') continue;
    std::string kw = lower(words[0]);
    if (kw == "host") {
      // Only blocks that apply to every host apply to a helper that has no host in mind.
      applies = false;
      for (size_t i = 1; i < words.size(); ++i)
        if (words[i] == "*") applies = true;
    } else if (kw == "match") {
      applies = words.size() == 2 && lower(words[1]) == "all";
    } else if (kw == "include" && applies) {
      for (size_t i = 1; i < words.size(); ++i) {
        // ssh_config(5): relative system-wide includes are under /etc/ssh; resolve them beside
        // the file being read, which is that directory for the file this helper reads.
        std::string pattern = words[i];
        if (pattern[0] != '/') pattern = path.substr(0, path.rfind('/') + 1) + pattern;
        glob_t g{};
        if (glob(pattern.c_str(), 0, nullptr, &g) == 0) {
          for (size_t j = 0; j < g.gl_pathc; ++j) {
            int v = find_enable_keysign(g.gl_pathv[j], depth + 1, true);
            if (v >= 0) {
              globfree(&g);
              return v;
            }
          }
        }
        globfree(&g);
      }
    } else if (kw == "enablesshkeysign" && applies && words.size() >= 2) {
      // ssh_config(5): the first obtained value is used.
      return lower(words[1]) == "yes" ? 1 : 0;
    }
  }
  return -1;
}

}  // namespace

Result<Bytes> read_message(int fd) {
  uint8_t len_bytes[4];
  if (auto r = read_full(fd, len_bytes, 4); !r) return Unexpected(r.error());
  uint32_t len = load_be32(len_bytes);
  if (len == 0 || len > kMaxMessage) return Unexpected("bad message length " + std::to_string(len));
  Bytes payload(len);
  if (auto r = read_full(fd, payload.data(), len); !r) return Unexpected(r.error());
  return payload;
}

Result<void> write_message(int fd, ByteView payload) {
  Writer w;
  w.string(payload);
  Bytes framed = w.take();
  return write_full(fd, framed.data(), framed.size());
}

Result<Request> parse_request(ByteView payload) {
  try {
    Reader r(payload);
    Request req;
    req.version = r.u8();
    if (req.version != kVersion)
      return Unexpected("bad version: received " + std::to_string(req.version) + ", expected " +
                        std::to_string(kVersion));
    req.socket_fd = r.u32();
    ByteView data = r.string(kMaxMessage);
    r.expect_done("ssh-keysign request");
    req.data.assign(data.begin(), data.end());
    return req;
  } catch (const ProtocolError& e) {
    return Unexpected(std::string("malformed request: ") + e.what());
  }
}

Bytes encode_request(const Request& request) {
  Writer w;
  w.u8(request.version).u32(request.socket_fd).string(ByteView(request.data));
  return w.take();
}

Bytes encode_reply(ByteView signature) {
  Writer w;
  w.u8(kVersion).string(signature);
  return w.take();
}

Result<HostbasedData> parse_hostbased_data(ByteView data) {
  try {
    Reader r(data);
    HostbasedData d;
    ByteView sid = r.string(kMaxSessionId);
    if (sid.empty()) return Unexpected("empty session id");
    d.session_id.assign(sid.begin(), sid.end());
    if (r.u8() != kMsgUserauthRequest) return Unexpected("not a userauth request");
    d.user = std::string(r.text(kMaxName));
    d.service = std::string(r.text(kMaxName));
    d.method = std::string(r.text(kMaxName));
    d.algorithm = std::string(r.text(kMaxName));
    ByteView blob = r.string(64 * 1024);
    d.key_blob.assign(blob.begin(), blob.end());
    d.client_host = std::string(r.text(kMaxName));
    d.client_user = std::string(r.text(kMaxName));
    r.expect_done("hostbased request");
    return d;
  } catch (const ProtocolError& e) {
    return Unexpected(std::string("malformed hostbased request: ") + e.what());
  }
}

bool keysign_enabled(const std::string& ssh_config_path) {
  return find_enable_keysign(ssh_config_path, 0, true) == 1;
}

std::vector<HostKey> load_host_keys(const std::vector<std::string>& paths) {
  std::vector<HostKey> out;
  for (const auto& path : paths) {
    auto key = PrivateKey::load_file(path);
    if (!key) continue;
    HostKey hk{std::move(*key), {}};
    if (auto cert = Certificate::load_file(path + "-cert.pub");
        cert && cert->key() == hk.key.public_key())
      hk.certificates.push_back(std::move(*cert));
    out.push_back(std::move(hk));
  }
  return out;
}

Result<std::string> local_host_name(int sock) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(sock, reinterpret_cast<sockaddr*>(&ss), &len) != 0 ||
      (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)) {
    // A connection through ProxyCommand is a pipe (or a Unix socket): the client then names
    // itself by gethostname(2), as it is, and so must we.
    char name[NI_MAXHOST] = {};
    if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0')
      return Unexpected(std::string("gethostname: ") + std::strerror(errno));
    return std::string(name) + ".";
  }
  char host[NI_MAXHOST];
  if (getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, host, sizeof host, nullptr, 0,
                  NI_NAMEREQD) != 0 &&
      getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, host, sizeof host, nullptr, 0,
                  NI_NUMERICHOST) != 0)
    return Unexpected("cannot name the local address");
  return lower(host) + ".";
}

Result<Bytes> sign_request(const Request& request, const std::vector<HostKey>& keys,
                           const Policy& policy) {
  auto d = parse_hostbased_data(request.data);
  if (!d) return Unexpected(d.error());
  // Only ever sign what a hostbased userauth request is (RFC 4252 §9), so the host key cannot
  // be made to sign anything else on a user's behalf.
  if (d->service != "ssh-connection") return Unexpected("bad service " + d->service);
  if (d->method != "hostbased") return Unexpected("bad method " + d->method);
  if (d->client_host != policy.client_host)
    return Unexpected("bad client host: " + d->client_host + " (expected " + policy.client_host +
                      ")");
  if (d->client_user != policy.client_user) return Unexpected("bad client user: " + d->client_user);

  for (const auto& hk : keys) {
    std::string sig_alg;
    if (hk.key.public_key().blob() == d->key_blob) {
      for (const auto& a : hk.key.public_key().signature_algorithms())
        if (a == d->algorithm) sig_alg = a;
      if (sig_alg.empty())
        return Unexpected("algorithm " + d->algorithm + " does not fit the host key");
    } else {
      for (const auto& cert : hk.certificates) {
        if (cert.blob() != d->key_blob) continue;
        if (certificate_type_for_algorithm(d->algorithm) != cert.type_name())
          return Unexpected("algorithm " + d->algorithm + " does not fit the host certificate");
        sig_alg = std::string(certificate_signature_algorithm(d->algorithm));
      }
      if (sig_alg.empty()) continue;
    }
    return hk.key.sign(sig_alg, request.data);
  }
  return Unexpected("no matching host key for the request");
}

}  // namespace postern::keysign
