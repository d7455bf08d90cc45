#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "timbre/core/text.h"
#include "timbre/core/thread_pool.h"
#include "timbre/server/http.h"

namespace timbre::server {

std::string HttpRequest::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

std::string HttpRequest::Query(const std::string& name, const std::string& fallback) const {
  auto it = query.find(name);
  return it == query.end() ? fallback : it->second;
}

// What a stream shares with the connection sending it. `connection` and `suspended` let a
// write resume a connection that ran dry; both are touched only under `mu`, which is also
// held around MHD_suspend_connection/MHD_resume_connection so that a write cannot slip
// between the reader finding nothing and the connection being suspended.
struct ResponseStream::State {
  std::mutex mu;
  std::deque<std::string> chunks;
  size_t front_sent = 0;  // bytes of chunks.front() already handed to the connection
  bool closed = false;    // the producer is done
  bool gone = false;      // the client left, or the server is stopping
  MHD_Connection* connection = nullptr;
  bool suspended = false;

  void ResumeLocked() {
    if (suspended && connection != nullptr) {
      suspended = false;
      MHD_resume_connection(connection);
    }
  }
};

ResponseStream::ResponseStream() : state_(std::make_shared<State>()) {}

ResponseStream::~ResponseStream() { Close(); }

bool ResponseStream::Write(std::string text) {
  std::lock_guard lock(state_->mu);
  if (state_->gone || state_->closed) return false;
  if (!text.empty()) state_->chunks.push_back(std::move(text));
  state_->ResumeLocked();
  return true;
}

void ResponseStream::Close() {
  std::lock_guard lock(state_->mu);
  state_->closed = true;
  state_->ResumeLocked();
}

bool ResponseStream::open() const {
  std::lock_guard lock(state_->mu);
  return !state_->gone && !state_->closed;
}

RangeAnswer ParseRange(const std::string& header, uint64_t size, ByteRange* range) {
  constexpr std::string_view kUnit = "bytes=";
  if (header.rfind(kUnit, 0) != 0 || header.find(',') != std::string::npos) {
    return RangeAnswer::kWhole;  // no range, another unit, or several ranges: the whole body
  }
  const std::string spec = header.substr(kUnit.size());
  const auto dash = spec.find('-');
  if (dash == std::string::npos) return RangeAnswer::kWhole;
  auto number = [](std::string_view s, uint64_t* out) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    if (s.empty()) return false;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && ptr == s.data() + s.size();
  };
  uint64_t first = 0, last = 0;
  const std::string_view a(spec.data(), dash), b(spec.data() + dash + 1, spec.size() - dash - 1);
  const bool has_first = number(a, &first);
  const bool has_last = number(b, &last);
  if (!has_first && !has_last) return RangeAnswer::kWhole;
  if (!has_first) {  // "-N": the last N bytes
    if (last == 0 || size == 0) return RangeAnswer::kUnsatisfiable;
    range->first = size - std::min(last, size);
    range->last = size - 1;
    return RangeAnswer::kPartial;
  }
  if ((!a.empty() && !has_first) || (!b.empty() && !has_last)) return RangeAnswer::kWhole;
  if (first >= size) return RangeAnswer::kUnsatisfiable;
  if (has_last && last < first) return RangeAnswer::kWhole;  // invalid: ignored, as RFC 9110 says
  range->first = first;
  range->last = has_last ? std::min(last, size - 1) : size - 1;
  return RangeAnswer::kPartial;
}

namespace {

// Each connection's memory pool: the request line and headers (bodies are streamed to the
// handler) and the response's headers. libmicrohttpd's default is 32 KiB, which it clears
// between requests on a kept-alive connection; a request whose headers do not fit gets 431.
constexpr size_t kConnectionMemory = 16 * 1024;

std::string HttpDate(time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[64];
  std::strftime(text, sizeof(text), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return text;
}

// A part of an upload being written to disk.
struct UploadFile {
  UploadedFile info;
  int fd = -1;
};

// What the server keeps for one request while its body arrives and, when deferred, while its
// work runs.
struct Pending {
  BodyPolicy policy;
  std::string body;
  bool too_large = false;
  uint64_t received = 0;
  // Uploads.
  void* server = nullptr;  // the HttpServer::Impl, for the post processor's callback
  MHD_PostProcessor* post = nullptr;
  std::vector<UploadFile> files;
  std::map<std::string, std::string> form;
  size_t form_bytes = 0;
  Status upload_error;
  // Deferred work.
  bool dispatched = false;
  std::mutex mu;
  std::optional<HttpResponse> ready;

  ~Pending() {
    if (post != nullptr) MHD_destroy_post_processor(post);
    for (auto& f : files) {
      if (f.fd >= 0) close(f.fd);
      // A handler that keeps an upload moves it; what is left is removed.
      std::error_code ec;
      std::filesystem::remove(f.info.path, ec);
    }
  }
};

MHD_Result CollectHeader(void* cls, MHD_ValueKind, const char* key, const char* value) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(cls);
  (*headers)[AsciiLower(key)] = value != nullptr ? value : "";
  return MHD_YES;
}

MHD_Result CollectQuery(void* cls, MHD_ValueKind, const char* key, const char* value) {
  auto* query = static_cast<std::map<std::string, std::string>*>(cls);
  (*query)[key] = value != nullptr ? value : "";
  return MHD_YES;
}

std::string ClientAddress(MHD_Connection* connection) {
  const auto* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (info == nullptr || info->client_addr == nullptr) return "";
  char text[INET6_ADDRSTRLEN] = {0};
  const sockaddr* addr = info->client_addr;
  if (addr->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(addr)->sin_addr, text, sizeof(text));
  } else if (addr->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(addr);
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {  // an IPv4 client of a dual-stack socket
      inet_ntop(AF_INET, &v6->sin6_addr.s6_addr[12], text, sizeof(text));
    } else {
      inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
    }
  }
  return text;
}

void FreeBody(void* body) { delete static_cast<std::string*>(body); }

void AddHeaders(MHD_Response* response, const HttpResponse& r) {
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, r.content_type.c_str());
  for (const auto& [name, value] : r.headers) {
    MHD_add_response_header(response, name.c_str(), value.c_str());
  }
}

MHD_Result Queue(MHD_Connection* connection, unsigned status, MHD_Response* response) {
  if (response == nullptr) return MHD_NO;
  const MHD_Result ok = MHD_queue_response(connection, status, response);
  MHD_destroy_response(response);
  return ok;
}

// The response's body is handed to libmicrohttpd, which frees it once sent, rather than copied.
MHD_Result SendBody(MHD_Connection* connection, HttpResponse& r) {
  auto* body = new std::string(std::move(r.body));
  MHD_Response* response = MHD_create_response_from_buffer_with_free_callback_cls(
      body->size(), body->data(), &FreeBody, body);
  if (response == nullptr) {
    delete body;
    return MHD_NO;
  }
  AddHeaders(response, r);
  return Queue(connection, static_cast<unsigned>(r.status), response);
}

MHD_Result SendError(MHD_Connection* connection, int status, const std::string& code,
                     const std::string& message) {
  HttpResponse r;
  r.status = status;
  r.body = fmt::format(R"({{"code":"{}","message":"{}"}})", code, message);
  return SendBody(connection, r);
}

// The part of a file that ResolveFile settled (HEAD gets the same headers, no body).
MHD_Result SendFile(MHD_Connection* connection, HttpResponse& r) {
  if (r.status != 200 && r.status != 206) return SendBody(connection, r);
  const int fd = open(r.file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return SendError(connection, 404, "not_found", "the file is no longer there");
  MHD_Response* response =
      MHD_create_response_from_fd_at_offset64(r.file_length, fd, r.file_offset);
  if (response == nullptr) {
    close(fd);
    return MHD_NO;
  }
  AddHeaders(response, r);
  return Queue(connection, static_cast<unsigned>(r.status), response);
}

ssize_t ReadStream(void* cls, uint64_t, char* buf, size_t max) {
  auto& state = **static_cast<std::shared_ptr<ResponseStream::State>*>(cls);
  std::lock_guard lock(state.mu);
  size_t n = 0;
  while (n < max && !state.chunks.empty()) {
    const std::string& front = state.chunks.front();
    const size_t take = std::min(max - n, front.size() - state.front_sent);
    std::memcpy(buf + n, front.data() + state.front_sent, take);
    n += take;
    state.front_sent += take;
    if (state.front_sent == front.size()) {
      state.chunks.pop_front();
      state.front_sent = 0;
    }
  }
  if (n > 0) return static_cast<ssize_t>(n);
  if (state.closed || state.gone) return MHD_CONTENT_READER_END_OF_STREAM;
  // Nothing to send yet: the connection sleeps until the next write resumes it.
  state.suspended = true;
  MHD_suspend_connection(state.connection);
  return 0;
}

}  // namespace

void ResolveFile(HttpResponse& r, const std::string& range_header) {
  if (r.file_length != UINT64_MAX) return;  // settled already
  struct stat st {};
  if (stat(r.file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    r.status = 404;
    r.content_type = "application/json";
    r.body = R"({"code":"not_found","message":"the file is no longer there"})";
    r.file.clear();
    return;
  }
  const auto size = static_cast<uint64_t>(st.st_size);
  r.headers["Accept-Ranges"] = "bytes";
  r.headers["Last-Modified"] = HttpDate(st.st_mtime);
  r.headers["ETag"] = fmt::format("\"{:x}-{:x}\"", size, static_cast<uint64_t>(st.st_mtime));
  ByteRange range;
  switch (ParseRange(range_header, size, &range)) {
    case RangeAnswer::kUnsatisfiable:
      r.status = 416;
      r.headers["Content-Range"] = fmt::format("bytes */{}", size);
      r.content_type = "application/json";
      r.body = fmt::format(
          R"({{"code":"range_not_satisfiable","message":"the file has {} bytes"}})", size);
      r.file.clear();
      return;
    case RangeAnswer::kPartial:
      r.status = 206;
      r.file_offset = range.first;
      r.file_length = range.last - range.first + 1;
      r.headers["Content-Range"] = fmt::format("bytes {}-{}/{}", range.first, range.last, size);
      return;
    case RangeAnswer::kWhole:
      r.file_offset = 0;
      r.file_length = size;
      return;
  }
}

struct HttpServer::Impl {
  HttpOptions options;
  HttpHandler handler;
  BodyPolicyFor policy;
  std::vector<MHD_Daemon*> daemons;
  std::vector<std::string> urls;
  std::unique_ptr<ThreadPool> executor;

  std::mutex mu;  // guards streams, deferred and stopping
  std::condition_variable deferred_done;
  std::set<ResponseStream::State*> streams;  // being sent now
  int deferred = 0;                          // work running on the executor
  bool stopping = false;

  static void FreeStream(void* cls) {
    auto* holder = static_cast<std::pair<Impl*, std::shared_ptr<ResponseStream::State>>*>(cls);
    {
      std::lock_guard lock(holder->first->mu);
      holder->first->streams.erase(holder->second.get());
    }
    {
      std::lock_guard lock(holder->second->mu);
      holder->second->gone = true;
      holder->second->connection = nullptr;
    }
    delete holder;
  }

  MHD_Result SendStream(MHD_Connection* connection, HttpResponse& r) {
    auto state = r.stream->state();
    {
      std::lock_guard lock(state->mu);
      state->connection = connection;
    }
    {
      std::lock_guard lock(mu);
      if (stopping) return SendError(connection, 503, "unavailable", "the server is stopping");
      streams.insert(state.get());
    }
    // The reader gets a pointer to the shared state; FreeStream drops it once the response
    // is done with.
    auto* holder = new std::pair<Impl*, std::shared_ptr<ResponseStream::State>>(this, state);
    MHD_Response* response = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, 4096,
        [](void* cls, uint64_t pos, char* buf, size_t max) -> ssize_t {
          auto* h = static_cast<std::pair<Impl*, std::shared_ptr<ResponseStream::State>>*>(cls);
          return ReadStream(&h->second, pos, buf, max);
        },
        holder, &Impl::FreeStream);
    if (response == nullptr) {
      FreeStream(holder);
      return MHD_NO;
    }
    AddHeaders(response, r);
    return Queue(connection, static_cast<unsigned>(r.status), response);
  }

  MHD_Result Send(MHD_Connection* connection, const HttpRequest& request, HttpResponse& r) {
    if (!r.file.empty()) {
      ResolveFile(r, request.Header("range"));
      if (!r.file.empty()) return SendFile(connection, r);
    }
    if (r.stream) return SendStream(connection, r);
    return SendBody(connection, r);
  }

  // Runs deferred work on the executor with the connection suspended; its answer is sent
  // when libmicrohttpd calls Access again after the resume.
  MHD_Result Defer(MHD_Connection* connection, Pending* pending,
                   std::function<HttpResponse()> work) {
    {
      std::lock_guard lock(mu);
      if (stopping) return SendError(connection, 503, "unavailable", "the server is stopping");
      ++deferred;
    }
    pending->dispatched = true;
    MHD_suspend_connection(connection);
    executor->Submit([this, connection, pending, work = std::move(work)] {
      HttpResponse answer;
      try {
        answer = work();
      } catch (const std::exception&) {
        answer.status = 500;
        answer.body = R"({"code":"internal","message":"internal error"})";
      }
      {
        std::lock_guard lock(pending->mu);
        pending->ready = std::move(answer);
      }
      MHD_resume_connection(connection);
      std::lock_guard lock(mu);
      --deferred;
      deferred_done.notify_all();
    });
    return MHD_YES;
  }

  // A new file for an upload part, in the upload folder.
  Status OpenUploadFile(Pending& p, UploadedFile info) {
    std::filesystem::path dir = options.upload_dir;
    if (dir.empty()) dir = std::filesystem::temp_directory_path();
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    std::string name = (dir / "timbre-upload-XXXXXX").string();
    const int fd = mkostemp(name.data(), O_CLOEXEC);
    if (fd < 0) {
      return IoError(
          fmt::format("cannot store the upload in {}: {}", dir.string(), std::strerror(errno)));
    }
    info.path = name;
    p.files.push_back({std::move(info), fd});
    return Status::Ok();
  }

  Status WriteUpload(Pending& p, const char* data, size_t size) {
    if (!p.upload_error.ok()) return p.upload_error;
    UploadFile& f = p.files.back();
    size_t done = 0;
    while (done < size) {
      const ssize_t n = write(f.fd, data + done, size - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        p.upload_error = IoError(fmt::format("cannot store the upload: {}", std::strerror(errno)));
        return p.upload_error;
      }
      done += static_cast<size_t>(n);
    }
    f.info.size += size;
    return Status::Ok();
  }

  static MHD_Result PostPart(void* cls, MHD_ValueKind, const char* key, const char* filename,
                             const char* content_type, const char*, const char* data, uint64_t off,
                             size_t size) {
    Pending& p = *static_cast<Pending*>(cls);
    Impl& self = *static_cast<Impl*>(p.server);
    const std::string field = key != nullptr ? key : "";
    if (filename == nullptr) {  // a text field, kept in memory
      p.form_bytes += size;
      if (p.form_bytes > self.options.max_body_bytes) {
        p.too_large = true;
        return MHD_NO;
      }
      p.form[field].append(data, size);
      return MHD_YES;
    }
    const bool new_part = p.files.empty() || off == 0 || p.files.back().info.field != field;
    if (new_part) {
      UploadedFile info;
      info.field = field;
      info.filename = filename;
      info.content_type = content_type != nullptr ? content_type : "";
      if (!self.OpenUploadFile(p, std::move(info)).ok()) return MHD_NO;
    }
    return self.WriteUpload(p, data, size).ok() ? MHD_YES : MHD_NO;
  }

  static MHD_Result Access(void* cls, MHD_Connection* connection, const char* url,
                           const char* method, const char*, const char* upload_data,
                           size_t* upload_data_size, void** con_cls) {
    auto* self = static_cast<Impl*>(cls);
    if (*con_cls == nullptr) {  // headers are in; the body (if any) follows
      auto pending = std::make_unique<Pending>();
      pending->policy = self->policy ? self->policy(method, url) : BodyPolicy{};
      if (!pending->policy.upload) pending->policy.max_bytes = self->options.max_body_bytes;
      if (pending->policy.max_bytes == 0) pending->policy.max_bytes = self->options.max_body_bytes;
      *con_cls = pending.release();
      return MHD_YES;
    }
    auto* pending = static_cast<Pending*>(*con_cls);
    if (*upload_data_size > 0) {
      self->Receive(connection, *pending, upload_data, *upload_data_size);
      *upload_data_size = 0;
      return MHD_YES;
    }
    HttpRequest request;
    request.method = method;
    request.path = url;
    if (pending->dispatched) {  // resumed: the deferred work's answer is ready
      std::optional<HttpResponse> ready;
      {
        std::lock_guard lock(pending->mu);
        ready.swap(pending->ready);
      }
      if (!ready) return MHD_NO;
      MHD_get_connection_values(connection, MHD_HEADER_KIND, &CollectHeader, &request.headers);
      return self->Send(connection, request, *ready);
    }
    request.body_too_large = pending->too_large;
    request.body_limit = pending->policy.max_bytes;
    if (!pending->upload_error.ok() && !pending->too_large) {
      return SendError(connection, 500, "io_error", pending->upload_error.message());
    }
    request.body = std::move(pending->body);
    request.client = ClientAddress(connection);
    MHD_get_connection_values(connection, MHD_HEADER_KIND, &CollectHeader, &request.headers);
    MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, &CollectQuery, &request.query);
    for (auto& f : pending->files) {
      if (f.fd >= 0) {
        close(f.fd);
        f.fd = -1;
      }
      request.files.push_back(f.info);
    }
    request.form = pending->form;
    HttpResponse response;
    try {
      response = self->handler(request);
    } catch (const std::exception&) {
      response = HttpResponse();
      response.status = 500;
      response.body = R"({"code":"internal","message":"internal error"})";
    }
    if (response.deferred) return self->Defer(connection, pending, std::move(response.deferred));
    return self->Send(connection, request, response);
  }

  // A piece of the body: into memory, or to disk for uploads, refused beyond the limit (the
  // rest is read and dropped, and the answer is 413).
  void Receive(MHD_Connection* connection, Pending& p, const char* data, size_t size) {
    if (p.too_large) return;
    p.received += size;
    if (p.received > p.policy.max_bytes) {
      p.too_large = true;
      p.body.clear();
      return;
    }
    if (!p.policy.upload) {
      p.body.append(data, size);
      return;
    }
    if (p.post == nullptr && p.files.empty() && p.form.empty()) {
      const char* type =
          MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
      if (type != nullptr && std::string_view(type).rfind("multipart/form-data", 0) == 0) {
        p.server = this;
        p.post = MHD_create_post_processor(connection, 64 * 1024, &PostPart, &p);
      }
      if (p.post == nullptr) {
        UploadedFile info;
        info.field = "body";
        info.content_type = type != nullptr ? type : "";
        p.upload_error = OpenUploadFile(p, std::move(info));
      }
    }
    if (p.post != nullptr) {
      if (MHD_post_process(p.post, data, size) != MHD_YES && p.upload_error.ok() && !p.too_large) {
        p.upload_error = InvalidArgument("the multipart body cannot be read");
      }
      return;
    }
    (void)WriteUpload(p, data, size);
  }

  static void Completed(void*, MHD_Connection*, void** con_cls, MHD_RequestTerminationCode) {
    delete static_cast<Pending*>(*con_cls);
    *con_cls = nullptr;
  }

  void StopAll() {
    {
      std::lock_guard lock(mu);
      if (stopping) return;
      stopping = true;
      // Streams end: suspended connections are resumed so that they can finish.
      for (auto* state : streams) {
        std::lock_guard state_lock(state->mu);
        state->gone = true;
        state->ResumeLocked();
      }
    }
    // Deferred work resumes its connection when it ends; libmicrohttpd must not be stopped
    // with a connection suspended.
    {
      std::unique_lock lock(mu);
      deferred_done.wait(lock, [this] { return deferred == 0; });
    }
    for (auto* d : daemons) MHD_stop_daemon(d);
    daemons.clear();
    executor.reset();
  }
};

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpOptions& options,
                                                      HttpHandler handler, BodyPolicyFor policy) {
  if (options.binds.empty()) return InvalidArgument("no address to listen on");
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->handler = std::move(handler);
  impl->policy = std::move(policy);
  impl->executor =
      std::make_unique<ThreadPool>(std::max(1, options.executor_threads), "timbre-http-x");

  int port = options.port;
  for (const auto& bind : options.binds) {
    sockaddr_storage storage{};
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TURBO | MHD_USE_ERROR_LOG |
                     MHD_ALLOW_SUSPEND_RESUME;
    std::string url_host = bind;
    if (in_addr a{}; inet_pton(AF_INET, bind.c_str(), &a) == 1) {
      auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
      v4->sin_family = AF_INET;
      v4->sin_port = htons(static_cast<uint16_t>(port));
      v4->sin_addr = a;
    } else if (in6_addr a6{}; inet_pton(AF_INET6, bind.c_str(), &a6) == 1) {
      auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
      v6->sin6_family = AF_INET6;
      v6->sin6_port = htons(static_cast<uint16_t>(port));
      v6->sin6_addr = a6;
      // "::" serves IPv4 clients too (as mapped addresses); a specific address only itself.
      flags |= IN6_IS_ADDR_UNSPECIFIED(&a6) ? MHD_USE_DUAL_STACK : MHD_USE_IPv6;
      url_host = "[" + bind + "]";
    } else {
      for (auto* d : impl->daemons) MHD_stop_daemon(d);
      return InvalidArgument(fmt::format("cannot bind to '{}': not an IPv4 or IPv6 address", bind));
    }
    std::vector<MHD_OptionItem> items = {
        {MHD_OPTION_SOCK_ADDR, 0, &storage},
        {MHD_OPTION_CONNECTION_LIMIT, static_cast<intptr_t>(options.connection_limit), nullptr},
        {MHD_OPTION_CONNECTION_TIMEOUT, static_cast<intptr_t>(options.idle_timeout_s), nullptr},
        {MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, nullptr},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<intptr_t>(kConnectionMemory), nullptr},
        {MHD_OPTION_NOTIFY_COMPLETED, reinterpret_cast<intptr_t>(&Impl::Completed), impl.get()},
    };
    // One thread is the daemon's own polling thread: a pool of one is refused with a warning.
    if (options.threads > 1) {
      items.push_back({MHD_OPTION_THREAD_POOL_SIZE, options.threads, nullptr});
    }
    items.push_back({MHD_OPTION_END, 0, nullptr});
    MHD_Daemon* daemon =
        MHD_start_daemon(flags, static_cast<uint16_t>(port), nullptr, nullptr, &Impl::Access,
                         impl.get(), MHD_OPTION_ARRAY, items.data(), MHD_OPTION_END);
    if (daemon == nullptr) {
      for (auto* d : impl->daemons) MHD_stop_daemon(d);
      return IoError(fmt::format("cannot listen on {}:{} (in use, or not allowed)", bind, port));
    }
    impl->daemons.push_back(daemon);
    if (port == 0) {  // the first address picks a free port; the others take the same
      const auto* info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
      port = info != nullptr ? info->port : 0;
    }
    impl->urls.push_back(fmt::format("http://{}:{}", url_host, port));
  }
  auto server = std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
  server->port_ = port;
  return server;
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

std::vector<std::string> HttpServer::urls() const { return impl_->urls; }

void HttpServer::Stop() {
  if (impl_) impl_->StopAll();
}

}  // namespace timbre::server
