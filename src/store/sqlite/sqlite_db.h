// Thin RAII over the sqlite3 C API: a connection and prepared statements with typed binds.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "timbre/core/status.h"

namespace timbre::store::sqlite {

class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  const Status& prepared() const { return prepared_; }

  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, int value) { return Bind(index, static_cast<int64_t>(value)); }
  Statement& Bind(int index, double value);
  Statement& Bind(int index, std::string_view value);
  Statement& BindNull(int index);
  Statement& BindBlob(int index, const void* data, size_t bytes);

  // Steps once: true when a row is available, false when done; errors in *status.
  bool Step(Status* status);
  // Steps to completion, for statements without rows.
  Status Run();
  void Reset();

  int64_t Int(int column) const;
  double Real(int column) const;
  std::string Text(int column) const;
  bool IsNull(int column) const;
  // Valid until the next Step() or Reset().
  std::string_view Blob(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  Status prepared_;
};

class Database {
 public:
  static Result<std::unique_ptr<Database>> Open(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  sqlite3* handle() const { return db_; }
  Status Exec(std::string_view sql);
  Status Error(std::string_view what) const;
  // A statement prepared on first use and kept, reset with bindings cleared: for queries a
  // server runs thousands of times a second. `sql` must be a string literal (it is the key).
  // The caller holds the store's mutex until it is done with it.
  Statement& Cached(const char* sql);

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<const char*, std::unique_ptr<Statement>> cached_;
};

// Commits on Commit(), rolls back otherwise (also on early return).
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  const Status& begun() const { return begun_; }
  Status Commit();

 private:
  Database& db_;
  Status begun_;
  bool done_ = false;
};

}  // namespace timbre::store::sqlite
