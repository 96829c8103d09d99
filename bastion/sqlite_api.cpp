#include "bastion/sqlite_api.h"

#include "bastion/shared_library.h"

namespace postern::bastion {
namespace {

Result<Sqlite> load() {
  // SQLite 3's soname since 3.0 (Debian's libsqlite3-0).
  auto lib = SharedLibrary::open("libsqlite3.so.0");
  if (!lib) return Unexpected(lib.error());
  Sqlite api{};
  lib->bind("sqlite3_open_v2", api.open_v2);
  lib->bind("sqlite3_close_v2", api.close_v2);
  lib->bind("sqlite3_errmsg", api.errmsg);
  lib->bind("sqlite3_busy_timeout", api.busy_timeout);
  lib->bind("sqlite3_prepare_v2", api.prepare_v2);
  lib->bind("sqlite3_finalize", api.finalize);
  lib->bind("sqlite3_reset", api.reset);
  lib->bind("sqlite3_clear_bindings", api.clear_bindings);
  lib->bind("sqlite3_bind_text", api.bind_text);
  lib->bind("sqlite3_bind_null", api.bind_null);
  lib->bind("sqlite3_step", api.step);
  lib->bind("sqlite3_column_count", api.column_count);
  lib->bind("sqlite3_column_type", api.column_type);
  lib->bind("sqlite3_column_text", api.column_text);
  lib->bind("sqlite3_column_bytes", api.column_bytes);
  if (!lib->missing().empty()) return Unexpected(lib->missing());
  return api;
}

}  // namespace

Result<const Sqlite*> sqlite() {
  return load_once<Sqlite, load>();
}

}  // namespace postern::bastion
