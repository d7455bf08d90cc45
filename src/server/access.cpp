#include "timbre/server/access.h"

#include <openssl/crypto.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace timbre::server {
namespace {

// Compares without an early exit, so the time taken says nothing about where keys differ.
bool SameKey(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string PresentedKey(const HttpRequest& request) {
  std::string key = request.Header("x-internal-secret");
  if (!key.empty()) return key;
  const std::string auth = request.Header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.size() > kBearer.size() && auth.compare(0, kBearer.size(), kBearer) == 0) {
    return auth.substr(kBearer.size());
  }
  return "";
}

}  // namespace

Result<Credentials> Credentials::Load(const std::string& secret, const std::string& keys_file) {
  Credentials c;
  if (!secret.empty()) c.keys_.push_back({"secret", secret});
  if (keys_file.empty()) return c;
  std::ifstream in(keys_file);
  if (!in) return IoError(fmt::format("cannot read the API keys file {}", keys_file));
  std::string line;
  size_t n = 0, found = 0;
  while (std::getline(in, line)) {
    ++n;
    std::stringstream ss(line);
    std::string first, second;
    ss >> first >> second;
    if (first.empty() || first[0] == '#') continue;
    ++found;
    if (second.empty()) {
      c.keys_.push_back({fmt::format("key{}", found), first});
    } else {
      c.keys_.push_back({first, second});
    }
  }
  if (found == 0) return InvalidArgument(fmt::format("no API key in {}", keys_file));
  return c;
}

std::optional<std::string> Credentials::Check(const HttpRequest& request) const {
  const std::string presented = PresentedKey(request);
  if (presented.empty()) return std::nullopt;
  std::optional<std::string> match;
  for (const auto& k : keys_) {
    if (SameKey(presented, k.value) && !match) match = k.name;  // every key is compared
  }
  return match;
}

RateLimiter::RateLimiter(double per_second, double burst, const Clock& clock)
    : per_second_(per_second), burst_(std::max(burst, 1.0)), clock_(clock) {}

double RateLimiter::Take(const std::string& client) {
  if (!enabled()) return 0;
  const auto now = clock_.Now();
  std::lock_guard lock(mu_);
  // Idle clients' buckets are full again; forgetting them keeps the map small.
  if (buckets_.size() > 100000) buckets_.clear();
  auto [it, fresh] = buckets_.try_emplace(client, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!fresh) {
    const double elapsed = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(burst_, b.tokens + elapsed * per_second_);
    b.last = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  return (1.0 - b.tokens) / per_second_;
}

}  // namespace timbre::server
