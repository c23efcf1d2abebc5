// lib/macro: Euler–Maruyama ensembles, metrics and plots.
//
// Statistical checks use fixed seeds and tolerances of 4 standard errors that are either
// exact (Gaussian moments of a linear SDE) or measured (MMD over independent repetitions);
// the measured values and their SEs are printed (run with -s to see them).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "macro/metrics.hpp"
#include "macro/normal.hpp"
#include "macro/plot.hpp"
#include "macro/rollout.hpp"

using namespace macrodyn;
using namespace macrodyn::macro;

namespace {

// ---------------------------------------------------------------------------------------
// MMD: exact expectation of the biased V-statistic for x ~ N(mu1, s^2 I), y ~ N(mu2, s^2 I)
// in D dimensions with n = m. For independent x, y: E k_sig(x, y) =
// (sig^2 / (sig^2 + 2 s^2))^(D/2) exp(-|mu1 - mu2|^2 / (2 (sig^2 + 2 s^2))); the n diagonal
// pairs of each self-sum contribute k = 1.
double mmd2_expectation(double s, double shift2, int D, int n) {
  double total = 0.0;
  for (double sig : kMmdBandwidths) {
    const double v = sig * sig + 2 * s * s;
    const double k0 = std::pow(sig * sig / v, 0.5 * D);
    const double kxy = k0 * std::exp(-shift2 / (2 * v));
    const double self = 1.0 / n + (1.0 - 1.0 / n) * k0;
    total += 2 * self - 2 * kxy;
  }
  return total / kMmdBandwidths.size();
}

std::vector<double> gaussian_sample(int n, const std::vector<double>& mu, double s, std::uint64_t rep,
                                    std::uint32_t which) {
  const int D = static_cast<int>(mu.size());
  NormalStream g({2024, Purpose::test, 0, rep, which});
  std::vector<double> x(static_cast<std::size_t>(n) * D);
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < D; ++k) x[i * D + k] = mu[k] + s * g();
  return x;
}

// Repeats the estimator on independent samples; its SD over the repetitions is the
// Monte Carlo SE of one estimate, SD / sqrt(reps) that of their mean.
void check_mmd(const std::vector<double>& mu1, const std::vector<double>& mu2, double s, const char* name) {
  const int n = 2000, reps = 30, D = static_cast<int>(mu1.size());
  double shift2 = 0;
  for (int k = 0; k < D; ++k) shift2 += (mu1[k] - mu2[k]) * (mu1[k] - mu2[k]);
  const double expected = mmd2_expectation(s, shift2, D, n);
  std::vector<double> est(reps);
  double mean = 0;
  for (int r = 0; r < reps; ++r) {
    est[r] = mmd2(gaussian_sample(n, mu1, s, r, 0), gaussian_sample(n, mu2, s, r, 1), D);
    mean += est[r] / reps;
  }
  double var = 0;
  for (double e : est) var += (e - mean) * (e - mean) / (reps - 1);
  const double sd = std::sqrt(var), se_mean = sd / std::sqrt(reps);
  std::printf("mmd2 %s: expected %.6e, mean of %d reps %.6e (SE %.2e, %.2f SE off), single %.6e (SD %.2e, %.2f SD off)\n",
              name, expected, reps, mean, se_mean, (mean - expected) / se_mean, est[0], sd, (est[0] - expected) / sd);
  CHECK(sd > 0);
  CHECK(std::fabs(mean - expected) <= 4 * se_mean);
  CHECK(std::fabs(est[0] - expected) <= 4 * sd);
}

// ---------------------------------------------------------------------------------------
// Linear SDE dz = -Theta z dt + S dW. Its Euler–Maruyama chain is exactly Gaussian with
// m_k = A m_{k-1} and C_k = A C_{k-1} A^T + S S^T dt, A = I - Theta dt, so the ensemble
// moments at the last step have exact standard errors: sqrt(C_ii / R) for a mean,
// C_ii sqrt(2 / (R - 1)) for a variance, sqrt((C_ii C_jj + C_ij^2) / (R - 1)) for a
// covariance.
using Mat = std::vector<double>;  // d x d row-major

SdeFunctions linear_sde(int d, const Mat& theta, const Mat& S) {
  std::vector<float> th(theta.begin(), theta.end()), s(S.begin(), S.end());
  SdeFunctions f;
  f.dim = d;
  f.eval = [d, th, s](const float* z, std::int64_t B, float* drift, float* sigma) {
    for (std::int64_t b = 0; b < B; ++b) {
      for (int i = 0; i < d; ++i) {
        float acc = 0;
        for (int j = 0; j < d; ++j) acc -= th[i * d + j] * z[b * d + j];
        drift[b * d + i] = acc;
      }
      for (int k = 0; k < d * d; ++k) sigma[b * d * d + k] = s[k];
    }
  };
  return f;
}

void check_linear_sde(const char* name, int d, const Mat& theta, const Mat& S, const std::vector<double>& z0,
                      double dt, int steps, std::int64_t R, std::uint64_t seed) {
  // Exact EM moments.
  std::vector<double> m(z0), C(d * d, 0.0);
  Mat A(d * d), SSt(d * d, 0.0);
  for (int i = 0; i < d; ++i)
    for (int j = 0; j < d; ++j) {
      A[i * d + j] = (i == j ? 1.0 : 0.0) - theta[i * d + j] * dt;
      for (int k = 0; k < d; ++k) SSt[i * d + j] += S[i * d + k] * S[j * d + k] * dt;
    }
  for (int step = 0; step < steps; ++step) {
    std::vector<double> m2(d, 0.0), AC(d * d, 0.0), C2(SSt);
    for (int i = 0; i < d; ++i)
      for (int j = 0; j < d; ++j) {
        m2[i] += A[i * d + j] * m[j];
        for (int k = 0; k < d; ++k) AC[i * d + j] += A[i * d + k] * C[k * d + j];
      }
    for (int i = 0; i < d; ++i)
      for (int j = 0; j < d; ++j)
        for (int k = 0; k < d; ++k) C2[i * d + j] += AC[i * d + k] * A[j * d + k];
    m = m2;
    C = C2;
  }

  std::vector<double> init(static_cast<std::size_t>(R) * d);
  for (std::int64_t r = 0; r < R; ++r)
    for (int i = 0; i < d; ++i) init[r * d + i] = z0[i];
  const std::vector<double> ens = euler_maruyama(linear_sde(d, theta, S), init, steps, dt, seed);
  REQUIRE(ens.size() == static_cast<std::size_t>(R) * (steps + 1) * d);

  // Sample moments at the last frame (unbiased covariance, 1 / (R - 1)).
  const std::int64_t T = steps + 1;
  std::vector<double> mean(d, 0.0), cov(d * d, 0.0);
  for (std::int64_t r = 0; r < R; ++r)
    for (int i = 0; i < d; ++i) mean[i] += ens[(r * T + steps) * d + i] / R;
  for (std::int64_t r = 0; r < R; ++r)
    for (int i = 0; i < d; ++i)
      for (int j = 0; j < d; ++j)
        cov[i * d + j] += (ens[(r * T + steps) * d + i] - mean[i]) * (ens[(r * T + steps) * d + j] - mean[j]) / (R - 1);

  // The library's population std must agree with the same numbers.
  const std::vector<double> sd = ensemble_std(ens, T, d);
  const std::vector<double> mu = ensemble_mean(ens, T, d);
  for (int i = 0; i < d; ++i) {
    CHECK(mu[steps * d + i] == Approx(mean[i]).epsilon(1e-12).margin(1e-14));
    CHECK(sd[steps * d + i] * sd[steps * d + i] * R / (R - 1) == Approx(cov[i * d + i]).epsilon(1e-9));
    CHECK(mu[i] == z0[i]);  // frame 0 is z0
  }

  for (int i = 0; i < d; ++i) {
    const double se = std::sqrt(C[i * d + i] / R);
    std::printf("EM %s: mean[%d] %.6f exact %.6f SE %.2e (%.2f SE off)\n", name, i, mean[i], m[i], se,
                (mean[i] - m[i]) / se);
    CHECK(std::fabs(mean[i] - m[i]) <= 4 * se);
  }
  for (int i = 0; i < d; ++i)
    for (int j = i; j < d; ++j) {
      const double se = i == j ? C[i * d + i] * std::sqrt(2.0 / (R - 1))
                               : std::sqrt((C[i * d + i] * C[j * d + j] + C[i * d + j] * C[i * d + j]) / (R - 1));
      std::printf("EM %s: cov[%d,%d] %.6f exact %.6f SE %.2e (%.2f SE off)\n", name, i, j, cov[i * d + j],
                  C[i * d + j], se, (cov[i * d + j] - C[i * d + j]) / se);
      CHECK(std::fabs(cov[i * d + j] - C[i * d + j]) <= 4 * se);
    }
}

}  // namespace

// ---------------------------------------------------------------------------------------

TEST_CASE("NormalStream has standard normal moments", "[macro]") {
  // Mean, variance and fourth moment of 2e5 draws against 0, 1, 3 with exact Gaussian SEs
  // (sqrt(1/N), sqrt(2/N), sqrt(96/N)).
  const int N = 200000;
  NormalStream g({5, Purpose::test, 0, 0, 0});
  double s1 = 0, s2 = 0, s4 = 0;
  for (int i = 0; i < N; ++i) {
    const double x = g();
    s1 += x;
    s2 += x * x;
    s4 += x * x * x * x;
  }
  s1 /= N;
  s2 /= N;
  s4 /= N;
  std::printf("normal: mean %.5f (SE %.5f), E x^2 %.5f (SE %.5f), E x^4 %.4f (SE %.4f)\n", s1, std::sqrt(1.0 / N), s2,
              std::sqrt(2.0 / N), s4, std::sqrt(96.0 / N));
  CHECK(std::fabs(s1) <= 4 * std::sqrt(1.0 / N));
  CHECK(std::fabs(s2 - 1) <= 4 * std::sqrt(2.0 / N));
  CHECK(std::fabs(s4 - 3) <= 4 * std::sqrt(96.0 / N));

  NormalStream a({5, Purpose::rollout, 0, 3, 0}), b({5, Purpose::rollout, 0, 3, 0});
  for (int i = 0; i < 11; ++i) CHECK(a() == b());
}

TEST_CASE("mmd2 matches the expectation of the V-statistic for shifted Gaussians", "[macro][mmd]") {
  check_mmd({0.0, 0.0}, {0.6, 0.0}, 1.0, "shift 0.6");
}

TEST_CASE("mmd2 matches the expectation of the V-statistic for equal Gaussians", "[macro][mmd]") {
  check_mmd({0.3, -0.2}, {0.3, -0.2}, 0.7, "no shift");
}

TEST_CASE("mmd2 on hand-computed samples", "[macro][mmd]") {
  // a = {0}, b = {1} in 1D: 2 - 2 exp(-1 / (2 sig^2)) averaged over the bandwidths.
  double expected = 0;
  for (double sig : kMmdBandwidths) expected += (2 - 2 * std::exp(-1 / (2 * sig * sig))) / kMmdBandwidths.size();
  CHECK(mmd2({0.0}, {1.0}, 1) == Approx(expected).epsilon(1e-12));
  CHECK(mmd2({0.5, 1.0, -2.0, 0.0}, {0.5, 1.0, -2.0, 0.0}, 2) == Approx(0.0).margin(1e-15));
  CHECK_THROWS_AS(mmd2({1.0, 2.0, 3.0}, {1.0, 2.0}, 2), InputError);
  CHECK_THROWS_AS(mmd2({}, {1.0}, 1), InputError);
}

TEST_CASE("Euler-Maruyama reproduces the exact EM moments of Ornstein-Uhlenbeck, 1D", "[macro][rollout]") {
  check_linear_sde("OU d=1", 1, {1.0}, {0.5}, {1.0}, 0.01, 200, 20000, 11);
}

TEST_CASE("Euler-Maruyama reproduces the exact EM moments of a 2D linear SDE, diagonal sigma", "[macro][rollout]") {
  check_linear_sde("2D diagonal", 2, {1.0, 0.0, 0.0, 2.0}, {0.5, 0.0, 0.0, 0.2}, {1.0, -0.5}, 0.02, 100, 20000, 12);
}

TEST_CASE("Euler-Maruyama reproduces the exact EM moments of a 2D linear SDE, full sigma", "[macro][rollout]") {
  // S is lower triangular, so S S^T != S^T S: the test sees whether sigma multiplies the
  // noise as sigma xi (rows of sigma) and not as sigma^T xi.
  check_linear_sde("2D full", 2, {1.0, 0.3, -0.2, 0.5}, {0.5, 0.0, 0.4, 0.3}, {1.0, -0.5}, 0.02, 100, 20000, 13);
}

TEST_CASE("Euler-Maruyama results do not depend on the batch size", "[macro][rollout]") {
  // A nonlinear model with state-dependent full sigma.
  std::int64_t largest = 0;
  SdeFunctions f;
  f.dim = 2;
  f.eval = [&largest](const float* z, std::int64_t B, float* drift, float* sigma) {
    largest = std::max(largest, B);
    for (std::int64_t b = 0; b < B; ++b) {
      const float x = z[2 * b], y = z[2 * b + 1];
      drift[2 * b] = x - x * x * x - 0.3f * y;
      drift[2 * b + 1] = 0.5f * x - y;
      sigma[4 * b] = 0.3f + 0.1f * x * x;
      sigma[4 * b + 1] = 0.05f;
      sigma[4 * b + 2] = 0.1f * y;
      sigma[4 * b + 3] = 0.2f;
    }
  };
  const std::int64_t B = 50;
  std::vector<double> z0(2 * B);
  for (std::int64_t b = 0; b < B; ++b) {
    z0[2 * b] = -1.0 + 0.04 * b;
    z0[2 * b + 1] = 0.5 - 0.02 * b;
  }
  const auto big = euler_maruyama(f, z0, 30, 0.05, 99, 4096);
  CHECK(largest == B);
  largest = 0;
  const auto small = euler_maruyama(f, z0, 30, 0.05, 99, 7);
  CHECK(largest == 7);
  CHECK(small == big);  // bit-identical
  CHECK(euler_maruyama(f, z0, 30, 0.05, 99, 1) == big);
  CHECK(euler_maruyama(f, z0, 30, 0.05, 100, 7) != big);  // the seed matters

  // The first trajectory alone gives the same path: it depends on its own stream only.
  const std::vector<double> one(z0.begin(), z0.begin() + 2);
  const auto alone = euler_maruyama(f, one, 30, 0.05, 99);
  CHECK(std::vector<double>(big.begin(), big.begin() + 31 * 2) == alone);

  CHECK(euler_maruyama(f, z0, 0, 0.05, 99) == z0);  // zero steps: just frame 0
}

TEST_CASE("Euler-Maruyama survives diverging trajectories", "[macro][rollout]") {
  // dz = z^3 dt, no noise: z0 = 3 overflows to inf and then NaN within a few steps, while
  // z0 = 0 in the same batch stays exactly 0.
  SdeFunctions f;
  f.dim = 1;
  f.eval = [](const float* z, std::int64_t B, float* drift, float* sigma) {
    for (std::int64_t b = 0; b < B; ++b) {
      drift[b] = z[b] * z[b] * z[b];
      sigma[b] = 0.0f;
    }
  };
  std::vector<double> ens;
  REQUIRE_NOTHROW(ens = euler_maruyama(f, {0.0, 3.0}, 20, 1.0, 1));
  for (int k = 0; k <= 20; ++k) CHECK(ens[k] == 0.0);
  CHECK_FALSE(std::isfinite(ens[21 + 20]));
}

TEST_CASE("Euler-Maruyama rejects bad input", "[macro][rollout]") {
  SdeFunctions f;
  f.dim = 2;
  f.eval = [](const float*, std::int64_t, float*, float*) {};
  CHECK_THROWS_AS(euler_maruyama(f, {1.0, 2.0, 3.0}, 5, 0.1, 1), InputError);
  CHECK_THROWS_AS(euler_maruyama(f, {1.0, 2.0}, -1, 0.1, 1), InputError);
  CHECK_THROWS_AS(euler_maruyama(f, {1.0, 2.0}, 5, 0.0, 1), InputError);
  CHECK_THROWS_AS(euler_maruyama(f, {1.0, 2.0}, 5, 0.1, 1, 0), InputError);
  SdeFunctions none;
  none.dim = 1;
  CHECK_THROWS_AS(euler_maruyama(none, {1.0}, 5, 0.1, 1), InputError);
  none.eval = f.eval;
  none.dim = 0;
  CHECK_THROWS_AS(euler_maruyama(none, {1.0}, 5, 0.1, 1), InputError);
}

TEST_CASE("relative_error on hand-computed means", "[macro][metrics]") {
  // [T = 2, d = 2]: errors (0, 1; 1, 2), truth (1, 1; 2, 2).
  const std::vector<double> pred = {1, 2, 3, 4}, truth = {1, 1, 2, 2};
  CHECK(relative_error(pred, truth) == Approx(6.0 / 10.0));
  const auto per = relative_error_per_dim(pred, truth, 2);
  REQUIRE(per.size() == 2);
  CHECK(per[0] == Approx(1.0 / 5.0));
  CHECK(per[1] == Approx(5.0 / 5.0));
  CHECK(relative_error(truth, truth) == 0.0);
  CHECK(std::isnan(relative_error({1.0}, {0.0})));
  CHECK_THROWS_AS(relative_error({1.0, 2.0}, {1.0}), InputError);
  CHECK_THROWS_AS(relative_error_per_dim({1, 2, 3}, {1, 2, 3}, 2), InputError);
}

TEST_CASE("ensemble statistics and equilibrium_stats on a hand-computed ensemble", "[macro][metrics]") {
  // R = 2 runs, T = 5 times, d = 2; dimension 1 is 10 x dimension 0 minus 1.
  const std::vector<double> r0 = {0, 1, 2, 4, 6}, r1 = {0, 3, 4, 8, 10};
  std::vector<double> ens;
  for (const auto* run : {&r0, &r1})
    for (double x : *run) {
      ens.push_back(x);
      ens.push_back(10 * x - 1);
    }
  const auto mean = ensemble_mean(ens, 5, 2), sd = ensemble_std(ens, 5, 2);
  // Means 0, 2, 3, 6, 8; population stds 0, 1, 1, 2, 2.
  const std::vector<double> m0 = {0, 2, 3, 6, 8}, s0 = {0, 1, 1, 2, 2};
  for (int t = 0; t < 5; ++t) {
    CHECK(mean[2 * t] == Approx(m0[t]));
    CHECK(mean[2 * t + 1] == Approx(10 * m0[t] - 1));
    CHECK(sd[2 * t] == Approx(s0[t]).margin(1e-15));
    CHECK(sd[2 * t + 1] == Approx(10 * s0[t]).margin(1e-14));
  }
  // Times t >= 5 / 2 = 2: means (3 + 6 + 8) / 3, stds (1 + 2 + 2) / 3.
  const auto eq = equilibrium_stats(ens, 5, 2);
  REQUIRE(eq.mean.size() == 2);
  CHECK(eq.mean[0] == Approx(17.0 / 3));
  CHECK(eq.stddev[0] == Approx(5.0 / 3));
  CHECK(eq.mean[1] == Approx(170.0 / 3 - 1));
  CHECK(eq.stddev[1] == Approx(50.0 / 3));
  // T = 4: times 2 and 3 only.
  const auto eq4 = equilibrium_stats({0, 1, 2, 4, 0, 3, 4, 8}, 4, 1);
  CHECK(eq4.mean[0] == Approx(4.5));
  CHECK(eq4.stddev[0] == Approx(1.5));
  CHECK_THROWS_AS(ensemble_mean(ens, 3, 2), InputError);
  CHECK_THROWS_AS(equilibrium_stats({}, 1, 1), InputError);
}

TEST_CASE("interpolate_to_grid interpolates linearly and holds the end values beyond", "[macro][metrics]") {
  // Dimension 0: slope 2 on [0, 1], slope 3 on [1, 3]; dimension 1: flat, then slope -3.
  const std::vector<double> times = {0, 1, 3}, values = {0, 10, 2, 10, 8, 4};
  const std::vector<double> grid = {-1, 0, 0.5, 1, 2, 3, 4};
  const auto out = interpolate_to_grid(times, values, grid, 2);
  const std::vector<double> want0 = {0, 0, 1, 2, 5, 8, 8}, want1 = {10, 10, 10, 10, 7, 4, 4};
  REQUIRE(out.size() == 14);
  for (int g = 0; g < 7; ++g) {
    CHECK(out[2 * g] == Approx(want0[g]).margin(1e-14));
    CHECK(out[2 * g + 1] == Approx(want1[g]).margin(1e-14));
  }
  CHECK(interpolate_to_grid({2.0}, {5.0}, {0.0, 7.0}, 1) == std::vector<double>{5.0, 5.0});
  CHECK_THROWS_AS(interpolate_to_grid({0, 1, 1}, {0, 1, 2}, {0.5}, 1), InputError);
  CHECK_THROWS_AS(interpolate_to_grid({0, 1}, {0, 1, 2}, {0.5}, 1), InputError);
}

// ---------------------------------------------------------------------------------------
namespace {

std::string plot_dir() {
  const std::string dir = std::string(MACRODYN_TEST_TMPDIR) + "/macro_plots";
  std::filesystem::create_directories(dir);
  return dir;
}

void require_png(const std::string& png) {
  namespace fs = std::filesystem;
  REQUIRE(fs::exists(png));
  CHECK(fs::file_size(png) > 1000);
  CHECK(fs::file_size(fs::path(png).replace_extension(".dat")) > 0);
  CHECK(fs::file_size(fs::path(png).replace_extension(".gp")) > 0);
  std::printf("plot: %s (%ju bytes)\n", png.c_str(), static_cast<std::uintmax_t>(fs::file_size(png)));
}

// PATH set to an empty directory for the guard's lifetime, so that gnuplot is not found.
struct NoGnuplotOnPath {
  std::string saved;
  explicit NoGnuplotOnPath(const std::string& empty_dir) {
    const char* p = std::getenv("PATH");
    saved = p ? p : "";
    setenv("PATH", empty_dir.c_str(), 1);
  }
  ~NoGnuplotOnPath() { setenv("PATH", saved.c_str(), 1); }
};

}  // namespace

// A missing gnuplot is a failure here, not a skip: the plots are part of the product.
TEST_CASE("plot functions write PNG files with gnuplot", "[macro][plot]") {
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0)
    FAIL("gnuplot is not on PATH; the plot functions need it (apt-get install gnuplot-nox)");
  const std::string dir = plot_dir();

  // Two series of an OU-like relaxation in two variables, with a NaN gap in one.
  std::vector<BandSeries> series(2);
  for (int k = 0; k < 2; ++k) {
    series[k].label = k == 0 ? "truth (L = 256)" : "it's a_prediction";
    for (int t = 0; t <= 40; ++t) {
      const double time = 0.25 * t;
      series[k].times.push_back(time);
      series[k].mean.push_back(std::exp(-time / (2 + k)));
      series[k].mean.push_back(0.5 + 0.1 * k - 0.3 * std::exp(-time));
      series[k].stddev.push_back(0.1 * (1 - std::exp(-time)));
      series[k].stddev.push_back(0.05);
    }
  }
  series[1].mean[2 * 20] = std::nan("");
  const std::string bands = dir + "/bands.png";
  REQUIRE_NOTHROW(plot_ensemble_bands(bands, "Ising ensemble, m_0 = 0.5", "time (MC sweeps)",
                                      {"m", "rho_dw"}, series));
  require_png(bands);

  const std::string xy = dir + "/xy.png";
  // One series with error bars (a spread over seeds), one without, and reference lines.
  REQUIRE_NOTHROW(plot_xy(xy, "error vs patch side", "patch side p", "relative error", true, true,
                          {{"K-scaled", {8, 16, 32, 64}, {0.2, 0.08, 0.03, 0.012}, {0.15, 0.07, 0.02, 0.01},
                            {0.25, 0.1, 0.04, 0.013}},
                           {"naive", {8, 16, 32, 64}, {0.5, 0.45, 0.5, 0.48}, {}, {}}},
                          {{false, 0.1, "threshold"}, {true, 16, "p = 16"}}));
  require_png(xy);
  std::ifstream script(dir + "/xy.gp");
  const std::string gp((std::istreambuf_iterator<char>(script)), {});
  CHECK(gp.find("using 1:2:3:4 with yerrorlines") != std::string::npos);
  CHECK(gp.find("using 1:2 with linespoints") != std::string::npos);
  CHECK(gp.find("set arrow from 16, graph 0 to 16, graph 1") != std::string::npos);
  CHECK(gp.find("set arrow from graph 0, first 0.1 to graph 1, first 0.1") != std::string::npos);
  CHECK(gp.find("set yrange") == std::string::npos);  // no ymax: the frame fits the data

  // A diverged point (1e36) above ymax: the frame stops at ymax and the rest stay readable;
  // with every point above ymax there is nothing to draw inside it, so no clipping.
  const auto slurp_gp = [&](const std::string& stem) {
    std::ifstream in(dir + "/" + stem + ".gp");
    return std::string((std::istreambuf_iterator<char>(in)), {});
  };
  REQUIRE_NOTHROW(plot_xy(dir + "/clipped.png", "t", "p", "error", true, true,
                          {{"a", {8, 16, 32}, {1e36, 0.0013, 0.0004}, {0.02, 0.0011, 0.0003}, {1e36, 0.0015, 0.0004}}},
                          {}, 10.0));
  require_png(dir + "/clipped.png");
  CHECK(slurp_gp("clipped").find("set yrange [*:10]") != std::string::npos);
  REQUIRE_NOTHROW(plot_xy(dir + "/above.png", "t", "p", "error", true, true, {{"a", {8, 16}, {150, 830}, {}, {}}}, {},
                          10.0));
  require_png(dir + "/above.png");
  CHECK(slurp_gp("above").find("set yrange") == std::string::npos);

  CHECK_THROWS_AS(plot_xy(dir + "/bad.png", "t", "x", "y", false, false, {{"a", {1, 2}, {1}, {}, {}}}), InputError);
  CHECK_THROWS_AS(plot_xy(dir + "/bad.png", "t", "x", "y", false, false, {{"a", {1, 2}, {1, 2}, {0}, {3}}}),
                  InputError);
  CHECK_THROWS_AS(plot_ensemble_bands(dir + "/bad.png", "t", "x", {"a", "b"}, {{"s", {0, 1}, {0, 1}, {0, 1}}}),
                  InputError);
}

TEST_CASE("plot functions name the PNG and gnuplot when gnuplot is missing", "[macro][plot]") {
  const std::string dir = plot_dir();
  const std::string empty = dir + "/empty_path";
  std::filesystem::create_directories(empty);
  const std::string png = dir + "/nognuplot.png";
  bool threw = false;
  {
    NoGnuplotOnPath guard(empty);
    try {
      plot_xy(png, "t", "x", "y", false, false, {{"a", {1, 2}, {1, 2}, {}, {}}});
    } catch (const FileError& e) {
      threw = true;
      const std::string what = e.what();
      std::printf("missing gnuplot: %s\n", what.c_str());
      CHECK(what.find(png) != std::string::npos);
      CHECK(what.find("gnuplot-nox") != std::string::npos);
    }
  }
  CHECK(threw);
}
