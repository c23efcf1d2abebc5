#pragma once
// Cooperative stop: the app's SIGINT/SIGTERM handler records the signal, and long jobs
// check between blocks, after their last commit, and stop with StopRequested, so what
// was committed stays complete and nothing is half-written.
#include <atomic>
#include <stdexcept>
#include <string>

namespace macrodyn {

// 0, or the number of the signal that asked to stop. Lock-free: safe to store from a
// signal handler.
inline std::atomic<int>& stop_signal() {
  static std::atomic<int> signal{0};
  return signal;
}

class StopRequested : public std::runtime_error {
 public:
  StopRequested(int signal, const std::string& what) : std::runtime_error(what), signal_(signal) {}
  int signal() const { return signal_; }

 private:
  int signal_;
};

// Throws StopRequested (saying `committed`, e.g. "1024 rows of /pairs") if a stop was asked.
inline void check_stop(const std::string& committed) {
  if (const int s = stop_signal().load()) {
    throw StopRequested(s, "stopped by signal " + std::to_string(s) + " with " + committed + " committed");
  }
}

}  // namespace macrodyn
