// `timbre serve`'s HTTP API: thin adapters from HTTP to the engine's use cases. Routes,
// request and response shapes are in docs/api.md and docs/openapi.json (GET /openapi.json);
// errors are {code, message} with the status core/status.h's table gives the code.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "timbre/core/status.h"
#include "timbre/service/engine.h"

namespace timbre::server {

class ApiServer {
 public:
  // Serves `engine` with its configuration's server.*, auth.* and budget settings. The engine
  // must outlive the server; its job workers are started (or not) by the caller.
  static Result<std::unique_ptr<ApiServer>> Start(service::Engine& engine);
  ~ApiServer();
  int port() const;
  std::vector<std::string> urls() const;
  void Stop();

 private:
  struct Impl;
  explicit ApiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The routes served, as docs/openapi.json must list them.
struct RouteInfo {
  std::string method;   // GET, POST, DELETE
  std::string pattern;  // "/v1/tracks/{id}/similar"
  bool open = false;    // served without credentials or rate limit
  bool upload = false;  // the body is streamed to disk
};
std::vector<RouteInfo> Routes();

}  // namespace timbre::server
