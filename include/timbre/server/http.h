// A small HTTP/1.1 server over libmicrohttpd: epoll thread pools (one per address, IPv4 and
// IPv6) that hand each request to one handler and send back what it returns. Event-driven on
// purpose: thread-per-connection servers collapse under many keep-alive clients.
//
// A response is one of:
//   - a body in memory;
//   - a file, sent from disk with HEAD and single-range `Range` requests answered (206, 416);
//   - a stream: a chunked body written over time (Server-Sent Events), the connection
//     suspended while nothing is waiting to be sent;
//   - deferred work: the connection is suspended and the work runs on the server's executor,
//     so that slow requests (an index being built, models loading) never hold an HTTP thread.
// Request bodies are kept in memory up to a limit; routes that take uploads have theirs
// streamed to files on disk (raw, or the parts of a multipart/form-data body).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "timbre/core/status.h"

namespace timbre::server {

// A file part of an upload, on disk until the request ends (a handler that keeps it moves it).
struct UploadedFile {
  std::string field;     // the form field's name; "body" for a raw upload
  std::string filename;  // as the client named it
  std::string content_type;
  std::filesystem::path path;
  uint64_t size = 0;
};

struct HttpRequest {
  std::string method;  // GET, POST, HEAD, …
  std::string path;    // without the query, percent-decoded by the server
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string client;  // the peer's address, "127.0.0.1" or "::1"
  // The body was larger than its limit: it was read and dropped, and the handler answers.
  bool body_too_large = false;
  uint64_t body_limit = 0;
  // For routes that take uploads: the files, and a multipart body's text fields.
  std::vector<UploadedFile> files;
  std::map<std::string, std::string> form;

  std::string Header(const std::string& lower_name) const;
  std::string Query(const std::string& name, const std::string& fallback = "") const;
};

// A body written while it is being sent. The producer keeps a reference and writes from any
// thread; the server sends what it gets, in order, as chunks.
class ResponseStream {
 public:
  ResponseStream();
  ~ResponseStream();
  // Queues text to send. False once the client has gone, the stream was closed or the server
  // is stopping: the producer should stop.
  bool Write(std::string text);
  // Ends the body once what was written is sent.
  void Close();
  bool open() const;

  struct State;  // shared with the server's connection
  std::shared_ptr<State> state() const { return state_; }

 private:
  std::shared_ptr<State> state_;
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::map<std::string, std::string> headers;
  // Instead of `body`, at most one of:
  std::filesystem::path file;              // sent from disk; Range and HEAD answered
  uint64_t file_offset = 0;                // the part of `file` sent, once ResolveFile ran
  uint64_t file_length = UINT64_MAX;       // UINT64_MAX: to the end
  std::shared_ptr<ResponseStream> stream;  // written over time, chunked
  std::function<HttpResponse()> deferred;  // run on the executor; its answer is sent
};

// What the server does with a request's body, decided from its method and path before the
// body arrives.
struct BodyPolicy {
  bool upload = false;     // streamed to files on disk instead of memory
  uint64_t max_bytes = 0;  // beyond this the body is dropped and the request flagged
};

struct HttpOptions {
  std::vector<std::string> binds = {"127.0.0.1"};  // IPv4 or IPv6; "::" is every address
  int port = 8484;           // 0: any free one (see HttpServer::port()), the same for every address
  int threads = 2;           // event-loop threads per address
  int executor_threads = 2;  // for deferred work
  size_t max_body_bytes = 1 << 20;
  uint64_t max_upload_bytes = uint64_t{4} << 30;
  std::filesystem::path upload_dir;  // where uploads are written; default: the temp folder
  unsigned connection_limit = 4096;
  unsigned idle_timeout_s = 60;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;
using BodyPolicyFor = std::function<BodyPolicy(const std::string& method, const std::string& path)>;

class HttpServer {
 public:
  // Binds every address and starts serving. `policy` may be empty (every body in memory up
  // to max_body_bytes).
  static Result<std::unique_ptr<HttpServer>> Start(const HttpOptions& options, HttpHandler handler,
                                                   BodyPolicyFor policy = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:8484", "http://[::1]:8484": one per address served.
  std::vector<std::string> urls() const;
  // Stops accepting, ends streams and deferred work, closes connections; returns when no
  // handler runs any more.
  void Stop();

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

// A single `Range: bytes=…` over a body of `size` bytes: [first, last] inclusive. Absent or
// unusable ranges (several ranges, other units) mean the whole body; an unsatisfiable one is
// OutOfRange-like: the server answers 416.
struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;
};
enum class RangeAnswer { kWhole, kPartial, kUnsatisfiable };
RangeAnswer ParseRange(const std::string& header, uint64_t size, ByteRange* range);

// Settles a file response against the request's Range header: its status (200, 206, 416, or
// 404 when the file is not there), the part to send, and the headers that describe it
// (Accept-Ranges, Content-Range, Last-Modified, ETag). The server does this itself for a file
// response left unsettled; a handler's caller settles it first to know the final status.
void ResolveFile(HttpResponse& response, const std::string& range_header);

}  // namespace timbre::server
