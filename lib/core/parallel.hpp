#pragma once
// Threads over work items. Each item's result depends only on the item (its RNG is
// keyed by the item), and results go to slots indexed by the item, so the data do not
// depend on the number of threads.
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace macrodyn {

// A thread-count option: n > 0 as given, 0 = all cores.
inline int resolve_threads(int n) {
  if (n > 0) return n;
  const unsigned cores = std::thread::hardware_concurrency();
  return cores ? static_cast<int>(cores) : 1;
}

// The most threads a thread-count option may ask for: 4 x the cores. More only
// oversubscribes the machine (and 100000 threads exhaust it).
inline int max_threads() { return 4 * resolve_threads(0); }

// InputError naming `option` unless 0 <= n <= max_threads().
inline void check_threads(long long n, const std::string& option) {
  if (n < 0 || n > max_threads())
    throw InputError(option + " = " + std::to_string(n) + " must be between 0 (all cores) and " +
                     std::to_string(max_threads()) + " (4 x the " + std::to_string(resolve_threads(0)) +
                     " cores of this machine)");
}

// Calls body(item, worker) for item in [begin, end) on `threads` workers; worker is in
// [0, threads) and lets the body use per-worker scratch. The first exception thrown by
// any body is rethrown here after all workers stopped.
template <class Body>
void parallel_for(std::int64_t begin, std::int64_t end, int threads, Body&& body) {
  if (threads <= 1 || end - begin <= 1) {
    for (std::int64_t i = begin; i < end; ++i) body(i, 0);
    return;
  }
  std::atomic<std::int64_t> next{begin};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&](int worker) {
    try {
      for (std::int64_t i = next++; i < end; i = next++) body(i, worker);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      next = end;
    }
  };
  std::vector<std::thread> pool;
  for (int w = 1; w < threads; ++w) pool.emplace_back(work, w);
  work(0);
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace macrodyn
