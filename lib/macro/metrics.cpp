// Ensemble statistics and comparison metrics; see metrics.hpp for the definitions.
#include "macro/metrics.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace macrodyn::macro {
namespace {

// Number of runs R of an ensemble [R, T, d]; throws unless the size fits the shape.
std::int64_t runs_of(const std::vector<double>& ensemble, std::int64_t times, int dim, const char* who) {
  if (dim < 1) throw InputError(std::string(who) + ": dimension must be at least 1, got " + std::to_string(dim) + ".");
  if (times < 1) throw InputError(std::string(who) + ": number of times must be at least 1, got " + std::to_string(times) + ".");
  const std::int64_t frame = times * dim;
  const auto size = static_cast<std::int64_t>(ensemble.size());
  if (size == 0 || size % frame != 0)
    throw InputError(std::string(who) + ": ensemble has " + std::to_string(size) +
                     " values, not a positive multiple of times x dim = " + std::to_string(frame) + ".");
  return size / frame;
}

}  // namespace

std::vector<double> ensemble_mean(const std::vector<double>& ensemble, std::int64_t times, int dim) {
  const std::int64_t R = runs_of(ensemble, times, dim, "ensemble_mean");
  const std::int64_t frame = times * dim;
  std::vector<double> mean(static_cast<std::size_t>(frame), 0.0);
  // Runs outermost: the ensemble is read once, contiguously.
  for (std::int64_t r = 0; r < R; ++r)
    for (std::int64_t k = 0; k < frame; ++k) mean[k] += ensemble[r * frame + k];
  for (auto& m : mean) m /= static_cast<double>(R);
  return mean;
}

std::vector<double> ensemble_std(const std::vector<double>& ensemble, std::int64_t times, int dim) {
  const std::int64_t R = runs_of(ensemble, times, dim, "ensemble_std");
  const std::int64_t frame = times * dim;
  // Two passes (deviations from the mean), not E[x^2] - E[x]^2, which cancels badly when
  // the spread is small against the mean.
  const std::vector<double> mean = ensemble_mean(ensemble, times, dim);
  std::vector<double> var(static_cast<std::size_t>(frame), 0.0);
  for (std::int64_t r = 0; r < R; ++r)
    for (std::int64_t k = 0; k < frame; ++k) {
      const double dev = ensemble[r * frame + k] - mean[k];
      var[k] += dev * dev;
    }
  for (auto& v : var) v = std::sqrt(v / static_cast<double>(R));
  return var;
}

double relative_error(const std::vector<double>& mean_pred, const std::vector<double>& mean_true) {
  if (mean_pred.size() != mean_true.size())
    throw InputError("relative_error: predicted and true means differ in size (" + std::to_string(mean_pred.size()) +
                     " vs " + std::to_string(mean_true.size()) + ").");
  double num = 0.0, den = 0.0;
  for (std::size_t k = 0; k < mean_true.size(); ++k) {
    const double e = mean_pred[k] - mean_true[k];
    num += e * e;
    den += mean_true[k] * mean_true[k];
  }
  return den > 0 ? num / den : std::numeric_limits<double>::quiet_NaN();
}

std::vector<double> relative_error_per_dim(const std::vector<double>& mean_pred,
                                           const std::vector<double>& mean_true, int dim) {
  if (dim < 1) throw InputError("relative_error_per_dim: dimension must be at least 1, got " + std::to_string(dim) + ".");
  if (mean_pred.size() != mean_true.size() || mean_true.size() % static_cast<std::size_t>(dim) != 0)
    throw InputError("relative_error_per_dim: means of sizes " + std::to_string(mean_pred.size()) + " and " +
                     std::to_string(mean_true.size()) + " are not both [T, " + std::to_string(dim) + "].");
  std::vector<double> num(static_cast<std::size_t>(dim), 0.0), den(static_cast<std::size_t>(dim), 0.0);
  for (std::size_t k = 0; k < mean_true.size(); ++k) {
    const std::size_t i = k % static_cast<std::size_t>(dim);
    const double e = mean_pred[k] - mean_true[k];
    num[i] += e * e;
    den[i] += mean_true[k] * mean_true[k];
  }
  for (int i = 0; i < dim; ++i) num[i] = den[i] > 0 ? num[i] / den[i] : std::numeric_limits<double>::quiet_NaN();
  return num;
}

EquilibriumStats equilibrium_stats(const std::vector<double>& ensemble, std::int64_t times, int dim) {
  runs_of(ensemble, times, dim, "equilibrium_stats");
  const std::vector<double> mean = ensemble_mean(ensemble, times, dim);
  const std::vector<double> sd = ensemble_std(ensemble, times, dim);
  EquilibriumStats out{std::vector<double>(static_cast<std::size_t>(dim), 0.0),
                       std::vector<double>(static_cast<std::size_t>(dim), 0.0)};
  const std::int64_t first = times / 2;
  for (std::int64_t t = first; t < times; ++t)
    for (int i = 0; i < dim; ++i) {
      out.mean[i] += mean[t * dim + i];
      out.stddev[i] += sd[t * dim + i];
    }
  const double count = static_cast<double>(times - first);
  for (int i = 0; i < dim; ++i) {
    out.mean[i] /= count;
    out.stddev[i] /= count;
  }
  return out;
}

namespace {

constexpr int kBandwidths = static_cast<int>(kMmdBandwidths.size());

constexpr bool bandwidths_halve() {
  for (int s = 0; s + 1 < kBandwidths; ++s)
    if (kMmdBandwidths[s] * 2.0 != kMmdBandwidths[s + 1]) return false;
  return true;
}
static_assert(bandwidths_halve(), "mmd2 derives k_{s/2} = k_s^4 and needs each bandwidth to be half the next");

// Adds k_s(x, y) for every bandwidth, given r2 = |x - y|^2. One exp per pair: with s
// halved, k_{s/2} = exp(-4 r2 / (2 s^2)) = k_s^4. Once a kernel is below 1e-70 the
// smaller bandwidths (< 1e-280) are dropped: they are zero against sums of order n and
// would only cost denormal arithmetic.
inline void add_kernels(double r2, double* acc) {
  constexpr double kWidest = kMmdBandwidths[kBandwidths - 1];
  double e = std::exp(-r2 / (2.0 * kWidest * kWidest));
  for (int s = kBandwidths - 1; s >= 0; --s) {
    acc[s] += e;
    if (e < 1e-70) break;
    e *= e;
    e *= e;
  }
}

inline double squared_distance(const double* x, const double* y, int dim) {
  double r2 = 0.0;
  for (int i = 0; i < dim; ++i) {
    const double u = x[i] - y[i];
    r2 += u * u;
  }
  return r2;
}

// Sum over all ordered pairs (i, j) of one sample, i = j included, per bandwidth: the
// off-diagonal pairs once, doubled, and the diagonal (k = 1) added as n.
void self_sums(const std::vector<double>& x, std::int64_t n, int dim, double* acc) {
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = i + 1; j < n; ++j) add_kernels(squared_distance(&x[i * dim], &x[j * dim], dim), acc);
  for (int s = 0; s < kBandwidths; ++s) acc[s] = 2.0 * acc[s] + static_cast<double>(n);
}

}  // namespace

double mmd2(const std::vector<double>& a, const std::vector<double>& b, int dim) {
  if (dim < 1) throw InputError("mmd2: dimension must be at least 1, got " + std::to_string(dim) + ".");
  if (a.empty() || b.empty() || a.size() % static_cast<std::size_t>(dim) != 0 ||
      b.size() % static_cast<std::size_t>(dim) != 0)
    throw InputError("mmd2: samples of sizes " + std::to_string(a.size()) + " and " + std::to_string(b.size()) +
                     " are not both non-empty [n, " + std::to_string(dim) + "].");
  const std::int64_t n = static_cast<std::int64_t>(a.size()) / dim;
  const std::int64_t m = static_cast<std::int64_t>(b.size()) / dim;
  double aa[kBandwidths] = {}, bb[kBandwidths] = {}, ab[kBandwidths] = {};
  self_sums(a, n, dim, aa);
  self_sums(b, m, dim, bb);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < m; ++j) add_kernels(squared_distance(&a[i * dim], &b[j * dim], dim), ab);
  const double nn = static_cast<double>(n), mm = static_cast<double>(m);
  double total = 0.0;
  for (int s = 0; s < kBandwidths; ++s) total += aa[s] / (nn * nn) + bb[s] / (mm * mm) - 2.0 * ab[s] / (nn * mm);
  return total / kBandwidths;
}

std::vector<double> interpolate_to_grid(const std::vector<double>& times,
                                        const std::vector<double>& values,
                                        const std::vector<double>& grid, int dim) {
  if (dim < 1) throw InputError("interpolate_to_grid: dimension must be at least 1, got " + std::to_string(dim) + ".");
  const auto T = static_cast<std::int64_t>(times.size());
  if (T == 0) throw InputError("interpolate_to_grid: the trajectory has no times.");
  if (values.size() != times.size() * static_cast<std::size_t>(dim))
    throw InputError("interpolate_to_grid: values have " + std::to_string(values.size()) + " entries, expected times x dim = " +
                     std::to_string(times.size() * static_cast<std::size_t>(dim)) + ".");
  for (std::int64_t t = 0; t < T; ++t) {
    if (!std::isfinite(times[t])) throw InputError("interpolate_to_grid: time " + std::to_string(t) + " is not finite.");
    if (t > 0 && !(times[t] > times[t - 1]))
      throw InputError("interpolate_to_grid: times are not strictly increasing at index " + std::to_string(t) + ".");
  }
  std::vector<double> out(grid.size() * static_cast<std::size_t>(dim));
  for (std::size_t g = 0; g < grid.size(); ++g) {
    const double x = grid[g];
    if (!std::isfinite(x)) throw InputError("interpolate_to_grid: grid point " + std::to_string(g) + " is not finite.");
    double* dst = &out[g * static_cast<std::size_t>(dim)];
    if (T == 1) {
      std::copy_n(values.begin(), dim, dst);
      continue;
    }
    // Segment [i0, i0 + 1] containing x; beyond the ends w is clamped to 0 or 1, which
    // holds the first / last value.
    const auto above = std::upper_bound(times.begin(), times.end(), x) - times.begin();
    const std::int64_t i0 = std::clamp<std::int64_t>(above - 1, 0, T - 2);
    const double w = std::clamp((x - times[i0]) / (times[i0 + 1] - times[i0]), 0.0, 1.0);
    const double* v0 = &values[i0 * dim];
    const double* v1 = &values[(i0 + 1) * dim];
    // (1 - w) v0 + w v1 returns the nodes exactly at w = 0 and w = 1.
    for (int i = 0; i < dim; ++i) dst[i] = (1.0 - w) * v0[i] + w * v1[i];
  }
  return out;
}

}  // namespace macrodyn::macro
