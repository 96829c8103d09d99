// The libpq functions the PostgreSQL session index calls, from libpq.so.5 loaded on first use
// (shared_library.h says why it is not linked).
#pragma once

#include <libpq-fe.h>

#include "common/result.h"

namespace postern::bastion {

struct LibPq {
  decltype(&::PQconnectdb) connectdb;
  decltype(&::PQstatus) status;
  decltype(&::PQerrorMessage) error_message;
  decltype(&::PQfinish) finish;
  decltype(&::PQsetNoticeProcessor) set_notice_processor;
  decltype(&::PQexecParams) exec_params;
  decltype(&::PQresultStatus) result_status;
  decltype(&::PQresultErrorMessage) result_error_message;
  decltype(&::PQclear) clear;
  decltype(&::PQntuples) ntuples;
  decltype(&::PQnfields) nfields;
  decltype(&::PQgetisnull) getisnull;
  decltype(&::PQgetvalue) getvalue;
  decltype(&::PQgetlength) getlength;
};

// Loaded once per process, safely from any thread; the error names the library or the symbol.
Result<const LibPq*> libpq();

}  // namespace postern::bastion
