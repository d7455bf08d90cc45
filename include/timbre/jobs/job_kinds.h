// The job kinds timbre runs itself, registered on a JobRunner:
//   scan        {"paths": ["/music/a", ...]}           scan folders or files, then update
//                                                      the similarity index
//   analyze     {"track_id": 12} or {"file_path": "…"} analyse one file (again if changed)
//   write-tags  {"track_ids": [1, 2]} or {"paths": […]}, optional "only", "key_notation",
//               "dry_run"                               tags write, as the CLI does
// Payloads are validated here (a bad one fails the job for good, with a message); the
// server checks paths against the library roots before a job is queued.
#pragma once

#include <memory>

#include "timbre/analysis/pipeline.h"
#include "timbre/jobs/job_runner.h"
#include "timbre/store/store.h"

namespace timbre::jobs {

struct BuiltinJobOptions {
  int scan_threads = 1;  // analysis threads inside one scan job
};

// The pipeline must outlive the runner.
void RegisterBuiltinJobs(JobRunner& runner, store::Store& store, const analysis::Pipeline& pipeline,
                         const BuiltinJobOptions& options);

}  // namespace timbre::jobs
