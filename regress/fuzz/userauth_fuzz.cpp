// Userauth requests (RFC 4252, RFC 4256, OpenSSH PROTOCOL §2.5) as the pre-auth child's
// UserauthServer handles them after the transport decrypted them: the input is a sequence of
// messages framed by fuzz_input.h's split_frames. The monitor is a fake that accepts "alice",
// allows every key (so the PK_OK and signature paths run), takes the password "secret" and asks
// two keyboard-interactive questions.
#include <cstddef>
#include <cstdint>

#include "common/ssh_key.h"
#include "net/transport.h"
#include "net/userauth_server.h"
#include "regress/fuzz/fuzz_input.h"

using namespace postern;
using namespace postern::net;

namespace {

class FuzzDecider : public AuthDecider {
 public:
  User user(const std::string& name, const std::string&) override {
    return User{
        name == "alice", 6, {"publickey", "password", "keyboard-interactive", "hostbased"}, ""};
  }
  Decision key_allowed(const std::string&, ByteView key, bool) override {
    return Decision{PublicKey::from_blob(key).has_value(), false, false, {}};
  }
  Decision key_verify(const std::string& alg, ByteView key, ByteView signature,
                      ByteView signed_data) override {
    auto pk = PublicKey::from_blob(key);
    std::string sig_alg;
    bool ok = pk && pk->verify(signature, signed_data, &sig_alg) && sig_alg == alg;
    return Decision{ok, false, false, {}};
  }
  Decision password(ByteView password) override {
    return Decision{as_string(password) == "secret", false, false, {}};
  }
  KbdintStep kbdint_start(const std::string&) override {
    KbdintStep s;
    s.instruction = "fuzz";
    s.prompts = {"Password: ", "Code: "};
    s.echo = {false, true};
    return s;
  }
  KbdintStep kbdint_respond(const std::vector<ByteView>& responses) override {
    KbdintStep s;
    s.done = true;
    s.decision.ok = responses.size() == 2 && as_string(responses[0]) == "secret";
    return s;
  }
  Decision hostbased(const std::string&, ByteView key, const std::string&, const std::string&,
                     ByteView) override {
    (void)PublicKey::from_blob(key);
    return {};
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  TransportConfig config;
  config.role = Role::kServer;
  Transport transport(config);
  FuzzDecider decider;
  UserauthServer server(transport, decider, Endpoint{"192.0.2.9", 4242});
  try {
    for (ByteView message : fuzz::split_frames(data, size)) {
      if (message.empty()) continue;  // the transport never passes up an empty payload
      server.handle(message);
      (void)server.user_description();
    }
  } catch (const ProtocolError&) {
  } catch (const AuthAborted&) {
  }
  return 0;
}
