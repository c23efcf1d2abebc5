// The statistics of study fss (jobs/fss_analysis.hpp) on cases whose answers are exact:
// polynomial fits through exact points and their covariance against the textbook line,
// log-log exponents of exact power laws, the crossing of two exact lines, the stationary
// law of trajectories built to have known moments, and the seeds' combined error.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "core/rng.hpp"
#include "jobs/fss_analysis.hpp"
#include "jobs/fss_study.hpp"

using namespace macrodyn;
using namespace macrodyn::jobs;

TEST_CASE("fss: weighted polynomial fits recover exact polynomials and the line's textbook errors", "[fss]") {
  const std::vector<double> x{2.25, 2.26, 2.27, 2.28, 2.29};
  std::vector<double> y, se(5, 0.01);
  for (double t : x) y.push_back(0.6 - 3.0 * (t - 2.27) + 40.0 * (t - 2.27) * (t - 2.27));
  const PolyFit q = fit_polynomial(x, y, se, 2);
  CHECK(q.at(2.265) == Approx(0.6 - 3.0 * (-0.005) + 40.0 * 0.000025).epsilon(1e-9));
  CHECK(q.slope_at(2.269185) == Approx(-3.0 + 80.0 * (2.269185 - 2.27)).epsilon(1e-7));
  CHECK(q.chi2_dof == Approx(0).margin(1e-12));
  // The weighted line: var(slope) = S / (S Sxx - Sx^2) with S = sum w.
  const std::vector<double> ly{1.0, 1.3, 1.2, 1.8, 1.9}, lse{0.1, 0.2, 0.1, 0.3, 0.1};
  double S = 0, Sx = 0, Sxx = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double w = 1 / (lse[i] * lse[i]);
    S += w;
    Sx += w * x[i];
    Sxx += w * x[i] * x[i];
  }
  const PolyFit l = fit_polynomial(x, ly, lse, 1);
  CHECK(std::sqrt(l.cov[1][1]) == Approx(std::sqrt(S / (S * Sxx - Sx * Sx))).epsilon(1e-8));
  CHECK(l.slope_se_at(0.0) == Approx(std::sqrt(l.cov[1][1])).epsilon(1e-12));
  CHECK_THROWS(fit_polynomial({1.0, 2.0}, {1.0, 2.0}, {0.1, 0.1}, 2));
  CHECK_THROWS(fit_polynomial({1.0, 2.0}, {1.0, 2.0}, {0.1, 0.0}, 1));
}

TEST_CASE("fss: log-log exponents of exact power laws", "[fss]") {
  const std::vector<double> L{16, 32, 48, 64, 128};
  std::vector<Estimate> m, chi;
  for (double l : L) {
    m.push_back({1.1 * std::pow(l, -0.125), 0.001});
    chi.push_back({0.3 * std::pow(l, 1.75), 0.01 * std::pow(l, 1.75)});
  }
  CHECK(loglog_slope(L, m).value == Approx(-0.125).epsilon(1e-10));
  const Estimate c = loglog_slope(L, chi);
  CHECK(c.value == Approx(1.75).epsilon(1e-10));
  // Equal relative errors s on ln y: se(slope) = s / sqrt(sum (ln L - mean)^2).
  double mean = 0, ss = 0;
  for (double l : L) mean += std::log(l) / 5;
  for (double l : L) ss += (std::log(l) - mean) * (std::log(l) - mean);
  CHECK(c.se == Approx(0.01 / 0.3 / std::sqrt(ss)).epsilon(1e-8));
  CHECK(std::isnan(loglog_slope({16, 32}, {{-1.0, 0.1}, {1.0, 0.1}}).value));  // no logarithm of a negative value
}

TEST_CASE("fss: the Binder crossing of two exact lines and its error from the draws", "[fss]") {
  const std::vector<double> T{2.25, 2.27, 2.29};
  std::vector<Estimate> a, b;
  for (double t : T) {
    a.push_back({0.61 - 2.0 * (t - 2.268), 1e-4});
    b.push_back({0.61 - 5.0 * (t - 2.268), 1e-4});
  }
  const Estimate x = binder_crossing(T, a, b, 1);
  CHECK(x.value == Approx(2.268).epsilon(1e-9));
  // The line difference is 3 (t - 2.268) with independent errors: the crossing's error is
  // about sqrt(2 var(difference at the crossing)) / 3, of the order of 1e-4 / 3 here.
  CHECK(x.se > 1e-5);
  CHECK(x.se < 2e-4);
  // Parallel lines do not cross: no value.
  std::vector<Estimate> c;
  for (double t : T) c.push_back({0.5 - 2.0 * (t - 2.268), 1e-4});
  CHECK(std::isnan(binder_crossing(T, a, c, 1).value));
}

TEST_CASE("fss: the stationary law of trajectories with known moments", "[fss]") {
  // Trajectories whose |m| after the burn-in is uniformly 0.2 or 0.8 in alternation: <|m|> =
  // 0.5, <m^2> = 0.34, <m^4> = (0.0016 + 0.4096) / 2; the first half (dropped) is 5, a value
  // the clip and the burn-in must both keep out; one trajectory holds a NaN and is left out.
  const std::int64_t n = 6, frames = 400;
  const int d = 2;
  std::vector<double> traj(static_cast<std::size_t>(n * frames * d), 0.1);
  for (std::int64_t j = 0; j < n; ++j)
    for (std::int64_t k = 0; k < frames; ++k)
      traj[static_cast<std::size_t>((j * frames + k) * d)] = k < frames / 2 ? 5.0 : (k % 2 ? -0.8 : 0.2);
  traj[static_cast<std::size_t>((5 * frames + 3) * d)] = std::nan("");
  const double N = 1024, T = 2.27;
  const StationaryLaw s = stationary_law(traj, n, frames, d, 0, N, T, 0.5, 10);
  CHECK(s.trajectories == 5);
  CHECK(s.diverged == 1);
  CHECK(s.abs_m.value == Approx(0.5).epsilon(1e-12));
  CHECK(s.m2.value == Approx(0.34).epsilon(1e-12));
  CHECK(s.m4.value == Approx((0.0016 + 0.4096) / 2).epsilon(1e-12));
  CHECK(s.chi_prime.value == Approx(N / T * (0.34 - 0.25)).epsilon(1e-10));
  CHECK(s.binder.value == Approx(1 - 0.2056 / (3 * 0.34 * 0.34)).epsilon(1e-10));
  CHECK(s.abs_m.se == Approx(0).margin(1e-12));  // identical trajectories
  REQUIRE(s.histogram.size() == 10);
  CHECK(s.histogram[2] == Approx(0.5));
  CHECK(s.histogram[8] == Approx(0.5));
}

TEST_CASE("fss: the stationary law's jackknife error matches the spread of independent trajectories", "[fss]") {
  // Each trajectory constant at an independent uniform |m| in (0, 1): the error of <|m|> is
  // sd / sqrt(n) = sqrt(1/12 / n) in expectation; at n = 4000 the estimate's own relative
  // error is about 1 / sqrt(2 n) = 1.1 %, so 6 % is over 4 of its standard errors.
  const std::int64_t n = 4000, frames = 16;
  std::vector<double> traj(static_cast<std::size_t>(n * frames));
  Rng rng({7, Purpose::test, 0, 0, 0});
  for (std::int64_t j = 0; j < n; ++j) {
    const double m = rng.uniform();
    for (std::int64_t k = 0; k < frames; ++k) traj[static_cast<std::size_t>(j * frames + k)] = m;
  }
  const StationaryLaw s = stationary_law(traj, n, frames, 1, 0, 256, 2.27, 0.5, 4);
  CHECK(s.abs_m.se == Approx(std::sqrt(1.0 / 12 / n)).epsilon(0.06));
  CHECK(std::fabs(s.abs_m.value - 0.5) < 4 * std::sqrt(1.0 / 12 / n));
  CHECK(s.drift_z == 0);  // constant trajectories: no drift between quarters (zero error)
}

TEST_CASE("fss: seeds combine with the larger of their spread and their own errors", "[fss]") {
  const Estimate spread = over_seeds({{1.0, 0.01}, {2.0, 0.01}, {3.0, 0.01}});
  CHECK(spread.value == Approx(2.0));
  CHECK(spread.se == Approx(1.0 / std::sqrt(3.0)));
  const Estimate own = over_seeds({{1.0, 0.3}, {1.0, 0.3}});
  CHECK(own.se == Approx(0.3 / std::sqrt(2.0)));
  CHECK(over_seeds({{4.0, 0.2}}).se == Approx(0.2));
}

TEST_CASE("fss: the authors' tuned factors, and none outside their table", "[fss]") {
  CHECK(tuned_loss_factor(16, 2.25) == 1.0);
  CHECK(tuned_loss_factor(32, 2.27) == 2.2);
  CHECK(tuned_loss_factor(64, 2.26) == 9.0);
  CHECK(tuned_loss_factor(128, 2.27) == 32.0);
  CHECK(tuned_loss_factor(128, 2.25) == 0.0);
  CHECK(tuned_loss_factor(96, 2.27) == 0.0);
}
