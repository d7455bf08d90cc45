#include "timbre/server/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <cstring>

#include <fmt/format.h>

#include "timbre/core/text.h"

namespace timbre::server {

std::string HttpRequest::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

std::string HttpRequest::Query(const std::string& name, const std::string& fallback) const {
  auto it = query.find(name);
  return it == query.end() ? fallback : it->second;
}

namespace {

// Each connection's memory pool: the request line and headers (bodies are streamed to the
// handler) and the response's headers. libmicrohttpd's default is 32 KiB, which it clears
// between requests on a kept-alive connection; a request whose headers do not fit gets 431.
constexpr size_t kConnectionMemory = 16 * 1024;

// What libmicrohttpd keeps for one request while its body arrives.
struct Pending {
  std::string body;
  bool too_large = false;
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
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr, text,
              sizeof(text));
  }
  return text;
}

void FreeBody(void* body) { delete static_cast<std::string*>(body); }

// The response's body is handed to libmicrohttpd, which frees it once sent, rather than copied.
MHD_Result Send(MHD_Connection* connection, HttpResponse& r) {
  auto* body = new std::string(std::move(r.body));
  MHD_Response* response = MHD_create_response_from_buffer_with_free_callback_cls(
      body->size(), body->data(), &FreeBody, body);
  if (response == nullptr) {
    delete body;
    return MHD_NO;
  }
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, r.content_type.c_str());
  for (const auto& [name, value] : r.headers) {
    MHD_add_response_header(response, name.c_str(), value.c_str());
  }
  const MHD_Result ok = MHD_queue_response(connection, static_cast<unsigned>(r.status), response);
  MHD_destroy_response(response);
  return ok;
}

}  // namespace

struct HttpServer::Impl {
  HttpOptions options;
  HttpHandler handler;
  HttpResponse too_large;
  MHD_Daemon* daemon = nullptr;

  static MHD_Result Access(void* cls, MHD_Connection* connection, const char* url,
                           const char* method, const char*, const char* upload_data,
                           size_t* upload_data_size, void** con_cls) {
    auto* self = static_cast<Impl*>(cls);
    if (*con_cls == nullptr) {  // headers are in; the body (if any) follows
      *con_cls = new Pending();
      return MHD_YES;
    }
    auto* pending = static_cast<Pending*>(*con_cls);
    if (*upload_data_size > 0) {
      if (pending->body.size() + *upload_data_size > self->options.max_body_bytes) {
        pending->too_large = true;  // keep reading, drop the bytes, answer 413 at the end
      } else {
        pending->body.append(upload_data, *upload_data_size);
      }
      *upload_data_size = 0;
      return MHD_YES;
    }
    if (pending->too_large) {
      HttpResponse too_large = self->too_large;
      return Send(connection, too_large);
    }
    HttpRequest request;
    request.method = method;
    request.path = url;
    request.body = std::move(pending->body);
    request.client = ClientAddress(connection);
    MHD_get_connection_values(connection, MHD_HEADER_KIND, &CollectHeader, &request.headers);
    MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, &CollectQuery, &request.query);
    HttpResponse response;
    try {
      response = self->handler(request);
    } catch (const std::exception& e) {
      response.status = 500;
      response.body = R"({"code":"internal","message":"internal error"})";
    }
    return Send(connection, response);
  }

  static void Completed(void*, MHD_Connection*, void** con_cls, MHD_RequestTerminationCode) {
    delete static_cast<Pending*>(*con_cls);
    *con_cls = nullptr;
  }
};

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpOptions& options,
                                                      HttpHandler handler, HttpResponse too_large) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->handler = std::move(handler);
  impl->too_large = std::move(too_large);

  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(options.port));
  if (inet_pton(AF_INET, options.bind.c_str(), &addr.sin_addr) != 1) {
    return InvalidArgument(fmt::format("cannot bind to '{}': not an IPv4 address", options.bind));
  }
  impl->daemon = MHD_start_daemon(
      MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TURBO | MHD_USE_ERROR_LOG,
      static_cast<uint16_t>(options.port), nullptr, nullptr, &Impl::Access, impl.get(),
      MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&addr), MHD_OPTION_THREAD_POOL_SIZE,
      static_cast<unsigned>(std::max(1, options.threads)), MHD_OPTION_CONNECTION_LIMIT,
      options.connection_limit, MHD_OPTION_CONNECTION_TIMEOUT, options.idle_timeout_s,
      MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_CONNECTION_MEMORY_LIMIT, kConnectionMemory,
      MHD_OPTION_NOTIFY_COMPLETED, &Impl::Completed, impl.get(), MHD_OPTION_END);
  if (impl->daemon == nullptr) {
    return IoError(
        fmt::format("cannot listen on {}:{} (in use, or not allowed)", options.bind, options.port));
  }
  const auto* info = MHD_get_daemon_info(impl->daemon, MHD_DAEMON_INFO_BIND_PORT);
  const int port = info != nullptr ? info->port : options.port;
  auto server = std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
  server->port_ = port;
  return server;
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Stop() {
  if (impl_ && impl_->daemon != nullptr) {
    MHD_stop_daemon(impl_->daemon);
    impl_->daemon = nullptr;
  }
}

}  // namespace timbre::server
