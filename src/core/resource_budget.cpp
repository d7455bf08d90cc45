#include "timbre/core/resource_budget.h"

#include <dlfcn.h>

#include <algorithm>

namespace timbre {

ResourceBudget BudgetFrom(const Config& config, int hardware_threads) {
  ResourceBudget b;
  const auto cores = config.Int("budget.cores");
  b.cores = static_cast<int>(cores > 0 ? cores : std::max(1, hardware_threads));
  auto or_cores = [&](const char* key) {
    const auto v = config.Int(key);
    return static_cast<int>(v > 0 ? v : b.cores);
  };
  b.analysis_threads = or_cores("budget.analysis_threads");
  b.http_threads = static_cast<int>(config.Int("budget.http_threads"));
  b.background_threads = static_cast<int>(config.Int("budget.background_threads"));
  b.job_workers = static_cast<int>(config.Int("jobs.workers"));
  b.model_threads = static_cast<int>(config.Int("budget.model_threads"));
  b.blas_threads = static_cast<int>(config.Int("budget.blas_threads"));
  b.index_threads = or_cores("budget.index_threads");
  return b;
}

bool SetBlasThreads(int threads) {
  // Looked up at run time: the BLAS behind libblas.so.3 is chosen by Debian's alternatives,
  // and only OpenBLAS has this call (the reference BLAS is single-threaded anyway).
  using SetThreads = void (*)(int);
  auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (set == nullptr) return false;
  set(std::max(1, threads));
  return true;
}

}  // namespace timbre
