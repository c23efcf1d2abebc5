#pragma once
// Two-sample Kolmogorov-Smirnov test (exactness tests of the sampling stages).
#include <algorithm>
#include <cmath>
#include <vector>

namespace macrodyn::test_ks {

// Largest difference between the two empirical CDFs (ties handled: both CDFs are
// advanced past equal values before comparing, so discrete samples are fine).
inline double statistic(std::vector<double> a, std::vector<double> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::size_t i = 0, j = 0;
  double d = 0.0;
  while (i < a.size() && j < b.size()) {
    const double v = std::min(a[i], b[j]);
    while (i < a.size() && a[i] == v) ++i;
    while (j < b.size() && b[j] == v) ++j;
    d = std::max(d, std::fabs(static_cast<double>(i) / a.size() - static_cast<double>(j) / b.size()));
  }
  return d;
}

// Critical value at level alpha (asymptotic): c(alpha) sqrt((n + m) / (n m)),
// c(alpha) = sqrt(-ln(alpha / 2) / 2); 1.949 at alpha = 0.001. Conservative for
// discrete distributions.
inline double critical(std::size_t n, std::size_t m, double alpha) {
  const double c = std::sqrt(-0.5 * std::log(alpha / 2.0));
  return c * std::sqrt(static_cast<double>(n + m) / (static_cast<double>(n) * m));
}

}  // namespace macrodyn::test_ks
