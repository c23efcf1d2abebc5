#pragma once
// Small statistics toolkit for the simulator physics tests (tests/unit/test_ising_*.cpp,
// test_curie_weiss*.cpp): batch-means ratio estimators for time-weighted averages, a
// batch-means Hotelling chi^2 for time-weighted histograms, Pearson chi^2 for counts of
// independent samples, and the chi^2 p-value through a regularized gamma function.
//
// Time weighting: a continuous-time run is cut into batches (blocks of events or sweeps
// much longer than the autocorrelation time). Batch b contributes F_b = int f dt and its
// duration T_b; the time-weighted mean is r = sum F / sum T and its standard error is the
// batch-means ratio (delta-method) error sqrt(sum (F_b - r T_b)^2 / (B (B-1))) / mean T.
// Per-sweep (discrete) samples are the special case T_b = number of samples in the batch.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

#include "core/rng.hpp"
#include "systems/initial_state.hpp"

namespace macrodyn {
namespace test_stats {

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// floor((1 + m0) n / 2) up spins at random positions (the simulators' initial state).
inline std::vector<std::int8_t> random_state(std::int64_t n, double m0, Rng& rng) {
  std::vector<std::int8_t> s(static_cast<std::size_t>(n));
  systems::make_initial_state(s.data(), n, systems::InitialKind::given_m0, m0, rng);
  return s;
}

// ---------------------------------------------------------------------------------------
// Regularized incomplete gamma functions (Numerical-Recipes style series / continued
// fraction), accurate to ~1e-14 relative; enough for p-values.
inline double gamma_p_series(double a, double x) {
  double ap = a, sum = 1.0 / a, del = sum;
  for (int n = 0; n < 100000; ++n) {
    ap += 1.0;
    del *= x / ap;
    sum += del;
    if (std::fabs(del) < std::fabs(sum) * 1e-16) break;
  }
  return sum * std::exp(-x + a * std::log(x) - std::lgamma(a));
}

inline double gamma_q_contfrac(double a, double x) {
  const double tiny = 1e-300;
  double b = x + 1.0 - a, c = 1.0 / tiny, d = 1.0 / b, h = d;
  for (int i = 1; i < 100000; ++i) {
    const double an = -i * (i - a);
    b += 2.0;
    d = an * d + b;
    if (std::fabs(d) < tiny) d = tiny;
    c = b + an / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1.0) < 1e-16) break;
  }
  return std::exp(-x + a * std::log(x) - std::lgamma(a)) * h;
}

// Q(a, x) = Gamma(a, x) / Gamma(a), the upper regularized gamma function.
inline double gamma_q(double a, double x) {
  if (a <= 0.0) throw std::invalid_argument("gamma_q: a <= 0");
  if (x <= 0.0) return 1.0;
  if (x < a + 1.0) return 1.0 - gamma_p_series(a, x);
  return gamma_q_contfrac(a, x);
}

// P(chi^2_dof >= x).
inline double chi2_pvalue(double x, int dof) { return gamma_q(0.5 * dof, 0.5 * x); }

// ---------------------------------------------------------------------------------------
// Batch-means ratio estimator of sum F / sum T (see header comment).
struct RatioBatches {
  std::vector<double> F, T;
  void add(double f, double t) { F.push_back(f); T.push_back(t); }
  std::size_t batches() const { return F.size(); }
  double mean() const {
    double f = 0, t = 0;
    for (std::size_t b = 0; b < F.size(); ++b) { f += F[b]; t += T[b]; }
    return f / t;
  }
  double se() const {
    const std::size_t B = F.size();
    if (B < 2) return std::numeric_limits<double>::infinity();
    const double r = mean();
    double t = 0, s2 = 0;
    for (std::size_t b = 0; b < B; ++b) {
      t += T[b];
      s2 += (F[b] - r * T[b]) * (F[b] - r * T[b]);
    }
    const double tbar = t / static_cast<double>(B);
    return std::sqrt(s2 / (static_cast<double>(B) * static_cast<double>(B - 1))) / tbar;
  }
  // SE with batches merged in groups of g (a check that batches are long enough: for
  // batches much longer than the autocorrelation time, se_merged(g) ~ se()).
  double se_merged(std::size_t g) const {
    RatioBatches m;
    for (std::size_t b = 0; b + g <= F.size(); b += g) {
      double f = 0, t = 0;
      for (std::size_t k = b; k < b + g; ++k) { f += F[k]; t += T[k]; }
      m.add(f, t);
    }
    return m.se();
  }
};

// Standard deviation (sqrt of the weighted variance about the overall mean) from batch
// sums of f, f^2 and time; SE by the delta method through the batch residuals of
// (f - mu)^2 - var and f - mu. Returns {std, se}.
struct MomentBatches {
  std::vector<double> F1, F2, T;
  void add(double f1, double f2, double t) { F1.push_back(f1); F2.push_back(f2); T.push_back(t); }
  std::size_t batches() const { return T.size(); }
  double mean() const {
    double a = 0, t = 0;
    for (std::size_t b = 0; b < T.size(); ++b) { a += F1[b]; t += T[b]; }
    return a / t;
  }
  double variance() const {
    double a = 0, q = 0, t = 0;
    for (std::size_t b = 0; b < T.size(); ++b) { a += F1[b]; q += F2[b]; t += T[b]; }
    const double mu = a / t;
    return q / t - mu * mu;
  }
  double sd() const { return std::sqrt(variance()); }
  // var = <f^2> - <f>^2: influence per batch d_b = (F2_b - (v + mu^2) T_b) - 2 mu (F1_b - mu T_b).
  double se_variance() const {
    const std::size_t B = T.size();
    const double mu = mean(), v = variance();
    double t = 0, s2 = 0;
    for (std::size_t b = 0; b < B; ++b) {
      t += T[b];
      const double d = (F2[b] - (v + mu * mu) * T[b]) - 2.0 * mu * (F1[b] - mu * T[b]);
      s2 += d * d;
    }
    const double tbar = t / static_cast<double>(B);
    return std::sqrt(s2 / (static_cast<double>(B) * static_cast<double>(B - 1))) / tbar;
  }
  double se_sd() const { return se_variance() / (2.0 * sd()); }
};

// ---------------------------------------------------------------------------------------
// Cholesky solve of S x = y for a symmetric positive definite S (n x n, row-major).
// Returns false when S is not positive definite.
inline bool cholesky_solve(std::vector<double> S, std::size_t n, std::vector<double>& x) {
  for (std::size_t j = 0; j < n; ++j) {
    double d = S[j * n + j];
    for (std::size_t k = 0; k < j; ++k) d -= S[j * n + k] * S[j * n + k];
    if (!(d > 0.0)) return false;
    d = std::sqrt(d);
    S[j * n + j] = d;
    for (std::size_t i = j + 1; i < n; ++i) {
      double v = S[i * n + j];
      for (std::size_t k = 0; k < j; ++k) v -= S[i * n + k] * S[j * n + k];
      S[i * n + j] = v / d;
    }
  }
  for (std::size_t i = 0; i < n; ++i) {  // L z = y
    double v = x[i];
    for (std::size_t k = 0; k < i; ++k) v -= S[i * n + k] * x[k];
    x[i] = v / S[i * n + i];
  }
  for (std::size_t i = n; i-- > 0;) {  // L^T x = z
    double v = x[i];
    for (std::size_t k = i + 1; k < n; ++k) v -= S[k * n + i] * x[k];
    x[i] = v / S[i * n + i];
  }
  return true;
}

// Time-weighted magnetisation of a continuous-time evolver: `batches` batches of `sweeps`
// sweeps of n events; each batch adds int m dt, int m^2 dt and its duration to `mag`, and
// its mean sweep duration to `sweep_time`. m_of() reads the current magnetisation while
// the waiting time it applies to is running.
template <class Evolver, class MOf>
void time_weighted_magnetisation(Evolver& ev, std::int64_t n, int batches, int sweeps, Rng& rng, MOf&& m_of,
                                 MomentBatches& mag, RatioBatches& sweep_time) {
  for (int b = 0; b < batches; ++b) {
    double f1 = 0, f2 = 0, tt = 0, dur = 0;
    for (int s = 0; s < sweeps; ++s)
      dur += ev.run(static_cast<std::uint64_t>(n), rng, [&](double dt) {
        const double m = m_of();
        f1 += m * dt;
        f2 += m * m * dt;
        tt += dt;
      });
    mag.add(f1, f2, tt);
    sweep_time.add(dur, sweeps);
  }
}

// Vector of ratio estimators r_i = sum_b F_bi / sum_b T_b recorded in batches (time-
// weighted histogram bins, per-site magnetisations, per-frame means over independent
// runs with T_b = 1, ...). Test against exact values e: Hotelling statistic
//   T2 = d^T (Cov/B)^{-1} d,  d = r - e over the first `dims` components,
// with Cov the batch-means covariance of the ratio residuals (F_b - r T_b) / mean T.
// For a histogram pass dims = k - 1 (the last bin is implied by the others). For
// B >> dims it is chi^2 with `dims` degrees of freedom; the small-sample F correction
// (B - dims) / (B - 1) is applied to the statistic.
struct VectorBatches {
  explicit VectorBatches(std::size_t components) : k(components), cur(components, 0.0) {}
  std::size_t k;
  std::vector<double> cur;
  double cur_t = 0.0;
  std::vector<std::vector<double>> F;
  std::vector<double> T;

  // Histogram use: add weight w to bin `bin` of the current batch.
  void add(std::size_t bin, double w) { cur[bin] += w; cur_t += w; }
  void end_batch() {
    F.push_back(cur);
    T.push_back(cur_t);
    std::fill(cur.begin(), cur.end(), 0.0);
    cur_t = 0.0;
  }
  // General use: one whole batch at once.
  void add_batch(const std::vector<double>& f, double t) { F.push_back(f); T.push_back(t); }

  std::size_t batches() const { return T.size(); }
  std::vector<double> mean() const {
    std::vector<double> p(k, 0.0);
    double t = 0;
    for (std::size_t b = 0; b < T.size(); ++b) {
      t += T[b];
      for (std::size_t i = 0; i < k; ++i) p[i] += F[b][i];
    }
    for (auto& v : p) v /= t;
    return p;
  }
  std::vector<double> se() const {
    std::vector<double> out(k);
    for (std::size_t i = 0; i < k; ++i) {
      RatioBatches r;
      for (std::size_t b = 0; b < T.size(); ++b) r.add(F[b][i], T[b]);
      out[i] = r.se();
    }
    return out;
  }
  struct Result {
    double stat = 0, pvalue = 0, max_z = 0;
    int dof = 0;
  };
  Result test(const std::vector<double>& e, std::size_t dims) const {
    const std::size_t B = T.size(), n = dims;
    if (B <= n + 1) throw std::runtime_error("VectorBatches: too few batches");
    const std::vector<double> ph = mean();
    double tsum = 0;
    for (double t : T) tsum += t;
    const double tbar = tsum / static_cast<double>(B);
    std::vector<double> S(n * n, 0.0), r(n);
    for (std::size_t b = 0; b < B; ++b) {
      for (std::size_t i = 0; i < n; ++i) r[i] = (F[b][i] - ph[i] * T[b]) / tbar;
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) S[i * n + j] += r[i] * r[j];
    }
    for (auto& v : S) v /= static_cast<double>(B) * static_cast<double>(B - 1);  // Cov(r)
    std::vector<double> d(n), x(n);
    Result res;
    for (std::size_t i = 0; i < n; ++i) {
      d[i] = ph[i] - e[i];
      x[i] = d[i];
      res.max_z = std::max(res.max_z, std::fabs(d[i]) / std::sqrt(S[i * n + i]));
    }
    if (!cholesky_solve(S, n, x)) throw std::runtime_error("VectorBatches: singular covariance");
    double t2 = 0;
    for (std::size_t i = 0; i < n; ++i) t2 += d[i] * x[i];
    res.stat = t2 * static_cast<double>(B - n) / static_cast<double>(B - 1);
    res.dof = static_cast<int>(n);
    res.pvalue = chi2_pvalue(res.stat, res.dof);
    return res;
  }
};

// Group classes with exact probabilities p into bins: classes with p >= pmin keep their
// own bin, the others are pooled into one extra bin (if its total is >= pmin, else it
// joins the smallest kept bin). Returns the class -> bin map and the bin probabilities.
inline std::pair<std::vector<int>, std::vector<double>> pool_small(const std::vector<double>& p,
                                                                   double pmin) {
  std::vector<int> map(p.size(), -1);
  std::vector<double> q;
  double rest = 0;
  for (std::size_t c = 0; c < p.size(); ++c)
    if (p[c] >= pmin) {
      map[c] = static_cast<int>(q.size());
      q.push_back(p[c]);
    } else {
      rest += p[c];
    }
  if (rest > 0) {
    int target;
    if (rest >= pmin || q.empty()) {
      target = static_cast<int>(q.size());
      q.push_back(rest);
    } else {
      target = static_cast<int>(std::min_element(q.begin(), q.end()) - q.begin());
      q[target] += rest;
    }
    for (std::size_t c = 0; c < p.size(); ++c)
      if (map[c] < 0) map[c] = target;
  }
  return {map, q};
}

// Pearson chi^2 of counts (independent samples) against probabilities q (sum 1).
struct Chi2Result {
  double stat = 0, pvalue = 0;
  int dof = 0;
};
inline Chi2Result pearson_chi2(const std::vector<double>& counts, const std::vector<double>& q) {
  double n = 0;
  for (double c : counts) n += c;
  Chi2Result r;
  for (std::size_t i = 0; i < q.size(); ++i) {
    const double e = n * q[i];
    r.stat += (counts[i] - e) * (counts[i] - e) / e;
  }
  r.dof = static_cast<int>(q.size()) - 1;
  r.pvalue = chi2_pvalue(r.stat, r.dof);
  return r;
}

// Mean and standard error of independent samples.
struct Sample {
  double n = 0, s = 0, s2 = 0;
  void add(double x) { n += 1; s += x; s2 += x * x; }
  double mean() const { return s / n; }
  double var() const { return (s2 - s * s / n) / (n - 1); }
  double se() const { return std::sqrt(var() / n); }
};

}  // namespace test_stats
}  // namespace macrodyn
