// RECORDING_OPEN (../shared/BASTION.md "Files"): the monitor, never sshd-bastion, creates each
// recording file, so the session process cannot name, replace or delete one. It decides from the
// policy's `record` whether an allowed shell or exec is recorded, opens the file, writes its
// header and passes the descriptor; when that channel closes, its close event carries the file's
// path and SHA-256, read back here as root.
#include <algorithm>
#include <ctime>
#include <string>

#include "bastion/recording_store.h"
#include "common/ipc_bastion_messages.h"
#include "common/log.h"
#include "monitor/bastion_session.h"
#include "monitor/monitor.h"

namespace postern::monitor {

using namespace ipc;

namespace {

constexpr size_t kMaxCommand = 1024;
constexpr size_t kMaxTerm = 256;
constexpr uint32_t kMaxTerminalSide = 10000;

uint64_t realtime_us() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000000 + uint64_t(ts.tv_nsec) / 1000;
}

}  // namespace

Phase Monitor::on_recording_open(Channel& ch, Message& m) {
  auto req = ipc::decode<RecordingOpenRequest>(m.data.view());
  BastionSession& b = bastion();
  BastionTarget* t = b.find_target(req.target_id);
  if (t == nullptr || t->target_user.empty() || (req.kind != "shell" && req.kind != "exec") ||
      req.command.size() > kMaxCommand || req.term.size() > kMaxTerm ||
      req.width > kMaxTerminalSide || req.height > kMaxTerminalSide)
    throw ProtocolError("monitor: malformed RECORDING_OPEN");
  // Only a channel the monitor allowed as this kind, once: sshd-bastion cannot make files at
  // will.
  auto allowed = t->channel_kinds.find(req.channel);
  if (allowed == t->channel_kinds.end() || allowed->second != req.kind ||
      t->recordings.count(req.channel) != 0)
    throw ProtocolError("monitor: RECORDING_OPEN for a channel not allowed as " + req.kind);
  const bastion::Settings& s = b.policy().bastion;
  RecordingOpenReply reply;
  if (std::find(s.record.begin(), s.record.end(), req.kind) == s.record.end()) {
    ch.send(reply);
    return Phase::kBastion;
  }
  bastion::RecordingInfo info;
  info.session = b.id();
  info.bastion_user = b.subject().user;
  info.target = t->target.name;
  info.target_user = t->target_user;
  info.channel = req.kind;
  info.command = req.command;
  info.term = req.term;
  info.width = req.width == 0 ? 80 : req.width;  // a pty-req may leave the size to the pixels
  info.height = req.height == 0 ? 24 : req.height;
  info.unix_seconds = realtime_us() / 1000000;
  info.client_channel = req.channel;
  auto opened = bastion::open_recording(s.recordings, info);
  if (!opened) {
    // Evidence is not dropped silently: fail closed unless the policy says record_failure =
    // "allow"; either way the audit log says why.
    bastion::AuditEvent ev;
    ev.event = "recording";
    ev.target = t->target.name;
    ev.target_user = t->target_user;
    ev.channel = req.kind;
    ev.role = t->role;
    ev.decision = s.record_failure_allow ? "allow" : "deny";
    ev.reason = opened.error().message +
                (s.record_failure_allow ? " (record_failure = allow: not recorded)" : "");
    ev.detail = "channel " + std::to_string(req.channel);
    b.audit(ev);
    log_error("bastion: %s", opened.error().message.c_str());
    if (!s.record_failure_allow) {
      reply.refused = true;
      reply.message = "postern: this " + req.kind +
                      " must be recorded and the bastion cannot write the recording; refused";
    }
    ch.send(reply);
    return Phase::kBastion;
  }
  t->recordings[req.channel] = opened->path;
  reply.recorded = true;
  reply.record_input = s.record_input;
  reply.max_bytes = s.record_max_bytes;
  reply.header_bytes = opened->header_bytes;
  reply.start_unix_us = info.unix_seconds * 1000000;
  int raw = opened->fd.get();
  ch.send(reply, std::span<const int>(&raw, 1));
  return Phase::kBastion;
}

void finish_recording(BastionTarget& t, uint32_t channel, bastion::AuditEvent& ev) {
  auto it = t.recordings.find(channel);
  if (it == t.recordings.end()) return;
  ev.recording = it->second;
  auto sha = bastion::file_sha256_hex(it->second);
  if (sha)
    ev.recording_sha256 = *sha;
  else
    log_error("bastion: recording %s: %s", it->second.c_str(), sha.error().message.c_str());
  t.recordings.erase(it);
}

}  // namespace postern::monitor
