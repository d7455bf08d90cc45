#include "timbre/core/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace timbre {

void ParallelFor(size_t count, int threads, const std::function<void(size_t)>& fn) {
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next.fetch_add(1); i < count; i = next.fetch_add(1)) fn(i);
  };
  const size_t n =
      std::min<size_t>(static_cast<size_t>(std::max(threads, 1)), std::max<size_t>(count, 1));
  std::vector<std::thread> pool;
  pool.reserve(n - 1);
  for (size_t t = 1; t < n; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
}

int HardwareThreads() { return std::max(1u, std::thread::hardware_concurrency()); }

}  // namespace timbre
