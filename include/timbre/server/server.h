// `timbre serve`: the HTTP API over the store, the similarity index and the job queue.
// Routes, request and response shapes are in docs/api.md and GET /openapi.json.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "timbre/analysis/model_analyzers.h"
#include "timbre/core/status.h"
#include "timbre/jobs/job_runner.h"
#include "timbre/server/http.h"
#include "timbre/store/store.h"

namespace timbre::server {

struct ServerOptions {
  HttpOptions http;
  // File paths in requests must lie under one of these (after resolving links and "..");
  // with none, requests that name files are refused.
  std::vector<std::filesystem::path> library_roots;
  std::string secret;             // INTERNAL_API_SECRET
  std::string api_keys_file;      // more keys, one per line
  double rate_per_second = 1000;  // per client; 0 turns rate limiting off
  double rate_burst = 2000;
  size_t max_queued_jobs = 10000;  // POST /v1/jobs answers 429 beyond this many unfinished
  // What the scan and analyze jobs run, for /manifest, /health and /v1/capabilities; owned
  // by the caller and alive as long as the server. Without them the built-ins are listed.
  const analysis::Registry* analyzers = nullptr;
  const analysis::ModelSetup* models = nullptr;
};

class ApiServer {
 public:
  // The store and runner must outlive the server.
  static Result<std::unique_ptr<ApiServer>> Start(store::Store& store, jobs::JobRunner& runner,
                                                  const ServerOptions& options);
  ~ApiServer();
  int port() const;
  void Stop();

 private:
  struct Impl;
  explicit ApiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace timbre::server
