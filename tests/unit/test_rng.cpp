// The counter-based RNG: keyed streams and the ziggurat exponential.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/rng.hpp"

using namespace macrodyn;

TEST_CASE("streams depend only on their work item", "[rng]") {
  Rng a({7, Purpose::relax, 2, 99, 5}), b({7, Purpose::relax, 2, 99, 5});
  Rng c({7, Purpose::relax, 2, 99, 6}), d({8, Purpose::relax, 2, 99, 5}), e({7, Purpose::draw, 2, 99, 5});
  for (int i = 0; i < 100; ++i) {
    const auto x = a.next_u32();
    CHECK(x == b.next_u32());
    const bool differs = x != c.next_u32() || x != d.next_u32() || x != e.next_u32();
    CHECK(differs);
  }
}

TEST_CASE("uniform is in the open unit interval and below(n) is below n", "[rng]") {
  Rng r({1, Purpose::test, 0, 0, 0});
  for (int i = 0; i < 100000; ++i) {
    const double u = r.uniform();
    REQUIRE(u > 0.0);
    REQUIRE(u < 1.0);
    REQUIRE(r.below(7) < 7u);
  }
}

// The ziggurat must be exactly Exp(1): one-sample KS at alpha = 0.001 on 10^6 draws,
// mean and variance within 4 standard errors, and the tail beyond the ziggurat's base
// (x > 7.697, where the memoryless redraw is used) with the right probability.
TEST_CASE("exponential() is Exp(1) in law, tail included", "[rng]") {
  const int n = 1000000;
  Rng r({3, Purpose::test, 0, 1, 0});
  std::vector<double> x(n);
  double sum = 0.0, sum2 = 0.0;
  int beyond8 = 0, beyond_base = 0;
  for (int i = 0; i < n; ++i) {
    x[i] = r.exponential();
    REQUIRE(x[i] >= 0.0);
    sum += x[i];
    sum2 += x[i] * x[i];
    beyond8 += x[i] > 8.0;
    beyond_base += x[i] > 7.69711747013104972;
  }
  std::sort(x.begin(), x.end());
  double D = 0.0;
  for (int i = 0; i < n; ++i) {
    const double F = 1.0 - std::exp(-x[i]);
    D = std::max({D, std::fabs(F - static_cast<double>(i) / n), std::fabs(F - static_cast<double>(i + 1) / n)});
  }
  const double mean = sum / n, var = sum2 / n - mean * mean;
  INFO("KS D sqrt(n) = " << D * std::sqrt(n) << ", mean " << mean << ", var " << var << ", P(X>8) count "
                         << beyond8 << " (expected " << n * std::exp(-8.0) << ")");
  CHECK(D * std::sqrt(static_cast<double>(n)) < 1.949);  // alpha = 0.001
  CHECK(std::fabs(mean - 1.0) < 4.0 / std::sqrt(n));      // Var(X) = 1
  CHECK(std::fabs(var - 1.0) < 4.0 * std::sqrt(8.0 / n)); // Var(X^2) = 20, Var(s^2) ~ 8/n
  const double p8 = std::exp(-8.0), pb = std::exp(-7.69711747013104972);
  CHECK(std::fabs(beyond8 - n * p8) < 4.0 * std::sqrt(n * p8));
  CHECK(std::fabs(beyond_base - n * pb) < 4.0 * std::sqrt(n * pb));
}
