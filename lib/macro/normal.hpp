#pragma once
// Standard normal variates from the project's counter-based Rng.
//
// std::normal_distribution is not used: its algorithm is implementation-defined, so the
// same seed would give different rollouts with different standard libraries. Marsaglia's
// polar method needs only uniform(), sqrt (exact in IEEE) and log, so the draws are the
// same wherever libm's log agrees to the last bit (glibc's does across x86-64 builds).
#include "core/rng.hpp"

#include <cmath>

namespace macrodyn::macro {

// One N(0, 1) stream. The polar method makes variates in pairs; the second is kept for
// the next call, so the k-th variate of a stream depends only on its WorkItem and k.
class NormalStream {
 public:
  explicit NormalStream(const WorkItem& w) : rng_(w) {}

  double operator()() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double v1, v2, s;
    do {
      v1 = 2.0 * rng_.uniform() - 1.0;
      v2 = 2.0 * rng_.uniform() - 1.0;
      s = v1 * v1 + v2 * v2;
    } while (s >= 1.0 || s == 0.0);  // accept points strictly inside the unit disc
    const double f = std::sqrt(-2.0 * std::log(s) / s);
    spare_ = v2 * f;
    has_spare_ = true;
    return v1 * f;
  }

 private:
  Rng rng_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace macrodyn::macro
