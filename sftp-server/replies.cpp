// Building and sending replies: STATUS (with the errno mapping), HANDLE, ATTRS and NAME.
#include "sftp-server/server.h"

#include <cerrno>

#include "common/be_bytes.h"
#include "common/log.h"

namespace postern::sftp {

uint32_t status_from_errno(int err) {
  switch (err) {
    case 0:
      return kFxOk;
    case ENOENT:
    case ENOTDIR:
    case EBADF:
    case ELOOP:
      return kFxNoSuchFile;
    case EPERM:
    case EACCES:
    case EFAULT:
      return kFxPermissionDenied;
    case ENAMETOOLONG:
    case EINVAL:
      return kFxBadMessage;
    case ENOSYS:
    case EOPNOTSUPP:
      return kFxOpUnsupported;
    default:
      return kFxFailure;
  }
}

Writer& Server::begin_packet(uint8_t type) {
  m_reply_bytes.clear();
  m_reply.u32(0).u8(type);
  return m_reply;
}

Writer& Server::begin_reply(uint8_t type, uint32_t id) {
  return begin_packet(type).u32(id);
}

void Server::end_reply() {
  store_be32(m_reply_bytes.data(), uint32_t(m_reply_bytes.size() - 4));
  m_out.append(m_reply_bytes);
}

void Server::send_status(uint32_t id, uint32_t code, const char* message) {
  if (!message) message = status_message(code);
  // OpenSSH logs failures at INFO; success and end-of-file are routine.
  if (code == kFxOk || code == kFxEof)
    log_debug("sent status %s", message);
  else
    log_info("sent status %s", message);
  begin_reply(kFxpStatus, id).u32(code).string(message).string("");
  end_reply();
}

void Server::send_errno(uint32_t id, int err) {
  send_status(id, status_from_errno(err));
}

void Server::send_handle(uint32_t id, const uint8_t (&name)[kHandleSize]) {
  begin_reply(kFxpHandle, id).string(ByteView(name, kHandleSize));
  end_reply();
}

void Server::send_attrs(uint32_t id, const struct stat& st) {
  write_attrs(begin_reply(kFxpAttrs, id), attrs_from_stat(st));
  end_reply();
}

void Server::send_single_name(uint32_t id, const std::string& name) {
  // draft §7 SSH_FXP_NAME with one entry and no attributes, as REALPATH and READLINK reply.
  Writer& w = begin_reply(kFxpName, id);
  w.u32(1).string(name).string(name);
  write_attrs(w, Attrs{});
  end_reply();
}

}  // namespace postern::sftp
