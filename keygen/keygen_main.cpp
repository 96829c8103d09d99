// postern-keygen: writes a new key pair as ssh-keygen does (FILE: openssh-key-v1, unencrypted,
// mode 0600; FILE.pub: "type base64 comment"), for the key types Debian 12's ssh-keygen cannot
// make: OpenSSH 10.5's ssh-mldsa44-ed25519@openssh.com. The package's maintainer script uses it
// for a host key sshd_config names; users for ~/.ssh/id_mldsa44_ed25519. With -s it certifies a
// public key as ssh-keygen -s does (PROTOCOL.certkeys), so such a key can be a CA or certified.
// Never overwrites.
//
// usage: postern-keygen -t mldsa44-ed25519|ed25519|ecdsa|rsa [-b bits] [-C comment] -f FILE
//        postern-keygen -s CA_KEY -I KEY_ID [-n PRINCIPAL,...] [-h] PUBLIC_KEY_FILE
#include <fcntl.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <fstream>
#include <sstream>

#include "common/ssh_cert_builder.h"
#include "common/ssh_key.h"
#include "common/unique_fd.h"

using namespace postern;

namespace {

constexpr const char* kUsage =
    "usage: postern-keygen -t mldsa44-ed25519|ed25519|ecdsa|rsa [-b bits] [-C comment] -f file\n"
    "       postern-keygen -s ca_key -I key_id [-n principals] [-h] public_key_file";
// A public key file is one line; anything longer is not one.
constexpr size_t kMaxPublicFile = 64 * 1024;

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "postern-keygen: %s\n", message.c_str());
  std::exit(1);
}

// ssh-keygen's -t names (and -b for ECDSA's curve).
bool key_type(std::string_view name, int bits, KeyType& out) {
  if (name == "mldsa44-ed25519")
    out = KeyType::kMlDsa44Ed25519;
  else if (name == "ed25519")
    out = KeyType::kEd25519;
  else if (name == "rsa")
    out = KeyType::kRsa;
  else if (name == "ecdsa" && (bits == 0 || bits == 256))
    out = KeyType::kEcdsaP256;
  else if (name == "ecdsa" && bits == 384)
    out = KeyType::kEcdsaP384;
  else if (name == "ecdsa" && bits == 521)
    out = KeyType::kEcdsaP521;
  else
    return false;
  return true;
}

// Creates `path` (it must not exist yet) and writes `text` to it.
void write_new(const std::string& path, std::string_view text, mode_t mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd) die(path + ": " + std::strerror(errno));
  while (!text.empty()) {
    ssize_t n = ::write(fd.get(), text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::string err = std::strerror(errno);
      ::unlink(path.c_str());
      die(path + ": " + err);
    }
    text.remove_prefix(size_t(n));
  }
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

// ssh-keygen -s: PUBLIC_KEY_FILE ("name.pub") certified by `ca_path` into "name-cert.pub", valid
// forever (ssh-keygen's default), with no critical options and, for user certificates,
// ssh-keygen's default extensions.
int certify(const std::string& ca_path, const std::string& key_id, const std::string& principals,
            bool host, const std::string& pub_path) {
  auto ca = PrivateKey::load_file(ca_path);
  if (!ca) die(ca.error().message);
  std::ifstream in(pub_path);
  std::string line;
  if (!in || !std::getline(in, line) || line.size() > kMaxPublicFile)
    die(pub_path + ": cannot read a public key line");
  auto key = PublicKey::from_openssh_text(line);
  if (!key) die(pub_path + ": " + key.error().message);
  CertificateFields f;
  f.type = host ? CertType::kHost : CertType::kUser;
  f.key_id = key_id;
  f.principals = split_commas(principals);
  f.valid_before = ~uint64_t(0);
  if (!host)
    for (const char* ext : {"permit-X11-forwarding", "permit-agent-forwarding",
                            "permit-port-forwarding", "permit-pty", "permit-user-rc"})
      f.extensions.push_back({ext, {}});
  auto cert = build_certificate(*key, f, *ca);
  if (!cert) die("cannot certify: " + cert.error().message);
  std::string out = pub_path;
  if (out.ends_with(".pub")) out.resize(out.size() - 4);
  out += "-cert.pub";
  write_new(out, cert->to_openssh_text() + "\n", 0644);
  std::printf("Signed %s key %s: id \"%s\" with %s CA\n", host ? "host" : "user", out.c_str(),
              key_id.c_str(), std::string(ca->public_key().log_name()).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string type_name, comment, path, ca_path, key_id, principals;
  bool host = false;
  int bits = 0;
  int opt;
  while ((opt = getopt(argc, argv, "t:b:C:f:s:I:n:h")) != -1) {
    if (opt == 's')
      ca_path = optarg;
    else if (opt == 'I')
      key_id = optarg;
    else if (opt == 'n')
      principals = optarg;
    else if (opt == 'h')
      host = true;
    else if (opt == 't')
      type_name = optarg;
    else if (opt == 'b')
      bits = std::atoi(optarg);
    else if (opt == 'C')
      comment = optarg;
    else if (opt == 'f')
      path = optarg;
    else
      die(kUsage);
  }
  if (!ca_path.empty()) {
    if (optind + 1 != argc || key_id.empty()) die(kUsage);
    return certify(ca_path, key_id, principals, host, argv[optind]);
  }
  KeyType type{};
  if (optind != argc || path.empty() || type_name.empty()) die(kUsage);
  if (!key_type(type_name, bits, type)) die("unsupported key type or size: " + type_name);
  if (::access(path.c_str(), F_OK) == 0 || ::access((path + ".pub").c_str(), F_OK) == 0)
    die(path + " already exists");
  auto key = PrivateKey::generate(type, bits > 0 ? bits : 3072);
  if (!key) die("cannot generate the key: " + key.error().message);
  std::string secret = key->to_openssh_text(comment);
  write_new(path, secret, 0600);
  OPENSSL_cleanse(secret.data(), secret.size());
  std::string pub = key->public_key().to_openssh_text();
  if (!comment.empty()) pub += " " + comment;
  write_new(path + ".pub", pub + "\n", 0644);
  std::printf("%zu %s %s (%s)\n", key->public_key().bits(),
              key->public_key().fingerprint_sha256().c_str(),
              comment.empty() ? "no comment" : comment.c_str(),
              std::string(key->public_key().log_name()).c_str());
  return 0;
}
