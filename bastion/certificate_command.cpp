#include "bastion/certificate_command.h"

#include <charconv>

#include "common/ssh_key.h"
#include "common/wire.h"

namespace postern::bastion {
namespace {

constexpr std::string_view kVerb = "certificate";
constexpr size_t kMaxName = 255;

bool printable_word(std::string_view s) {
  if (s.empty() || s.size() > kMaxName) return false;
  for (char c : s)
    if (c <= 0x20 || c >= 0x7f) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

const char kUsage[] = "usage: certificate TARGETUSER@TARGET[:PORT] < key.pub";

}  // namespace

bool is_certificate_command(std::string_view command) {
  command = trim(command);
  if (command.substr(0, kVerb.size()) != kVerb) return false;
  return command.size() == kVerb.size() || command[kVerb.size()] == ' ' ||
         command[kVerb.size()] == '\t';
}

Result<CertificateCommand> parse_certificate_command(std::string_view command) {
  if (!is_certificate_command(command)) return Unexpected(kUsage);
  std::string_view arg = trim(trim(command).substr(kVerb.size()));
  if (!printable_word(arg)) return Unexpected(kUsage);  // no argument, or more than one
  size_t at = arg.find('@');
  if (at == std::string_view::npos || at == 0) return Unexpected(kUsage);
  CertificateCommand c;
  c.target_user = std::string(arg.substr(0, at));
  std::string_view host = arg.substr(at + 1);
  std::string_view port;
  if (!host.empty() && host.front() == '[') {  // an IPv6 literal: [addr] or [addr]:port
    size_t close = host.find(']');
    if (close == std::string_view::npos) return Unexpected(kUsage);
    std::string_view rest = host.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || rest.size() == 1)) return Unexpected(kUsage);
    if (!rest.empty()) port = rest.substr(1);
    host = host.substr(1, close - 1);
  } else if (size_t colon = host.find(':'); colon != std::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (host.empty() || host.find('@') != std::string_view::npos) return Unexpected(kUsage);
  c.target = std::string(host);
  if (!port.empty() || arg.back() == ':') {
    uint32_t p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p == 0 ||
        p > 65535)
      return Unexpected("certificate: the port must be a number from 1 to 65535");
    c.port = p;
  }
  return c;
}

Result<KeyInput> parse_key_input(std::string_view input) {
  if (input.size() > kMaxKeyInput)
    return Unexpected("the key is longer than " + std::to_string(kMaxKeyInput) + " bytes");
  std::string_view line;
  while (!input.empty()) {
    size_t nl = input.find('\n');
    std::string_view l = trim(input.substr(0, nl));
    input = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
    if (l.empty()) continue;
    if (!line.empty()) return Unexpected("expected one public key line (id.pub), got more");
    line = l;
  }
  if (line.empty()) return Unexpected("no public key on standard input (send id.pub)");
  auto text = split_openssh_public_text(line, kMaxKeyInput);
  if (!text) return Unexpected("standard input is not an OpenSSH public key line (id.pub)");
  // The blob names its own type (RFC 4253 §6.6); it must be the line's.
  try {
    Reader r(text->blob);
    if (r.text(kMaxName) != text->type) return Unexpected("the key's type does not match its line");
  } catch (const std::exception&) {
    return Unexpected("standard input is not an OpenSSH public key line (id.pub)");
  }
  KeyInput k;
  k.blob = std::move(text->blob);
  // The comment is the rest of the line after type and base64; kept printable for the output.
  size_t sp1 = line.find_first_of(" \t");
  size_t b64 = line.find_first_not_of(" \t", sp1);
  size_t sp2 = b64 == std::string_view::npos ? b64 : line.find_first_of(" \t", b64);
  if (sp2 != std::string_view::npos) {
    for (char c : trim(line.substr(sp2)).substr(0, kMaxName))
      k.comment += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return k;
}

}  // namespace postern::bastion
