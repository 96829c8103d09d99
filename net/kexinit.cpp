#include "net/kexinit.h"

#include <algorithm>

#include "common/join.h"
#include "common/protocol_error.h"
#include "common/wire.h"
#include "net/messages.h"

namespace postern::net {

namespace {

// A name-list in KEXINIT is bounded well below the packet limit; OpenSSH's own lists are < 2 KiB.
constexpr size_t kMaxNameList = 64 * 1024;

bool is_pseudo(std::string_view name) {
  return name == kExtInfoClient || name == kExtInfoServer || name == kStrictKexClient ||
         name == kStrictKexServer;
}

// RFC 4253 §7.1: "the first algorithm on the client's name-list that is also on the server's".
std::string pick(const char* what, const std::vector<std::string>& client,
                 const std::vector<std::string>& server) {
  for (const auto& c : client) {
    if (is_pseudo(c)) continue;
    if (contains(server, c)) return c;
  }
  throw ProtocolError(std::string("no matching ") + what + " found: client " + join(client, ",") +
                          " server " + join(server, ","),
                      DisconnectReason::kKeyExchangeFailed);
}

}  // namespace

bool contains(const std::vector<std::string>& list, std::string_view name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

Bytes KexInit::encode() const {
  Writer w;
  w.u8(kMsgKexInit);
  w.raw(cookie);
  for (const auto* l : {&kex, &host_key, &cipher_c2s, &cipher_s2c, &mac_c2s, &mac_s2c, &comp_c2s,
                        &comp_s2c, &lang_c2s, &lang_s2c})
    w.name_list(*l);
  w.boolean(first_kex_packet_follows);
  w.u32(0);  // reserved
  return w.take();
}

KexInit KexInit::parse(ByteView payload) {
  Reader r(payload);
  if (r.u8() != kMsgKexInit) throw ProtocolError("not a KEXINIT");
  KexInit k;
  ByteView c = r.raw(16);
  std::copy(c.begin(), c.end(), k.cookie.begin());
  for (auto* l : {&k.kex, &k.host_key, &k.cipher_c2s, &k.cipher_s2c, &k.mac_c2s, &k.mac_s2c,
                  &k.comp_c2s, &k.comp_s2c, &k.lang_c2s, &k.lang_s2c})
    *l = r.name_list(kMaxNameList);
  k.first_kex_packet_follows = r.boolean();
  r.u32();  // reserved for future extension
  r.expect_done("KEXINIT");
  return k;
}

Negotiated negotiate(const KexInit& client, const KexInit& server,
                     bool (*is_aead)(std::string_view)) {
  Negotiated n;
  // Every method we implement needs a signature-capable host key, so the §7.1 compatibility
  // rule reduces to: both the kex method and a host key algorithm must match.
  n.kex = pick("key exchange method", client.kex, server.kex);
  n.host_key = pick("host key type", client.host_key, server.host_key);
  n.cipher_c2s = pick("cipher", client.cipher_c2s, server.cipher_c2s);
  n.cipher_s2c = pick("cipher", client.cipher_s2c, server.cipher_s2c);
  if (!is_aead(n.cipher_c2s)) n.mac_c2s = pick("MAC", client.mac_c2s, server.mac_c2s);
  if (!is_aead(n.cipher_s2c)) n.mac_s2c = pick("MAC", client.mac_s2c, server.mac_s2c);
  n.comp_c2s = pick("compression method", client.comp_c2s, server.comp_c2s);
  n.comp_s2c = pick("compression method", client.comp_s2c, server.comp_s2c);
  // RFC 4253 §7.1: a guess is wrong when either side's preferred kex or host key algorithm is
  // not the negotiated one. Only the sender's flag matters; the caller applies it to the peer.
  auto first_real = [](const std::vector<std::string>& v) -> std::string {
    for (const auto& s : v)
      if (!is_pseudo(s)) return s;
    return {};
  };
  n.ignore_guessed_packet = first_real(client.kex) != first_real(server.kex) ||
                            client.host_key.empty() || server.host_key.empty() ||
                            client.host_key.front() != server.host_key.front();
  return n;
}

}  // namespace postern::net
