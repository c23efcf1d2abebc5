#include "jobs/fss_analysis.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "core/rng.hpp"

namespace macrodyn::jobs {

StationaryLaw stationary_law(const std::vector<double>& traj, std::int64_t n, std::int64_t frames, int d, int var,
                             double N, double T, double burn, int bins) {
  if (frames < 8) throw std::invalid_argument("stationary_law: needs at least 8 frames");
  StationaryLaw s;
  s.histogram.assign(static_cast<std::size_t>(std::max(bins, 1)), 0.0);
  const std::int64_t from = std::min<std::int64_t>(frames - 1, static_cast<std::int64_t>(burn * static_cast<double>(frames)));
  const std::int64_t q = frames / 4;
  std::vector<std::vector<double>> per;  // |m|, m^2, m^4 per trajectory
  std::vector<double> quarter_diff;
  double counted = 0;
  for (std::int64_t j = 0; j < n; ++j) {
    const double* t = traj.data() + j * frames * d;
    bool finite = true;
    for (std::int64_t k = 0; k < frames && finite; ++k) finite = std::isfinite(t[k * d + var]);
    if (!finite) {
      ++s.diverged;
      continue;
    }
    double a = 0, a2 = 0, a4 = 0;
    for (std::int64_t k = from; k < frames; ++k) {
      const double m = std::min(1.0, std::fabs(t[k * d + var]));
      a += m;
      a2 += m * m;
      a4 += m * m * m * m;
      const auto b = std::min<std::size_t>(s.histogram.size() - 1, static_cast<std::size_t>(m * static_cast<double>(s.histogram.size())));
      s.histogram[b] += 1;
      counted += 1;
    }
    const double w = static_cast<double>(frames - from);
    per.push_back({a / w, a2 / w, a4 / w});
    double second = 0, fourth = 0;
    for (std::int64_t k = q; k < 2 * q; ++k) second += std::min(1.0, std::fabs(t[k * d + var]));
    for (std::int64_t k = 3 * q; k < 4 * q; ++k) fourth += std::min(1.0, std::fabs(t[k * d + var]));
    quarter_diff.push_back((fourth - second) / static_cast<double>(q));
  }
  for (auto& h : s.histogram) h = counted > 0 ? h / counted : 0.0;
  s.trajectories = static_cast<std::int64_t>(per.size());
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (per.size() < 2) {
    s.abs_m = s.m2 = s.m4 = s.chi_prime = s.binder = {nan, nan};
    return s;
  }
  s.abs_m = jackknife(per, [](const std::vector<double>& v) { return v[0]; });
  s.m2 = jackknife(per, [](const std::vector<double>& v) { return v[1]; });
  s.m4 = jackknife(per, [](const std::vector<double>& v) { return v[2]; });
  s.chi_prime = jackknife(per, [&](const std::vector<double>& v) { return N / T * (v[1] - v[0] * v[0]); });
  s.binder = jackknife(per, [](const std::vector<double>& v) { return 1.0 - v[2] / (3.0 * v[1] * v[1]); });
  double mean = 0, ss = 0;
  for (double x : quarter_diff) mean += x / static_cast<double>(quarter_diff.size());
  for (double x : quarter_diff) ss += (x - mean) * (x - mean);
  const double se = std::sqrt(ss / static_cast<double>(quarter_diff.size() - 1) / static_cast<double>(quarter_diff.size()));
  s.drift_z = se > 0 ? mean / se : 0.0;
  return s;
}

namespace {

// Solves A x = b in place for a small symmetric positive definite A (Gauss-Jordan with
// partial pivoting), returning the inverse of A as well.
std::vector<std::vector<double>> invert(std::vector<std::vector<double>> a) {
  const std::size_t n = a.size();
  std::vector<std::vector<double>> inv(n, std::vector<double>(n, 0.0));
  for (std::size_t i = 0; i < n; ++i) inv[i][i] = 1;
  for (std::size_t col = 0; col < n; ++col) {
    std::size_t piv = col;
    for (std::size_t r = col + 1; r < n; ++r)
      if (std::fabs(a[r][col]) > std::fabs(a[piv][col])) piv = r;
    if (a[piv][col] == 0) throw std::invalid_argument("fit_polynomial: the points do not determine the polynomial");
    std::swap(a[piv], a[col]);
    std::swap(inv[piv], inv[col]);
    const double p = a[col][col];
    for (std::size_t k = 0; k < n; ++k) {
      a[col][k] /= p;
      inv[col][k] /= p;
    }
    for (std::size_t r = 0; r < n; ++r)
      if (r != col && a[r][col] != 0) {
        const double f = a[r][col];
        for (std::size_t k = 0; k < n; ++k) {
          a[r][k] -= f * a[col][k];
          inv[r][k] -= f * inv[col][k];
        }
      }
  }
  return inv;
}

}  // namespace

PolyFit fit_polynomial(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& se,
                       int degree) {
  const std::size_t n = x.size(), q = static_cast<std::size_t>(degree) + 1;
  if (degree < 0 || n < q || y.size() != n || se.size() != n)
    throw std::invalid_argument("fit_polynomial: needs at least degree + 1 points with their errors");
  // The powers about the mean of x keep the normal equations well conditioned.
  double x0 = 0;
  for (double v : x) x0 += v / static_cast<double>(n);
  std::vector<std::vector<double>> A(q, std::vector<double>(q, 0.0));
  std::vector<double> b(q, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    if (!(se[i] > 0)) throw std::invalid_argument("fit_polynomial: every point needs a positive error");
    const double w = 1.0 / (se[i] * se[i]);
    std::vector<double> p(q, 1.0);
    for (std::size_t k = 1; k < q; ++k) p[k] = p[k - 1] * (x[i] - x0);
    for (std::size_t r = 0; r < q; ++r) {
      b[r] += w * p[r] * y[i];
      for (std::size_t k = 0; k < q; ++k) A[r][k] += w * p[r] * p[k];
    }
  }
  const auto inv = invert(A);
  std::vector<double> cs(q, 0.0);
  for (std::size_t r = 0; r < q; ++r)
    for (std::size_t k = 0; k < q; ++k) cs[r] += inv[r][k] * b[k];
  // Back to powers of x: c_j = sum_k cs_k binom(k, j) (-x0)^(k - j), and the covariance
  // through the same linear map M (c = M cs).
  std::vector<std::vector<double>> M(q, std::vector<double>(q, 0.0));
  for (std::size_t k = 0; k < q; ++k) {
    double binom = 1;
    for (std::size_t j = 0; j <= k; ++j) {
      if (j > 0) binom = binom * static_cast<double>(k - j + 1) / static_cast<double>(j);
      M[k - j][k] += binom * std::pow(-x0, static_cast<double>(j));
    }
  }
  // M[k - j][k]: coefficient of x^(k-j) from (x - x0)^k.
  PolyFit f;
  f.c.assign(q, 0.0);
  f.cov.assign(q, std::vector<double>(q, 0.0));
  for (std::size_t r = 0; r < q; ++r)
    for (std::size_t k = 0; k < q; ++k) f.c[r] += M[r][k] * cs[k];
  for (std::size_t r = 0; r < q; ++r)
    for (std::size_t s = 0; s < q; ++s)
      for (std::size_t a = 0; a < q; ++a)
        for (std::size_t b2 = 0; b2 < q; ++b2) f.cov[r][s] += M[r][a] * inv[a][b2] * M[s][b2];
  double chi2 = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double r = (y[i] - f.at(x[i])) / se[i];
    chi2 += r * r;
  }
  f.chi2_dof = n > q ? chi2 / static_cast<double>(n - q) : 0.0;
  return f;
}

double PolyFit::at(double x) const {
  double v = 0, p = 1;
  for (double ck : c) {
    v += ck * p;
    p *= x;
  }
  return v;
}

double PolyFit::slope_at(double x) const {
  double v = 0, p = 1;
  for (std::size_t k = 1; k < c.size(); ++k) {
    v += static_cast<double>(k) * c[k] * p;
    p *= x;
  }
  return v;
}

double PolyFit::slope_se_at(double x) const {
  std::vector<double> g(c.size(), 0.0);
  double p = 1;
  for (std::size_t k = 1; k < c.size(); ++k) {
    g[k] = static_cast<double>(k) * p;
    p *= x;
  }
  double v = 0;
  for (std::size_t r = 0; r < c.size(); ++r)
    for (std::size_t s = 0; s < c.size(); ++s) v += g[r] * cov[r][s] * g[s];
  return std::sqrt(std::max(0.0, v));
}

Estimate loglog_slope(const std::vector<double>& L, const std::vector<Estimate>& y) {
  std::vector<double> x, ly, se;
  for (std::size_t i = 0; i < L.size(); ++i) {
    if (!(y[i].value > 0)) return {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::quiet_NaN()};
    x.push_back(std::log(L[i]));
    ly.push_back(std::log(y[i].value));
    se.push_back(y[i].se / y[i].value);
  }
  const PolyFit f = fit_polynomial(x, ly, se, 1);
  return {f.c[1], std::sqrt(f.cov[1][1])};
}

namespace {

// The root of U_a - U_b (polynomials) in [lo, hi] nearest kIsingTc, by bisection on a fine
// grid's sign changes; NaN when there is none.
double crossing(const PolyFit& a, const PolyFit& b, double lo, double hi) {
  const int n = 400;
  double best = std::numeric_limits<double>::quiet_NaN();
  auto g = [&](double t) { return a.at(t) - b.at(t); };
  for (int i = 0; i < n; ++i) {
    double t0 = lo + (hi - lo) * i / n, t1 = lo + (hi - lo) * (i + 1) / n;
    double g0 = g(t0), g1 = g(t1);
    if (g0 == 0) g1 = 0, t1 = t0;
    if ((g0 < 0) == (g1 < 0) && g1 != 0) continue;
    for (int k = 0; k < 60 && g1 != 0; ++k) {
      const double tm = 0.5 * (t0 + t1), gm = g(tm);
      if ((gm < 0) == (g0 < 0)) t0 = tm, g0 = gm;
      else t1 = tm, g1 = gm;
    }
    const double root = 0.5 * (t0 + t1);
    if (std::isnan(best) || std::fabs(root - kIsingTc) < std::fabs(best - kIsingTc)) best = root;
  }
  return best;
}

}  // namespace

Estimate binder_crossing(const std::vector<double>& T, const std::vector<Estimate>& U_a,
                         const std::vector<Estimate>& U_b, int degree, int draws) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (T.size() < static_cast<std::size_t>(degree) + 1) return {nan, nan};
  const double lo = *std::min_element(T.begin(), T.end()), hi = *std::max_element(T.begin(), T.end());
  std::vector<double> ya, yb, sa, sb;
  for (std::size_t i = 0; i < T.size(); ++i) {
    ya.push_back(U_a[i].value);
    yb.push_back(U_b[i].value);
    sa.push_back(U_a[i].se);
    sb.push_back(U_b[i].se);
  }
  Estimate e{crossing(fit_polynomial(T, ya, sa, degree), fit_polynomial(T, yb, sb, degree), lo, hi), nan};
  if (std::isnan(e.value)) return e;
  // Errors from refits of Gaussian draws (Box-Muller on the keyed stream).
  Rng rng({0, Purpose::fss, 0, 0, 0});
  auto normal = [&] { return std::sqrt(-2.0 * std::log(rng.uniform())) * std::cos(6.283185307179586 * rng.uniform()); };
  double s = 0, s2 = 0;
  int found = 0;
  std::vector<double> da(ya.size()), db(yb.size());
  for (int k = 0; k < draws; ++k) {
    for (std::size_t i = 0; i < ya.size(); ++i) {
      da[i] = ya[i] + sa[i] * normal();
      db[i] = yb[i] + sb[i] * normal();
    }
    const double r = crossing(fit_polynomial(T, da, sa, degree), fit_polynomial(T, db, sb, degree), lo, hi);
    if (std::isnan(r)) continue;
    s += r;
    s2 += r * r;
    ++found;
  }
  // Draws without a crossing in the range count as an undetermined crossing.
  if (found < draws * 9 / 10) e.se = nan;
  else e.se = std::sqrt(std::max(0.0, s2 / found - (s / found) * (s / found)));
  return e;
}

Estimate over_seeds(const std::vector<Estimate>& per_seed) {
  const double n = static_cast<double>(per_seed.size());
  if (per_seed.empty()) return {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::quiet_NaN()};
  double mean = 0, own = 0;
  for (const auto& e : per_seed) {
    mean += e.value / n;
    own += e.se * e.se / n;
  }
  double ss = 0;
  for (const auto& e : per_seed) ss += (e.value - mean) * (e.value - mean);
  const double spread = per_seed.size() > 1 ? std::sqrt(ss / (n - 1) / n) : 0.0;
  return {mean, std::max(spread, std::sqrt(own / n))};
}

}  // namespace macrodyn::jobs
