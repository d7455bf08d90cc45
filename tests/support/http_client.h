// A real HTTP client for tests (libcurl): plain requests, and streamed responses read as they
// arrive (Server-Sent Events).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace timbre::testing {

struct Reply {
  long status = 0;
  std::string body;
  std::string headers;
  std::string error;  // curl's, when no answer came
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
  // A response header's value ("" when absent), by case-insensitive name.
  std::string Header(const std::string& name) const;
};

struct Part {
  std::string name;
  std::string data;      // the text, or the file's contents
  std::string filename;  // set: a file part
};

// One request; `body` is sent for POST (and any method when not empty), as JSON.
Reply Http(const std::string& method, const std::string& url, const std::string& body = "",
           const std::vector<std::string>& headers = {});
// HEAD, whose answer has headers and no body.
Reply Head(const std::string& url, const std::vector<std::string>& headers = {});
// A multipart/form-data POST.
Reply PostForm(const std::string& url, const std::vector<Part>& parts,
               const std::vector<std::string>& headers = {});
// A GET whose body is handed to `on_data` piece by piece as it arrives; returning false from
// it ends the transfer. Gives up after `timeout_s`.
Reply Stream(const std::string& url, const std::function<bool(const std::string&)>& on_data,
             long timeout_s = 60, const std::vector<std::string>& headers = {});

}  // namespace timbre::testing
