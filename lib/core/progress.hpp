#pragma once
// Progress of a long run on stderr: done / total, rate and ETA, at most every
// `interval` seconds, plus a final line.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace macrodyn {

class Progress {
 public:
  Progress(std::string what, std::int64_t total, const char* unit, bool enabled, double interval = 2.0)
      : what_(std::move(what)), unit_(unit), total_(total), enabled_(enabled), interval_(interval),
        start_(Clock::now()), last_(start_) {}

  void update(std::int64_t done) {
    if (!enabled_) return;
    const auto now = Clock::now();
    if (seconds(last_, now) < interval_ && done < total_) return;
    last_ = now;
    const double el = seconds(start_, now);
    const double rate = el > 0 ? done / el : 0.0;
    const double eta = rate > 0 ? (total_ - done) / rate : 0.0;
    std::fprintf(stderr, "%s: %lld/%lld %s (%.3g %s/s, elapsed %.1f s, ETA %.1f s)\n", what_.c_str(),
                 static_cast<long long>(done), static_cast<long long>(total_), unit_, rate, unit_, el, eta);
  }

  double elapsed() const { return seconds(start_, Clock::now()); }

 private:
  using Clock = std::chrono::steady_clock;
  static double seconds(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
  }
  std::string what_;
  const char* unit_;
  std::int64_t total_;
  bool enabled_;
  double interval_;
  Clock::time_point start_, last_;
};

}  // namespace macrodyn
