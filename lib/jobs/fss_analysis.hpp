#pragma once
// The statistics of finite-size scaling (docs/design.md §8.5.9), apart from any model or
// file so that tests reach them directly: the stationary law of rollouts, weighted
// polynomial fits (log-log exponents, U(T) and its slope at T_c) and Binder crossings.
#include <cstdint>
#include <vector>

#include "jobs/equilibrium.hpp"

namespace macrodyn::jobs {

// 2D Ising: T_c = 2 / ln(1 + sqrt 2), beta/nu = 1/8, gamma/nu = 7/4, nu = 1.
inline constexpr double kIsingTc = 2.269185314213022;

// The stationary law of m over rollouts: the notes' evaluation (method notes §4). Each
// trajectory's frames from `burn` x frames on, |m| clipped to [0, 1]; per trajectory the
// means of |m|, m^2 and m^4; the estimates from the means over trajectories, with
// jackknife errors over trajectories (independent by construction).
struct StationaryLaw {
  Estimate abs_m, m2, m4;
  Estimate chi_prime;  // (N/T)(<m^2> - <|m|>^2)
  Estimate binder;     // 1 - <m^4> / (3 <m^2>^2)
  std::int64_t trajectories = 0;  // used (finite all along)
  std::int64_t diverged = 0;      // left out: a non-finite value somewhere
  // Stationarity: <|m|> over the second quarter of the frames against the fourth (paired
  // per trajectory), in standard errors of the difference. Large: still drifting.
  double drift_z = 0;
  std::vector<double> histogram;  // of |m| in `bins` equal bins of [0, 1], fractions
};
// `traj`: [n, frames, d] (trajectory-major), m the variable at `var`; N sites at T.
StationaryLaw stationary_law(const std::vector<double>& traj, std::int64_t n, std::int64_t frames, int d, int var,
                             double N, double T, double burn, int bins);

// The weighted least-squares polynomial y = sum_k c_k x^k (degree q, weights 1/se^2):
// coefficients and their covariance, and chi^2 per degree of freedom (0 with none).
struct PolyFit {
  std::vector<double> c;
  std::vector<std::vector<double>> cov;
  double chi2_dof = 0;
  double at(double x) const;
  double slope_at(double x) const;     // dy/dx
  double slope_se_at(double x) const;  // its standard error (from cov)
};
// Throws std::invalid_argument with fewer than q + 1 points or a zero error.
PolyFit fit_polynomial(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& se,
                       int degree);

// The exponent of y ~ L^a: the weighted line through (ln L, ln y) with se(ln y) = se / y.
Estimate loglog_slope(const std::vector<double>& L, const std::vector<Estimate>& y);

// The temperature where the Binder cumulants of two sides cross: each U(T) fitted with a
// polynomial of `degree`, the root in [T_lo, T_hi] nearest T_c; the standard error from
// refits of Gaussian draws of the U values (`draws`, fixed seed). value NaN: no crossing
// in the range.
Estimate binder_crossing(const std::vector<double>& T, const std::vector<Estimate>& U_a,
                         const std::vector<Estimate>& U_b, int degree, int draws = 2000);

// The mean of per-seed estimates, with the larger of two standard errors: the spread over
// seeds / sqrt(seeds) (seeds >= 2) and the root mean square of the seeds' own errors /
// sqrt(seeds) (what the trajectories alone would give).
Estimate over_seeds(const std::vector<Estimate>& per_seed);

}  // namespace macrodyn::jobs
