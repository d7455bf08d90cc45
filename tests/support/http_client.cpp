#include "http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>

namespace timbre::testing {
namespace {

// libcurl wants one global set-up before any handle.
[[maybe_unused]] const bool kCurlReady = [] {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  return true;
}();

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

struct StreamState {
  std::string* body;
  const std::function<bool(const std::string&)>* on_data;
};

size_t Deliver(char* data, size_t size, size_t n, void* cls) {
  auto* s = static_cast<StreamState*>(cls);
  const std::string piece(data, size * n);
  s->body->append(piece);
  return (*s->on_data)(piece) ? size * n : 0;  // 0 makes curl stop
}

// Runs a prepared handle and fills the reply (whose body the handle already writes into).
Reply Perform(CURL* curl, curl_slist* list, Reply& r) {
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &Append);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r.headers);
  const CURLcode code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
  if (code != CURLE_OK && code != CURLE_WRITE_ERROR) r.error = curl_easy_strerror(code);
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return r;
}

CURL* Prepare(const std::string& url, std::string* body, long timeout_s) {
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_s);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  return curl;
}

curl_slist* Headers(const std::vector<std::string>& headers, curl_slist* list = nullptr) {
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  return list;
}

}  // namespace

std::string Reply::Header(const std::string& name) const {
  auto lower = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
  };
  const std::string want = lower(name) + ":";
  size_t at = 0;
  while (at < headers.size()) {
    size_t end = headers.find("\r\n", at);
    if (end == std::string::npos) end = headers.size();
    const std::string line = headers.substr(at, end - at);
    if (lower(line).rfind(want, 0) == 0) {
      std::string v = line.substr(want.size());
      while (!v.empty() && v.front() == ' ') v.erase(0, 1);
      return v;
    }
    at = end + 2;
  }
  return "";
}

Reply Http(const std::string& method, const std::string& url, const std::string& body,
           const std::vector<std::string>& headers) {
  Reply r;
  CURL* curl = Prepare(url, &r.body, 60);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (!body.empty() || method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  return Perform(curl,
                 Headers(headers, curl_slist_append(nullptr, "Content-Type: application/json")), r);
}

Reply Head(const std::string& url, const std::vector<std::string>& headers) {
  Reply r;
  CURL* curl = Prepare(url, &r.body, 60);
  curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  return Perform(curl, Headers(headers), r);
}

Reply PostForm(const std::string& url, const std::vector<Part>& parts,
               const std::vector<std::string>& headers) {
  Reply r;
  CURL* curl = Prepare(url, &r.body, 120);
  curl_mime* mime = curl_mime_init(curl);
  for (const auto& p : parts) {
    curl_mimepart* part = curl_mime_addpart(mime);
    curl_mime_name(part, p.name.c_str());
    curl_mime_data(part, p.data.data(), p.data.size());
    if (!p.filename.empty()) curl_mime_filename(part, p.filename.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime);
  Reply done = Perform(curl, Headers(headers), r);
  curl_mime_free(mime);
  return done;
}

Reply Stream(const std::string& url, const std::function<bool(const std::string&)>& on_data,
             long timeout_s, const std::vector<std::string>& headers) {
  Reply r;
  StreamState state{&r.body, &on_data};
  CURL* curl = Prepare(url, &r.body, timeout_s);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Deliver);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &state);
  return Perform(curl, Headers(headers), r);
}

}  // namespace timbre::testing
