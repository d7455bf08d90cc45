// Who may call the API, and how often.
//
// Credentials: the shared secret (INTERNAL_API_SECRET) and/or an API-keys file; when either
// is set every route but /health needs one, presented as `X-Internal-Secret: KEY` or
// `Authorization: Bearer KEY`. Keys are compared in constant time.
//
// RateLimiter: a token bucket per client (the key's name, else the address): `per_second`
// tokens flow in up to `burst`; a request without a token gets 429 with Retry-After.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "timbre/core/clock.h"
#include "timbre/core/status.h"
#include "timbre/server/http.h"

namespace timbre::server {

class Credentials {
 public:
  // `keys_file`: one key per line, "NAME KEY" or just "KEY"; blank lines and # comments are
  // skipped. Errors: an unreadable file, or one with no key in it.
  static Result<Credentials> Load(const std::string& secret, const std::string& keys_file);

  bool required() const { return !keys_.empty(); }
  // The name of the key the request presents ("secret" for the shared secret); empty when
  // it presents none or a wrong one.
  std::optional<std::string> Check(const HttpRequest& request) const;

 private:
  struct Key {
    std::string name;
    std::string value;
  };
  std::vector<Key> keys_;
};

class RateLimiter {
 public:
  // The clock must outlive the limiter.
  RateLimiter(double per_second, double burst, const Clock& clock);
  bool enabled() const { return per_second_ > 0; }
  // 0 when the request may go on; otherwise the seconds until a token is there.
  double Take(const std::string& client);

 private:
  struct Bucket {
    double tokens = 0;
    Clock::TimePoint last;
  };
  double per_second_;
  double burst_;
  const Clock& clock_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace timbre::server
