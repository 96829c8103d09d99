// A PacketSink for tests: collects what the code under test sends to a peer.
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "session/packet_sink.h"

namespace postern::bastion {

class CollectingSink : public session::PacketSink {
 public:
  void send(ByteView payload) override { sent.emplace_back(payload.begin(), payload.end()); }
  bool can_send_direct() const override { return direct; }
  MutableByteView begin_packet(size_t len) override {
    sent.emplace_back(len);
    return MutableByteView(sent.back());
  }
  void commit_packet() override {}
  void send_unimplemented() override { ++unimplemented; }
  size_t queued_bytes() const override { return 0; }
  // The oldest message not yet looked at.
  Bytes take() {
    EXPECT_FALSE(sent.empty());
    if (sent.empty()) return {};
    Bytes b = sent.front();
    sent.erase(sent.begin());
    return b;
  }
  std::vector<Bytes> sent;
  bool direct = true;
  int unimplemented = 0;
};

}  // namespace postern::bastion
