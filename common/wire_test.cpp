#include "common/wire.h"

#include <gtest/gtest.h>

namespace postern {
namespace {

struct ChannelRequestMsg {
  static constexpr uint8_t kType = 98;
  uint32_t recipient;
  std::string request;
  bool want_reply;
  Rest data;
  auto fields() { return std::tie(recipient, request, want_reply, data); }
};

TEST(Wire, MessageRoundTrip) {
  ChannelRequestMsg m{7, "exec", true, Rest{to_bytes("tail")}};
  Bytes b = encode(m);
  auto d = decode<ChannelRequestMsg>(b);
  EXPECT_EQ(d.recipient, 7u);
  EXPECT_EQ(d.request, "exec");
  EXPECT_TRUE(d.want_reply);
  EXPECT_EQ(d.data.bytes, to_bytes("tail"));
}

TEST(Wire, WrongTypeAndTruncationThrow) {
  ChannelRequestMsg m{7, "exec", true, Rest{}};
  Bytes b = encode(m);
  b[0] = 99;
  EXPECT_THROW(decode<ChannelRequestMsg>(b), ProtocolError);
  b[0] = 98;
  b.resize(8);
  EXPECT_THROW(decode<ChannelRequestMsg>(b), ProtocolError);
}

// A payload nested in a message: no type byte, and the bound is in the field's type.
struct BoundedPayload {
  static constexpr const char* kName = "bounded payload";
  Text<4> name;
  uint32_t n = 0;
  auto fields() { return std::tie(name, n); }
};

TEST(Wire, TextBoundIsEnforcedByDecode) {
  Bytes ok = encode(BoundedPayload{"abcd", 5});
  EXPECT_EQ(hex(ok),
            "00000004"
            "61626364"
            "00000005");
  auto d = decode<BoundedPayload>(ok);
  EXPECT_EQ(d.name.value, "abcd");
  EXPECT_EQ(d.n, 5u);
  EXPECT_THROW(decode<BoundedPayload>(encode(BoundedPayload{"abcde", 5})), ProtocolError);
  ok.push_back(0);
  try {
    decode<BoundedPayload>(ok);
    FAIL() << "trailing byte accepted";
  } catch (const ProtocolError& e) {
    EXPECT_STREQ(e.what(), "trailing bytes after bounded payload");
  }
}

TEST(Wire, StringLengthIsBounded) {
  Bytes b = {0xff, 0xff, 0xff, 0xff, 1, 2, 3};
  Reader r(b);
  EXPECT_THROW(r.string(), ProtocolError);
}

// RFC 4251 §5 mpint examples.
TEST(Wire, MpintEncoding) {
  Writer w;
  w.mpint_unsigned(from_hex("0000"));
  w.mpint_unsigned(from_hex("09a378f9b2e332a7"));
  w.mpint_unsigned(from_hex("80"));
  EXPECT_EQ(hex(w.buffer()), "00000000" "0000000809a378f9b2e332a7" "000000020080");
  Reader r(w.buffer());
  EXPECT_TRUE(r.mpint().empty());
  EXPECT_EQ(hex(r.mpint()), "09a378f9b2e332a7");
  EXPECT_EQ(hex(r.mpint()), "0080");
  Bytes neg = from_hex("00000001ff");
  Reader rn(neg);
  EXPECT_THROW(rn.mpint(), ProtocolError);
  Bytes nonmin = from_hex("000000020001");
  Reader rm(nonmin);
  EXPECT_THROW(rm.mpint(), ProtocolError);
}

TEST(Wire, NameList) {
  Writer w;
  w.name_list({"a", "bc"});
  Reader r(w.buffer());
  EXPECT_EQ(r.name_list(), (std::vector<std::string>{"a", "bc"}));
  Bytes bad = from_hex("00000003612c2c");
  Reader rb(bad);
  EXPECT_THROW(rb.name_list(), ProtocolError);
}

TEST(Bytes, Base64) {
  Bytes out;
  ASSERT_TRUE(base64_decode("Zm9vYg==", out));
  EXPECT_EQ(as_string(out), "foob");
  EXPECT_EQ(base64_encode(to_bytes("foob")), "Zm9vYg==");
  EXPECT_EQ(base64_encode(to_bytes("foob"), false), "Zm9vYg");
  EXPECT_FALSE(base64_decode("Zm9v!g==", out));
}

}  // namespace
}  // namespace postern
