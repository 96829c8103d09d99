#include "monitor/host_key_agent.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "common/agent_protocol.h"
#include "common/text_lines.h"
#include "common/unique_fd.h"

namespace postern::monitor {
namespace {

// A public key file is one line; anything this long is not one.
constexpr size_t kMaxPublicKeyFile = 64 * 1024;

Result<UniqueFd> connect_agent(const std::string& socket_path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.empty() || socket_path.size() >= sizeof addr.sun_path)
    return Unexpected("HostKeyAgent socket path \"" + socket_path + "\" is not usable");
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return Unexpected(std::string("socket: ") + std::strerror(errno));
  timeval limit{kAgentTimeoutSeconds, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    return Unexpected("cannot reach the host key agent at " + socket_path + ": " +
                      std::strerror(errno));
  return fd;
}

// One request, one answer: the frame of the answer (without its length).
Result<Bytes> agent_exchange(const std::string& socket_path, const Bytes& request) {
  auto fd = connect_agent(socket_path);
  if (!fd) return Unexpected(fd.error());
  for (size_t done = 0; done < request.size();) {
    ssize_t n = ::send(fd->get(), request.data() + done, request.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return Unexpected(std::string("writing to the host key agent: ") + std::strerror(errno));
    done += size_t(n);
  }
  AgentFrameReader reader;
  uint8_t buf[4096];
  for (;;) {
    if (auto frame = reader.next_frame()) return *frame;
    ssize_t n = ::recv(fd->get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return Unexpected("the host key agent closed the connection");
    if (n < 0)
      return Unexpected(std::string("reading from the host key agent: ") + std::strerror(errno));
    if (!reader.received(ByteView(buf, size_t(n)))) return Unexpected(reader.error());
  }
}

Result<PublicKey> load_public_key_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Unexpected(path + ": " + std::strerror(errno));
  std::string text(kMaxPublicKeyFile + 1, '\0');
  in.read(text.data(), std::streamsize(text.size()));
  text.resize(size_t(in.gcount()));
  if (text.size() > kMaxPublicKeyFile) return Unexpected(path + ": file too large");
  TextLines lines(text);
  for (std::string_view line; lines.next(line);) {
    if (line.empty() || line.front() == '#') continue;
    auto key = PublicKey::from_openssh_text(line);
    if (!key) return Unexpected(path + ": " + key.error().message);
    return key;
  }
  return Unexpected(path + ": no public key");
}

}  // namespace

std::string host_key_agent_socket(const std::string& configured) {
  if (configured.empty() || configured == "none") return "";
  if (configured != "SSH_AUTH_SOCK") return configured;
  const char* env = std::getenv("SSH_AUTH_SOCK");
  return env == nullptr ? "" : env;
}

uint32_t agent_sign_flags(std::string_view algorithm) {
  if (algorithm == "rsa-sha2-256") return kAgentRsaSha2_256;
  if (algorithm == "rsa-sha2-512") return kAgentRsaSha2_512;
  return 0;
}

Result<Bytes> agent_sign(const std::string& socket, const PublicKey& key,
                         std::string_view algorithm, ByteView data) {
  auto answer =
      agent_exchange(socket, agent_sign_request(key.blob(), data, agent_sign_flags(algorithm)));
  if (!answer) return Unexpected(answer.error());
  return parse_sign_response(*answer);
}

Result<PrivateKey> agent_host_key(const std::string& socket, const std::string& path) {
  // As sshd(8) looks for a host key's public half: the file named, else FILE.pub.
  auto pub = load_public_key_file(path);
  if (!pub) pub = load_public_key_file(path + ".pub");
  if (!pub) return Unexpected(pub.error());
  auto listed = agent_exchange(socket, agent_request_identities());
  if (!listed) return Unexpected(listed.error());
  auto ids = parse_identities_answer(*listed);
  if (!ids) return Unexpected(ids.error());
  const Bytes& blob = pub->blob();
  if (std::none_of(ids->begin(), ids->end(),
                   [&](const AgentIdentity& id) { return id.key_blob == blob; }))
    return Unexpected(path + ": the host key agent does not hold this key");
  return PrivateKey::held_elsewhere(std::move(*pub),
                                    [socket](const PublicKey& k, std::string_view alg, ByteView d) {
                                      return agent_sign(socket, k, alg, d);
                                    });
}

}  // namespace postern::monitor
