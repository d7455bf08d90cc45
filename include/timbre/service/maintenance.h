// Keeping the files beside the store tidy: artifacts that no row names any more (their track
// is gone or was analysed again, or a crash came between writing a file and committing its
// row) are removed once they are older than `min_age`, which keeps a write in progress in
// another process safe.
#pragma once

#include <chrono>
#include <cstdint>

#include "timbre/core/clock.h"
#include "timbre/core/status.h"

namespace timbre::service {

class Engine;

struct GarbageReport {
  size_t files_removed = 0;
  int64_t bytes_removed = 0;
  size_t files_kept = 0;  // named by a row, or too young to judge
};

Result<GarbageReport> CollectGarbage(Engine& engine,
                                     Clock::Duration min_age = std::chrono::hours(1));

}  // namespace timbre::service
