#include "sqlite/sqlite_db.h"

#include <memory>

#include <fmt/format.h>

namespace timbre::store::sqlite {

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db) {
  if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) !=
      SQLITE_OK) {
    prepared_ = Internal(fmt::format("cannot prepare SQL: {}", sqlite3_errmsg(db)));
  }
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::Bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}
Statement& Statement::Bind(int index, double value) {
  sqlite3_bind_double(stmt_, index, value);
  return *this;
}
Statement& Statement::Bind(int index, std::string_view value) {
  // An empty view may have a null data pointer, which SQLite would store as NULL.
  sqlite3_bind_text(stmt_, index, value.empty() ? "" : value.data(), static_cast<int>(value.size()),
                    SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::BindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Statement& Statement::BindBlob(int index, const void* data, size_t bytes) {
  sqlite3_bind_blob64(stmt_, index, bytes == 0 ? "" : data, bytes, SQLITE_TRANSIENT);
  return *this;
}

std::string_view Statement::Blob(int column) const {
  const void* data = sqlite3_column_blob(stmt_, column);
  const int bytes = sqlite3_column_bytes(stmt_, column);
  if (data == nullptr || bytes <= 0) return {};
  return {static_cast<const char*>(data), static_cast<size_t>(bytes)};
}

bool Statement::Step(Status* status) {
  if (!prepared_.ok()) {
    *status = prepared_;
    return false;
  }
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE) {
    *status = rc == SQLITE_FULL ? IoError(fmt::format("database is full: {}", sqlite3_errmsg(db_)))
              : rc == SQLITE_CONSTRAINT
                  ? Status(StatusCode::kAlreadyExists, sqlite3_errmsg(db_))
                  : IoError(fmt::format("database error: {}", sqlite3_errmsg(db_)));
  }
  return false;
}

Status Statement::Run() {
  Status status;
  while (Step(&status)) {
  }
  return status;
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }
double Statement::Real(int column) const { return sqlite3_column_double(stmt_, column); }
std::string Statement::Text(int column) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  return p == nullptr ? std::string()
                      : std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}
bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

Result<std::unique_ptr<Database>> Database::Open(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  std::unique_ptr<Database> db(new Database(raw));
  if (rc != SQLITE_OK) {
    return IoError(fmt::format("cannot open database {}: {}", path,
                               raw != nullptr ? sqlite3_errmsg(raw) : "out of memory"));
  }
  sqlite3_busy_timeout(raw, 10000);
  return db;
}

Database::~Database() {
  cached_.clear();  // statements are finalized before the connection closes
  sqlite3_close_v2(db_);
}

Statement& Database::Cached(const char* sql) {
  auto& slot = cached_[sql];
  if (!slot) {
    slot = std::make_unique<Statement>(db_, sql);
  } else {
    slot->Reset();
  }
  return *slot;
}

Status Database::Exec(std::string_view sql) {
  char* err = nullptr;
  const std::string text(sql);
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string message = err != nullptr ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT) {
    return Corrupt(fmt::format("not a timbre database or damaged: {}", message));
  }
  return IoError(fmt::format("database error: {}", message));
}

Status Database::Error(std::string_view what) const {
  return IoError(fmt::format("{}: {}", what, sqlite3_errmsg(db_)));
}

Transaction::Transaction(Database& db) : db_(db) { begun_ = db_.Exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
  if (begun_.ok() && !done_) (void)db_.Exec("ROLLBACK");
}

Status Transaction::Commit() {
  done_ = true;
  Status s = db_.Exec("COMMIT");
  if (!s.ok()) (void)db_.Exec("ROLLBACK");
  return s;
}

}  // namespace timbre::store::sqlite
