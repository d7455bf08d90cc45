// How many threads each part of timbre may use, worked out once from the configuration
// (budget.* and jobs.workers) and the machine, so that a server running scans, models and
// index builds at once does not oversubscribe the cores. The service layer sizes its pools
// from this and applies the process-wide parts (BLAS, OpenMP, libtorch).
#pragma once

#include "timbre/core/config.h"

namespace timbre {

struct ResourceBudget {
  int cores = 1;               // what timbre may keep busy
  int analysis_threads = 1;    // files analysed at once, shared by every scan
  int http_threads = 2;        // the HTTP event loops
  int background_threads = 1;  // slow work off the HTTP threads
  int job_workers = 2;         // jobs run at once
  int model_threads = 1;       // intra-op threads of one forward pass
  int blas_threads = 1;        // threads of one BLAS call
  int index_threads = 1;       // OpenMP threads of one vector-index build
};

// Zeros in the configuration become the cores (budget.cores, itself 0 for the machine's).
ResourceBudget BudgetFrom(const Config& config, int hardware_threads);

// Sets the threads of OpenBLAS when it is the BLAS loaded (libtorch and FAISS call it);
// returns false when no OpenBLAS is there to set.
bool SetBlasThreads(int threads);

}  // namespace timbre
