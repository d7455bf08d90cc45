// The embedded SQLite backend (WAL journal, one connection serialised by a mutex).
#pragma once

#include <memory>
#include <string>

#include "timbre/store/store.h"

namespace timbre::store::sqlite {

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);

}  // namespace timbre::store::sqlite
