// The SQLite schema as an ordered list of migrations. A migration is never edited once
// released; changes go into a new one with the next version.
#pragma once

#include <span>

namespace timbre::store::sqlite {

struct Migration {
  int version;
  const char* sql;
};

std::span<const Migration> Migrations();

}  // namespace timbre::store::sqlite
