// A small HTTP/1.1 server over libmicrohttpd: an epoll thread pool that hands each complete
// request (headers and body) to one handler and sends back what it returns. Event-driven on
// purpose: thread-per-connection servers collapse under many keep-alive clients.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "timbre/core/status.h"

namespace timbre::server {

struct HttpRequest {
  std::string method;  // GET, POST, …
  std::string path;    // without the query, percent-decoded by the server
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string client;  // the peer's address, "127.0.0.1"

  std::string Header(const std::string& lower_name) const;
  std::string Query(const std::string& name, const std::string& fallback = "") const;
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::map<std::string, std::string> headers;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpOptions {
  std::string bind = "127.0.0.1";
  int port = 8484;  // 0: any free port (see HttpServer::port())
  int threads = 2;
  size_t max_body_bytes = 1 << 20;  // larger bodies get 413 without reaching the handler
  unsigned connection_limit = 4096;
  unsigned idle_timeout_s = 60;
};

class HttpServer {
 public:
  // Binds and starts serving; `too_large` answers a body over the limit.
  static Result<std::unique_ptr<HttpServer>> Start(const HttpOptions& options, HttpHandler handler,
                                                   HttpResponse too_large);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }
  // Stops accepting and closes connections; returns when no handler runs any more.
  void Stop();

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace timbre::server
