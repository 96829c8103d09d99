// One key exchange, both roles. See kex_driver.h.
#include "net/kex_driver.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

#include "common/log.h"
#include "common/ossl.h"
#include "common/protocol_error.h"
#include "common/ssh_cert.h"
#include "common/ssh_key.h"
#include "common/wire.h"
#include "net/compression.h"
#include "net/messages.h"
#include "net/moduli.h"

namespace postern::net {

namespace {

// The longest host key blob, signature or ECDH-style public value we read (RFC 4251 §5 strings
// in messages 30..33); finite-field values are mpints, bounded by the codec's mpint limit.
constexpr size_t kMaxKexString = 16 * 1024;
// RFC 8270: groups of at most 8192 bits, so p and g fit in 8192/8 bytes plus a sign byte.
constexpr size_t kMaxGexMpint = 8192 / 8 + 1;

void check_length(const Bytes& field, size_t max) {
  if (field.size() > max) throw ProtocolError("string too long");
}

bool cipher_is_aead(std::string_view name) {
  const CipherInfo* c = find_cipher(name);
  return c && c->aead;
}

// OpenSSH 9.2's HostKeyAlgorithms without certificates and security keys (sshd -T).
const std::vector<std::string>& default_host_key_algorithms() {
  static const std::vector<std::string> v = {"ssh-ed25519",         "ecdsa-sha2-nistp256",
                                             "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
                                             "rsa-sha2-512",        "rsa-sha2-256"};
  return v;
}

// Configured names we implement, in the configured order; the default offer when unset (never
// everything supported: that would offer CBC or SHA-1 methods nobody asked for).
std::vector<std::string> filter_supported(const std::vector<std::string>& configured,
                                          const std::vector<std::string>& supported,
                                          const std::vector<std::string>& defaults) {
  if (configured.empty()) return defaults;
  std::vector<std::string> out;
  for (const auto& n : configured)
    if (contains(supported, n) && !contains(out, n)) out.push_back(n);
  return out;
}

// An unsigned big-endian magnitude as an mpint's two's-complement bytes (RFC 4251 §5): leading
// zeros dropped, a zero byte added when the top bit is set.
Mpint mpint_from_magnitude(ByteView magnitude) {
  while (!magnitude.empty() && magnitude[0] == 0) magnitude = magnitude.subspan(1);
  Mpint m;
  if (!magnitude.empty() && (magnitude[0] & 0x80)) m.bytes.push_back(0);
  m.bytes.insert(m.bytes.end(), magnitude.begin(), magnitude.end());
  return m;
}

Bytes magnitude_of(const Mpint& m) {
  ByteView v(m.bytes);
  while (!v.empty() && v[0] == 0) v = v.subspan(1);
  return Bytes(v.begin(), v.end());
}

// The group size NIST SP 800-57 Part 1 Table 2 pairs with the strongest cipher or MAC key.
uint32_t gex_bits_for(const Negotiated& neg) {
  size_t need = 0;
  for (const std::string* c : {&neg.cipher_c2s, &neg.cipher_s2c})
    if (const CipherInfo* ci = find_cipher(*c))
      need = std::max({need, ci->key_len, ci->block_size});
  for (const std::string* m : {&neg.mac_c2s, &neg.mac_s2c})
    if (const MacInfo* mi = find_mac(*m)) need = std::max(need, mi->key_len);
  size_t bits = need * 8;
  if (bits <= 112) return 2048;
  if (bits <= 128) return 3072;
  if (bits <= 192) return 7680;
  return 8192;
}

Bytes digest(const EVP_MD* md, ByteView data) {
  Bytes out(EVP_MD_get_size(md));
  unsigned int len = 0;
  if (!EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr))
    throw ProtocolError(ossl_error("EVP_Digest"), DisconnectReason::kKeyExchangeFailed);
  out.resize(len);
  return out;
}

// RFC 4253 §7.2: K1 = HASH(K || H || X || session_id), Kn = HASH(K || H || K1 || ... || Kn-1).
// K arrives already encoded (mpint or string) and is hashed as is.
SecretBytes derive_key(const EVP_MD* md, ByteView k, ByteView h, char letter, ByteView session_id,
                       size_t need) {
  SecretBytes out;
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  uint8_t buf[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  auto fail = [] {
    throw ProtocolError(ossl_error("key derivation"), DisconnectReason::kKeyExchangeFailed);
  };
  if (!ctx || !EVP_DigestInit_ex(ctx.get(), md, nullptr) ||
      !EVP_DigestUpdate(ctx.get(), k.data(), k.size()) ||
      !EVP_DigestUpdate(ctx.get(), h.data(), h.size()) ||
      !EVP_DigestUpdate(ctx.get(), &letter, 1) ||
      !EVP_DigestUpdate(ctx.get(), session_id.data(), session_id.size()) ||
      !EVP_DigestFinal_ex(ctx.get(), buf, &len))
    fail();
  out.append(ByteView(buf, len));
  while (out.size() < need) {
    if (!EVP_DigestInit_ex(ctx.get(), md, nullptr) ||
        !EVP_DigestUpdate(ctx.get(), k.data(), k.size()) ||
        !EVP_DigestUpdate(ctx.get(), h.data(), h.size()) ||
        !EVP_DigestUpdate(ctx.get(), out.data(), out.size()) ||
        !EVP_DigestFinal_ex(ctx.get(), buf, &len))
      fail();
    out.append(ByteView(buf, len));
  }
  OPENSSL_cleanse(buf, sizeof buf);
  return out;
}

}  // namespace

KexInit make_kexinit_offer(const TransportConfig& cfg, bool first_kex) {
  bool server = cfg.role == Role::kServer;
  KexInit k;
  if (RAND_bytes(k.cookie.data(), int(k.cookie.size())) != 1)
    throw std::runtime_error("RAND_bytes failed");
  k.kex = filter_supported(cfg.kex_algorithms, supported_kex_methods(), default_kex_methods());
  if (server) {
    if (!cfg.host_key_signer) throw std::logic_error("server transport without host key signer");
    std::vector<std::string> have = cfg.host_key_signer->algorithms();
    const auto& wanted =
        cfg.host_key_algorithms.empty() ? default_host_key_algorithms() : cfg.host_key_algorithms;
    for (const auto& a : wanted)
      if (contains(have, a)) k.host_key.push_back(a);
    if (k.host_key.empty()) throw std::logic_error("no usable host key algorithms");
  } else {
    k.host_key =
        cfg.host_key_algorithms.empty() ? default_host_key_algorithms() : cfg.host_key_algorithms;
  }
  k.cipher_c2s = k.cipher_s2c =
      filter_supported(cfg.ciphers, supported_ciphers(), default_ciphers());
  k.mac_c2s = k.mac_s2c = filter_supported(cfg.macs, supported_macs(), default_macs());
  // Configured names we implement (zlib@openssh.com, none), in the configured order.
  k.comp_c2s = k.comp_s2c =
      filter_supported(cfg.compression, supported_compression(), {std::string(kCompressionNone)});
  // The pseudo-algorithms go into the first KEXINIT only (RFC 8308 §2.1, PROTOCOL §1.10).
  if (first_kex) {
    if (server) {
      k.kex.push_back(kStrictKexServer);
    } else {
      k.kex.push_back(kExtInfoClient);
      k.kex.push_back(kStrictKexClient);
    }
  }
  return k;
}

KexDriver::KexDriver(const TransportConfig& cfg, KexTranscript transcript, const KexInit& peer)
    : m_cfg(cfg), m_tr(std::move(transcript)) {
  KexInit mine = KexInit::parse(m_tr.our_kexinit);
  m_neg = negotiate(server() ? peer : mine, server() ? mine : peer, &cipher_is_aead);
  // RFC 4253 §7.1: the peer's guessed first packet is discarded when the guess was wrong.
  m_ignore_guessed = peer.first_kex_packet_follows && m_neg.ignore_guessed_packet;
  log_debug("kex: algorithm: %s", m_neg.kex.c_str());
  log_debug("kex: host key algorithm: %s", m_neg.host_key.c_str());
  log_debug("kex: client->server cipher: %s MAC: %s compression: %s", m_neg.cipher_c2s.c_str(),
            m_neg.mac_c2s.empty() ? "<implicit>" : m_neg.mac_c2s.c_str(), m_neg.comp_c2s.c_str());
  log_debug("kex: server->client cipher: %s MAC: %s compression: %s", m_neg.cipher_s2c.c_str(),
            m_neg.mac_s2c.empty() ? "<implicit>" : m_neg.mac_s2c.c_str(), m_neg.comp_s2c.c_str());
  m_gex = is_group_exchange(m_neg.kex);
  if (!m_gex) {
    m_method = make_kex_method(m_neg.kex);
    if (!m_method)
      throw ProtocolError("unsupported kex method " + m_neg.kex,
                          DisconnectReason::kKeyExchangeFailed);
  }
  if (server())
    m_await = m_gex ? Await::kGexRequest : Await::kInit;
  else
    m_await = m_gex ? Await::kGexGroup : Await::kReply;
}

KexDriver::~KexDriver() = default;

KexStep KexDriver::start() {
  if (server()) return {};
  if (!m_gex) return client_init();
  // RFC 4419 §3, with the group size NIST SP 800-57 pairs with our strongest cipher/MAC.
  m_gex_min = 2048;
  m_gex_n = gex_bits_for(m_neg);
  m_gex_max = 8192;
  KexStep out{encode(GexRequestMsg{m_gex_min, m_gex_n, m_gex_max}), nullptr};
  log_debug("SSH2_MSG_KEX_DH_GEX_REQUEST(%u<%u<%u) sent", m_gex_min, m_gex_n, m_gex_max);
  return out;
}

KexStep KexDriver::step(ByteView m) {
  if (m_ignore_guessed) {
    m_ignore_guessed = false;
    return {};
  }
  uint8_t t = m[0];
  switch (m_await) {
    case Await::kInit:
      if (t == kMsgKexEcdhInit) return server_reply(m);
      break;
    case Await::kGexRequest:
      if (t == kMsgKexGexRequest) return server_gex_request(m);
      break;
    case Await::kGexInit:
      if (t == kMsgKexGexInit) return server_reply(m);
      break;
    case Await::kGexGroup:
      if (t == kMsgKexGexGroup) return client_gex_group(m);
      break;
    case Await::kReply:
      if (t == kMsgKexEcdhReply) return client_finish(m);
      break;
    case Await::kGexReply:
      if (t == kMsgKexGexReply) return client_finish(m);
      break;
    case Await::kNewKeys:
      break;
  }
  throw ProtocolError("unexpected key exchange message type " + std::to_string(t),
                      DisconnectReason::kProtocolError);
}

KexStep KexDriver::server_gex_request(ByteView m) {
  auto req = decode<GexRequestMsg>(m);
  m_gex_min = req.min;
  m_gex_n = req.n;
  m_gex_max = req.max;
  // RFC 4419 §3; choose_group clamps to [2048, 8192] (RFC 8270) and refuses min > n > max.
  // The hash uses the values as the client sent them.
  Result<DhGroup> group = m_cfg.choose_dh_group
                              ? m_cfg.choose_dh_group(req.min, req.n, req.max)
                              : choose_group(m_cfg.moduli_file, req.min, req.n, req.max);
  if (!group)
    throw ProtocolError("DH_GEX group out of range: " + group.error().message,
                        DisconnectReason::kKeyExchangeFailed);
  m_gex_p = group->p;
  m_gex_g = group->g;
  m_method = make_dh_kex(m_neg.kex, group_exchange_hash(m_neg.kex), m_gex_p, m_gex_g);
  if (!m_method) throw ProtocolError("DH group rejected", DisconnectReason::kKeyExchangeFailed);
  m_await = Await::kGexInit;
  return {encode(GexGroupMsg{mpint_from_magnitude(m_gex_p), mpint_from_magnitude(m_gex_g)}),
          nullptr};
}

KexStep KexDriver::client_gex_group(ByteView m) {
  auto group = decode<GexGroupMsg>(m);
  check_length(group.p.bytes, kMaxGexMpint);
  check_length(group.g.bytes, kMaxGexMpint);
  m_gex_p = magnitude_of(group.p);
  m_gex_g = magnitude_of(group.g);
  size_t bits = m_gex_p.empty() ? 0 : m_gex_p.size() * 8 - size_t(__builtin_clz(m_gex_p[0]) - 24);
  if (bits < m_gex_min || bits > m_gex_max)
    throw ProtocolError("DH_GEX group out of range: " + std::to_string(bits) + " bits",
                        DisconnectReason::kKeyExchangeFailed);
  m_method = make_dh_kex(m_neg.kex, group_exchange_hash(m_neg.kex), m_gex_p, m_gex_g);
  if (!m_method) throw ProtocolError("DH group rejected", DisconnectReason::kKeyExchangeFailed);
  return client_init();
}

// The client's ephemeral public value: GEX_INIT after a group exchange (RFC 4419 §3), else the
// method's INIT, whose value is an mpint for finite-field DH (RFC 4253 §8) and a string for the
// ECDH-style methods (RFC 5656 §7.1).
KexStep KexDriver::client_init() {
  m_client_public = m_method->client_public();
  KexStep out;
  if (m_gex) {
    out.send = encode(GexInitMsg{Mpint{m_client_public}});
    m_await = Await::kGexReply;
  } else {
    out.send = m_method->public_is_mpint() ? encode(KexDhInitMsg{Mpint{m_client_public}})
                                           : encode(KexEcdhInitMsg{m_client_public});
    m_await = Await::kReply;
  }
  return out;
}

KexStep KexDriver::server_reply(ByteView m) {
  Bytes e;
  if (m_gex) {
    e = decode<GexInitMsg>(m).e.bytes;
  } else if (m_method->public_is_mpint()) {
    e = decode<KexDhInitMsg>(m).e.bytes;
  } else {
    e = decode<KexEcdhInitMsg>(m).q_c;
    check_length(e, kMaxKexString);
  }
  auto res = m_method->server_respond(e);
  if (!res)
    throw ProtocolError("key exchange failed: " + res.error().message,
                        DisconnectReason::kKeyExchangeFailed);
  HostKeySigner& signer = *m_cfg.host_key_signer;
  Bytes k_s = signer.public_key_blob(m_neg.host_key);
  Bytes h = exchange_hash(k_s, e, res->server_public, res->shared_secret);
  if (m_tr.session_id.empty()) m_tr.session_id = h;
  auto sig = signer.sign(m_neg.host_key, h);
  if (!sig)
    throw ProtocolError("host key signing failed: " + sig.error().message,
                        DisconnectReason::kKeyExchangeFailed);
  KexStep out;
  if (m_gex)
    out.send = encode(GexReplyMsg{k_s, Mpint{res->server_public}, *sig});
  else if (m_method->public_is_mpint())
    out.send = encode(KexDhReplyMsg{k_s, Mpint{res->server_public}, *sig});
  else
    out.send = encode(KexEcdhReplyMsg{k_s, res->server_public, *sig});
  out.keys = derive_keys(res->shared_secret, h);
  return out;
}

KexStep KexDriver::client_finish(ByteView m) {
  Bytes k_s, f, sig;
  if (m_gex) {
    auto r = decode<GexReplyMsg>(m);
    k_s = std::move(r.host_key), f = std::move(r.f.bytes), sig = std::move(r.signature);
  } else if (m_method->public_is_mpint()) {
    auto r = decode<KexDhReplyMsg>(m);
    k_s = std::move(r.host_key), f = std::move(r.f.bytes), sig = std::move(r.signature);
  } else {
    auto r = decode<KexEcdhReplyMsg>(m);
    k_s = std::move(r.host_key), f = std::move(r.q_s), sig = std::move(r.signature);
    check_length(f, kMaxKexString);
  }
  check_length(k_s, kMaxKexString);
  check_length(sig, kMaxKexString);
  // A host certificate (PROTOCOL.certkeys) signs with the key it certifies, under the plain
  // algorithm; whether its CA is trusted is verify_host_key's business.
  std::string_view plain_alg = certificate_signature_algorithm(m_neg.host_key);
  bool is_cert = !plain_alg.empty();
  Result<PublicKey> key = Unexpected(std::string("no key"));
  if (is_cert) {
    auto cert = Certificate::from_blob(k_s);
    if (!cert || cert->cert_type() != CertType::kHost ||
        cert->type_name() != certificate_type_for_algorithm(m_neg.host_key))
      throw ProtocolError(
          "bad server host certificate" + (cert ? std::string() : ": " + cert.error().message),
          DisconnectReason::kKeyExchangeFailed);
    key = cert->key();
  } else {
    key = PublicKey::from_blob(k_s);
    plain_alg = m_neg.host_key;
  }
  if (!key)
    throw ProtocolError("bad server host key: " + key.error().message,
                        DisconnectReason::kKeyExchangeFailed);
  if (!contains(key->signature_algorithms(), std::string(plain_alg)))
    throw ProtocolError("type mismatch for decoded server host key",
                        DisconnectReason::kKeyExchangeFailed);
  auto secret = m_method->client_finish(f);
  if (!secret)
    throw ProtocolError("key exchange failed: " + secret.error().message,
                        DisconnectReason::kKeyExchangeFailed);
  Bytes h = exchange_hash(k_s, m_client_public, f, *secret);
  std::string alg;
  if (!key->verify(sig, h, &alg) || alg != plain_alg)
    throw ProtocolError("signature verification failed", DisconnectReason::kKeyExchangeFailed);
  if (!m_cfg.verify_host_key || !m_cfg.verify_host_key(k_s))
    throw ProtocolError("Host key verification failed.", DisconnectReason::kHostKeyNotVerifiable);
  if (m_tr.session_id.empty()) m_tr.session_id = h;
  return {Bytes{}, derive_keys(*secret, h)};
}

// H = HASH(V_C || V_S || I_C || I_S || K_S || [gex params] || e || f || K): RFC 4253 §8,
// RFC 5656 §4, RFC 8731 §3, RFC 4419 §3.
Bytes KexDriver::exchange_hash(ByteView k_s, ByteView e, ByteView f, ByteView k) const {
  const std::string& v_c = server() ? m_tr.peer_version : m_cfg.version;
  const std::string& v_s = server() ? m_cfg.version : m_tr.peer_version;
  const Bytes& i_c = server() ? m_tr.peer_kexinit : m_tr.our_kexinit;
  const Bytes& i_s = server() ? m_tr.our_kexinit : m_tr.peer_kexinit;
  Writer w;
  w.string(v_c).string(v_s).string(ByteView(i_c)).string(ByteView(i_s)).string(k_s);
  if (m_gex) {
    w.u32(m_gex_min).u32(m_gex_n).u32(m_gex_max);
    w.mpint_unsigned(m_gex_p).mpint_unsigned(m_gex_g);
  }
  w.string(e).string(f).raw(k);
  Bytes h = digest(m_method->hash(), w.buffer());
  OPENSSL_cleanse(w.buffer().data(), w.buffer().size());
  return h;
}

// RFC 4253 §7.2: both directions' IVs, keys and MAC keys from K, H and the session identifier.
std::unique_ptr<KexKeys> KexDriver::derive_keys(const SecretBytes& k, const Bytes& h) {
  const EVP_MD* md = m_method->hash();
  auto make = [&](bool c2s) {
    const std::string& cname = c2s ? m_neg.cipher_c2s : m_neg.cipher_s2c;
    const std::string& mname = c2s ? m_neg.mac_c2s : m_neg.mac_s2c;
    const CipherInfo* ci = find_cipher(cname);
    const MacInfo* mi = mname.empty() ? nullptr : find_mac(mname);
    if (!ci || (!ci->aead && !mi))
      throw ProtocolError("unsupported cipher or MAC", DisconnectReason::kKeyExchangeFailed);
    const Bytes& sid = m_tr.session_id;
    SecretBytes iv = derive_key(md, k, h, c2s ? 'A' : 'B', sid, ci->iv_len);
    SecretBytes key = derive_key(md, k, h, c2s ? 'C' : 'D', sid, ci->key_len);
    SecretBytes mkey;
    if (mi) mkey = derive_key(md, k, h, c2s ? 'E' : 'F', sid, mi->key_len);
    bool encrypt = server() ? !c2s : c2s;
    return make_packet_cipher(*ci, mi, key, iv, mkey, encrypt);
  };
  std::unique_ptr<PacketCipher> c2s = make(true);
  std::unique_ptr<PacketCipher> s2c = make(false);
  auto keys = std::make_unique<KexKeys>();
  keys->tx = std::move(server() ? s2c : c2s);
  keys->rx = std::move(server() ? c2s : s2c);
  keys->session_id = m_tr.session_id;
  // The ephemeral private half is no longer needed.
  m_method.reset();
  m_await = Await::kNewKeys;
  return keys;
}

}  // namespace postern::net
