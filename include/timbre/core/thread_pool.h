// Runs a function over a range of items on a fixed number of threads.
#pragma once

#include <cstddef>
#include <functional>

namespace timbre {

// Calls fn(i) for every i in [0, count) on `threads` threads (at least one), each thread
// taking the next unclaimed index, and returns when all calls are done. fn must be safe to
// call concurrently; it should not throw (an escaping exception terminates the process).
void ParallelFor(size_t count, int threads, const std::function<void(size_t)>& fn);

// The number of hardware threads, at least 1.
int HardwareThreads();

}  // namespace timbre
