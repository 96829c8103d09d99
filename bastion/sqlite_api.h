// The SQLite functions the session index calls, from libsqlite3.so.0 loaded on first use
// (shared_library.h says why it is not linked).
#pragma once

#include <sqlite3.h>

#include "common/result.h"

namespace postern::bastion {

struct Sqlite {
  decltype(&::sqlite3_open_v2) open_v2;
  decltype(&::sqlite3_close_v2) close_v2;
  decltype(&::sqlite3_errmsg) errmsg;
  decltype(&::sqlite3_busy_timeout) busy_timeout;
  decltype(&::sqlite3_prepare_v2) prepare_v2;
  decltype(&::sqlite3_finalize) finalize;
  decltype(&::sqlite3_reset) reset;
  decltype(&::sqlite3_clear_bindings) clear_bindings;
  decltype(&::sqlite3_bind_text) bind_text;
  decltype(&::sqlite3_bind_null) bind_null;
  decltype(&::sqlite3_step) step;
  decltype(&::sqlite3_column_count) column_count;
  decltype(&::sqlite3_column_type) column_type;
  decltype(&::sqlite3_column_text) column_text;
  decltype(&::sqlite3_column_bytes) column_bytes;
};

// Loaded once per process, safely from any thread; the error names the library or the symbol.
Result<const Sqlite*> sqlite();

}  // namespace postern::bastion
