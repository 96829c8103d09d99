#include "bastion/libpq_api.h"

#include "bastion/shared_library.h"

namespace postern::bastion {
namespace {

Result<LibPq> load() {
  // The soname of Debian 12's libpq5 (PostgreSQL 15), whose ABI has not changed since 8.x.
  auto lib = SharedLibrary::open("libpq.so.5");
  if (!lib) return Unexpected(lib.error());
  LibPq api{};
  lib->bind("PQconnectdb", api.connectdb);
  lib->bind("PQstatus", api.status);
  lib->bind("PQerrorMessage", api.error_message);
  lib->bind("PQfinish", api.finish);
  lib->bind("PQsetNoticeProcessor", api.set_notice_processor);
  lib->bind("PQexecParams", api.exec_params);
  lib->bind("PQresultStatus", api.result_status);
  lib->bind("PQresultErrorMessage", api.result_error_message);
  lib->bind("PQclear", api.clear);
  lib->bind("PQntuples", api.ntuples);
  lib->bind("PQnfields", api.nfields);
  lib->bind("PQgetisnull", api.getisnull);
  lib->bind("PQgetvalue", api.getvalue);
  lib->bind("PQgetlength", api.getlength);
  if (!lib->missing().empty()) return Unexpected(lib->missing());
  return api;
}

}  // namespace

Result<const LibPq*> libpq() {
  return load_once<LibPq, load>();
}

}  // namespace postern::bastion
