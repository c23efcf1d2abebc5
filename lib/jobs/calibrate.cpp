#include "jobs/calibrate.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <cstring>
#include <fstream>
#include <sstream>
#include <memory>
#include <stdexcept>

#include "core/error.hpp"
#include "core/format.hpp"
#include "core/parallel.hpp"
#include "core/progress.hpp"
#include "jobs/latent.hpp"
#include "jobs/model_dir.hpp"
#include "jobs/run_writer.hpp"
#include "learn/exported.hpp"
#include "sampling/hierarchy.hpp"
#include "sampling/partial_evolution.hpp"
#include "sampling/trajectory.hpp"
#include "systems/system.hpp"

using namespace macrodyn::sampling;
using namespace macrodyn::systems;

namespace macrodyn::jobs {

namespace {

using Matrix = std::vector<std::vector<double>>;

// Unbiased covariance of rows[i][k] over i (rows.size() >= 2).
Matrix covariance(const std::vector<const std::vector<double>*>& rows, int n) {
  const auto m = static_cast<double>(rows.size());
  std::vector<double> mean(static_cast<std::size_t>(n), 0.0);
  for (const auto* r : rows)
    for (int k = 0; k < n; ++k) mean[static_cast<std::size_t>(k)] += (*r)[static_cast<std::size_t>(k)] / m;
  Matrix c(static_cast<std::size_t>(n), std::vector<double>(static_cast<std::size_t>(n), 0.0));
  for (const auto* r : rows)
    for (int a = 0; a < n; ++a)
      for (int b = 0; b < n; ++b)
        c[a][b] += ((*r)[a] - mean[a]) * ((*r)[b] - mean[b]) / (m - 1);
  return c;
}

// (1/n) tr(F^-1 I) by Gauss-Jordan elimination with partial pivoting on [F | I].
double scalar_factor(Matrix F, Matrix I) {
  const std::size_t n = F.size();
  for (std::size_t col = 0; col < n; ++col) {
    std::size_t piv = col;
    for (std::size_t r = col + 1; r < n; ++r)
      if (std::fabs(F[r][col]) > std::fabs(F[piv][col])) piv = r;
    if (!(std::fabs(F[piv][col]) > 0)) return std::nan("");
    std::swap(F[piv], F[col]);
    std::swap(I[piv], I[col]);
    const double d = F[col][col];
    for (std::size_t k = 0; k < n; ++k) F[col][k] /= d, I[col][k] /= d;
    for (std::size_t r = 0; r < n; ++r) {
      if (r == col) continue;
      const double f = F[r][col];
      for (std::size_t k = 0; k < n; ++k) F[r][k] -= f * F[col][k], I[r][k] -= f * I[col][k];
    }
  }
  double tr = 0;
  for (std::size_t k = 0; k < n; ++k) tr += I[k][k];
  return tr / static_cast<double>(n);
}

// The conditional (replica) and marginal (across snapshots) covariances of u and v over
// the snapshots `pick` (indices, repeats allowed: the bootstrap).
struct Covariances {
  Matrix cond_u, cond_v, marg_u, marg_v;
};
Covariances covariances(const std::vector<std::vector<std::vector<double>>>& u,
                        const std::vector<std::vector<std::vector<double>>>& v, const std::vector<std::size_t>& pick,
                        int n) {
  Covariances c;
  const Matrix zero(static_cast<std::size_t>(n), std::vector<double>(static_cast<std::size_t>(n), 0.0));
  c.cond_u = c.cond_v = zero;
  std::vector<const std::vector<double>*> ru, rv, mu, mv;
  for (const std::size_t j : pick) {
    ru.clear();
    rv.clear();
    for (std::size_t r = 0; r < u[j].size(); ++r) ru.push_back(&u[j][r]), rv.push_back(&v[j][r]);
    const Matrix a = covariance(ru, n), b = covariance(rv, n);
    for (int x = 0; x < n; ++x)
      for (int y = 0; y < n; ++y) {
        c.cond_u[x][y] += a[x][y] / static_cast<double>(pick.size());
        c.cond_v[x][y] += b[x][y] / static_cast<double>(pick.size());
      }
    mu.push_back(&u[j][0]);
    mv.push_back(&v[j][0]);
  }
  c.marg_u = covariance(mu, n);
  c.marg_v = covariance(mv, n);
  return c;
}

double percentile(std::vector<double> x, double q) {
  std::sort(x.begin(), x.end());
  const double at = q * static_cast<double>(x.size() - 1);
  const auto i = static_cast<std::size_t>(at);
  const double f = at - static_cast<double>(i);
  return i + 1 < x.size() ? x[i] * (1 - f) + x[i + 1] * f : x[i];
}

// BinRow (calibrate.hpp) for every bin of the first observable's range (finite ends) or of
// the range its values span.
std::vector<BinRow> bin_rates(const std::vector<std::vector<std::vector<double>>>& u,
                              const std::vector<std::vector<std::vector<double>>>& v,
                              const std::vector<std::vector<double>>& dts, const std::vector<std::vector<double>>& start,
                              int bins, std::int64_t K, const ObservableRange& range) {
  std::vector<BinRow> out;
  if (bins < 1 || u.empty()) return out;
  const std::size_t S = u.size(), R = u[0].size(), d = u[0][0].size();
  double lo = range.lo, hi = range.hi;
  if (!std::isfinite(lo) || !std::isfinite(hi)) {
    lo = hi = start[0][0];
    for (const auto& s : start) lo = std::min(lo, s[0]), hi = std::max(hi, s[0]);
    hi = std::nextafter(hi, INFINITY);
  }
  const double width = (hi - lo) / bins;
  out.resize(static_cast<std::size_t>(bins) * d);
  for (int bi = 0; bi < bins; ++bi)
    for (std::size_t k = 0; k < d; ++k) {
      BinRow& r = out[static_cast<std::size_t>(bi) * d + k];
      r.lo = lo + bi * width;
      r.hi = bi + 1 == bins ? hi : lo + (bi + 1) * width;
      r.observable = static_cast<int>(k);
    }
  for (std::size_t j = 0; j < S; ++j) {
    int bi = static_cast<int>(std::floor((start[j][0] - lo) / width));
    bi = std::clamp(bi, 0, bins - 1);
    double T = 0;
    for (const double t : dts[j]) T += t;
    for (std::size_t k = 0; k < d; ++k) {
      double dg = 0, dphi = 0, mu = 0, mv = 0;
      for (std::size_t r = 0; r < R; ++r) {
        const double s = std::sqrt(dts[j][r]);
        dg += u[j][r][k] * s;
        dphi += v[j][r][k] * s;
        mu += u[j][r][k] / static_cast<double>(R);
        mv += v[j][r][k] / static_cast<double>(R);
      }
      double vu = 0, vv = 0;
      for (std::size_t r = 0; r < R; ++r) {
        vu += (u[j][r][k] - mu) * (u[j][r][k] - mu) / static_cast<double>(R - 1);
        vv += (v[j][r][k] - mv) * (v[j][r][k] - mv) / static_cast<double>(R - 1);
      }
      BinRow& b = out[static_cast<std::size_t>(bi) * d + k];
      b.snapshots += 1;
      b.mean += start[j][k];
      b.drift_full += dphi / T;
      b.drift_patch += dg / T;
      b.drift_bias += (dg - dphi) / T;
      b.sq_full += (dphi / T) * (dphi / T);
      b.sq_patch += (dg / T) * (dg / T);
      b.sq_bias += ((dg - dphi) / T) * ((dg - dphi) / T);
      b.diffusion_full += vv;
      b.diffusion_patch_over_K += vu / static_cast<double>(K);
    }
  }
  for (BinRow& b : out)
    if (b.snapshots > 0) {
      const auto n = static_cast<double>(b.snapshots);
      b.mean /= n, b.drift_full /= n, b.drift_patch /= n, b.diffusion_full /= n, b.diffusion_patch_over_K /= n;
      b.drift_bias /= n;
      auto se = [n](double sq, double mean) { return n > 1 ? std::sqrt(std::max(0.0, sq / n - mean * mean) / (n - 1)) : 0.0; };
      b.drift_full_se = se(b.sq_full, b.drift_full);
      b.drift_patch_se = se(b.sq_patch, b.drift_patch);
      b.drift_bias_se = se(b.sq_bias, b.drift_bias);
    }
  return out;
}

}  // namespace

void estimate_factor(const std::vector<std::vector<std::vector<double>>>& u,
                     const std::vector<std::vector<std::vector<double>>>& v, int bootstrap, std::uint64_t seed,
                     const std::vector<std::string>& names, CalibrationRow& row) {
  const int n = static_cast<int>(names.size());
  const std::size_t S = u.size();
  if (S < 2 || v.size() != S) throw std::invalid_argument("estimate_factor: needs at least 2 snapshots");
  std::vector<std::size_t> all(S);
  for (std::size_t j = 0; j < S; ++j) all[j] = j;
  const Covariances c = covariances(u, v, all, n);
  for (int k = 0; k < n; ++k)
    if (!(c.cond_v[k][k] > 0) || !(c.marg_v[k][k] > 0))
      throw InputError("calibrate: observable " + names[static_cast<std::size_t>(k)] +
                       " of the whole lattice never changed over the patch's duration; its factor is undefined "
                       "(a longer --horizons or more replicas)");
  row.snapshots = static_cast<std::int64_t>(S);
  row.replicas = static_cast<int>(u[0].size());
  row.c_star = scalar_factor(c.cond_v, c.cond_u);
  row.c_marginal = scalar_factor(c.marg_v, c.marg_u);
  row.ratio.clear();
  row.ratio_marginal.clear();
  for (int k = 0; k < n; ++k) {
    row.ratio.push_back(c.cond_u[k][k] / c.cond_v[k][k]);
    row.ratio_marginal.push_back(c.marg_u[k][k] / c.marg_v[k][k]);
  }
  row.c_lo = row.c_hi = row.c_star;
  row.c_marginal_lo = row.c_marginal_hi = row.c_marginal;
  row.c_se = 0;
  row.ratio_se.assign(static_cast<std::size_t>(n), 0.0);
  if (bootstrap < 2) return;
  Rng rng({seed, Purpose::calibrate, 255, 0, 0});
  std::vector<double> cs, ms;
  std::vector<std::vector<double>> ratios(static_cast<std::size_t>(n));
  std::vector<std::size_t> pick(S);
  for (int b = 0; b < bootstrap; ++b) {
    for (auto& j : pick) j = static_cast<std::size_t>(rng.below(S));
    const Covariances cb = covariances(u, v, pick, n);
    const double x = scalar_factor(cb.cond_v, cb.cond_u), y = scalar_factor(cb.marg_v, cb.marg_u);
    if (std::isfinite(x)) cs.push_back(x);
    if (std::isfinite(y)) ms.push_back(y);
    for (int k = 0; k < n; ++k)
      if (cb.cond_v[k][k] > 0) ratios[static_cast<std::size_t>(k)].push_back(cb.cond_u[k][k] / cb.cond_v[k][k]);
  }
  auto std_dev = [](const std::vector<double>& x) {
    double m = 0, ss = 0;
    for (const double v : x) m += v / static_cast<double>(x.size());
    for (const double v : x) ss += (v - m) * (v - m);
    return x.size() >= 2 ? std::sqrt(ss / static_cast<double>(x.size() - 1)) : 0.0;
  };
  for (int k = 0; k < n; ++k) row.ratio_se[static_cast<std::size_t>(k)] = std_dev(ratios[static_cast<std::size_t>(k)]);
  if (cs.size() >= 2) {
    row.c_lo = percentile(cs, 0.025);
    row.c_hi = percentile(cs, 0.975);
    row.c_se = std_dev(cs);
  }
  if (ms.size() >= 2) {
    row.c_marginal_lo = percentile(ms, 0.025);
    row.c_marginal_hi = percentile(ms, 0.975);
  }
}

namespace {

// lambda of CalibrationRow on the snapshots `pick`: NaN when the denominator is not positive.
double drift_ratio_of(const std::vector<double>& p, const std::vector<double>& fa, const std::vector<double>& fb,
                      const std::vector<std::size_t>& pick) {
  double num = 0, den = 0;
  for (const std::size_t j : pick) {
    num += p[j] * 0.5 * (fa[j] + fb[j]);
    den += fa[j] * fb[j];
  }
  return den > 0 ? num / den : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

void estimate_drift_ratio(const std::vector<std::vector<std::vector<double>>>& u,
                          const std::vector<std::vector<std::vector<double>>>& v,
                          const std::vector<std::vector<double>>& dts, int bootstrap, std::uint64_t seed,
                          CalibrationRow& row) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  row.drift_ratio = row.drift_ratio_lo = row.drift_ratio_hi = nan;
  row.c_stationary = row.c_stationary_lo = row.c_stationary_hi = nan;
  const std::size_t S = u.size();
  if (S < 2 || u[0].size() < 4) return;
  // Per snapshot: the patch's drift from every replica, the lattice's from the even and the
  // odd replicas (increments back from u = change / sqrt(dt)).
  std::vector<double> p(S), fa(S), fb(S);
  for (std::size_t j = 0; j < S; ++j) {
    double dp = 0, da = 0, db = 0, t = 0, ta = 0, tb = 0;
    for (std::size_t r = 0; r < u[j].size(); ++r) {
      const double dt = dts[j][r], s = std::sqrt(dt);
      dp += u[j][r][0] * s;
      t += dt;
      if (r % 2 == 0) da += v[j][r][0] * s, ta += dt;
      else db += v[j][r][0] * s, tb += dt;
    }
    p[j] = dp / t;
    fa[j] = da / ta;
    fb[j] = db / tb;
  }
  std::vector<std::size_t> all(S);
  for (std::size_t j = 0; j < S; ++j) all[j] = j;
  row.drift_ratio = drift_ratio_of(p, fa, fb, all);
  row.c_stationary = row.drift_ratio > 0 ? row.ratio[0] / row.drift_ratio : nan;
  if (bootstrap < 2) return;
  // The same resamples for the ratio and c_stationary: the first observable's variance ratio
  // recomputed on each (conditional, over replicas).
  // Each snapshot's variances over replicas, once; a resample only sums them.
  std::vector<double> var_u(S), var_v(S);
  for (std::size_t j = 0; j < S; ++j) {
    const auto R = static_cast<double>(u[j].size());
    double mu = 0, mv = 0;
    for (std::size_t r = 0; r < u[j].size(); ++r) mu += u[j][r][0] / R, mv += v[j][r][0] / R;
    for (std::size_t r = 0; r < u[j].size(); ++r) {
      var_u[j] += (u[j][r][0] - mu) * (u[j][r][0] - mu) / (R - 1);
      var_v[j] += (v[j][r][0] - mv) * (v[j][r][0] - mv) / (R - 1);
    }
  }
  Rng rng({seed, Purpose::calibrate, 254, 0, 0});
  std::vector<double> lambdas, cs;
  std::vector<std::size_t> pick(S);
  for (int b = 0; b < bootstrap; ++b) {
    for (auto& j : pick) j = static_cast<std::size_t>(rng.below(S));
    const double l = drift_ratio_of(p, fa, fb, pick);
    double cu = 0, cv = 0;
    for (const std::size_t j : pick) cu += var_u[j], cv += var_v[j];
    if (!std::isfinite(l)) continue;
    lambdas.push_back(l);
    if (l > 0 && cv > 0) cs.push_back(cu / cv / l);
  }
  if (lambdas.size() >= 2) {
    row.drift_ratio_lo = percentile(lambdas, 0.025);
    row.drift_ratio_hi = percentile(lambdas, 0.975);
  }
  if (cs.size() >= 2) {
    row.c_stationary_lo = percentile(cs, 0.025);
    row.c_stationary_hi = percentile(cs, 0.975);
  }
}

Calibration calibrate(const Config& c, const CalibrateSpec& spec, const System* given) {
  std::unique_ptr<System> made;
  if (!given) made = make_system(c.system, c.system_params);
  const System* sys = given ? given : made.get();
  const int dim = sys->dim(), L = c.large_side, p = c.patch, d = sys->num_observables();
  if (sys->state_layout().voxel_bytes() != 1)
    throw InputError("calibrate: system " + c.system + " has states wider than a byte per voxel, which it does not take yet");
  if (spec.snapshots < 4) throw InputError("--snapshots = " + std::to_string(spec.snapshots) + " must be at least 4");
  // The pipeline's keys as generate checks them (with large.snapshots = --snapshots, the last
  // level kept whole in the memory estimate); a test's own system is not in the registry.
  Config pipeline = c;
  pipeline.snapshots = spec.snapshots;
  if (!given) validate(pipeline, Job::calibrate);
  if (spec.bins < 0) throw InputError("--bins must be >= 0 (0: no binned rates)");
  if (spec.replicas < 2) throw InputError("--replicas = " + std::to_string(spec.replicas) + " must be at least 2 (the covariances are over replicas)");
  if (spec.bootstrap < 0) throw InputError("--bootstrap must be >= 0");
  if (spec.horizons.empty()) throw InputError("--horizons must name at least one horizon");
  for (const double h : spec.horizons)
    if (!(h > 0) || !(h <= 1e4))
      throw InputError("--horizons: " + shortest(h) + " must be positive and at most 10000 training evolutions");
  std::vector<Boundary> boundaries = spec.boundaries.empty() ? std::vector<Boundary>{c.partial_boundary} : spec.boundaries;
  for (const Boundary b : boundaries)
    if (b == Boundary::global || !sys->supports(b))
      throw InputError("--boundaries: system " + c.system + " does not evolve a patch with boundary " + to_string(b));
  check_threads(spec.threads, "--threads");
  const int threads = resolve_threads(spec.threads);
  // The whole lattice is run for a physical time: a jump process's evolver does it.
  {
    auto probe = sys->make_evolver();
    std::vector<std::int8_t> x(static_cast<std::size_t>(ipow(p, dim)));
    Rng rng({c.seed, Purpose::test, 0, 0, 0});
    sys->random_configuration(x.data(), static_cast<std::int64_t>(x.size()), rng);
    probe->load(x.data(), p, Coord{0, 0, 0}, p, Boundary::periodic, x.data());
    try {
      probe->run_for(0.0, rng);
    } catch (const std::logic_error&) {
      throw InputError("calibrate: system " + c.system + " cannot evolve the whole lattice for a given physical time (Evolver::run_for), which the measured factor needs");
    }
  }
  // The learned closure's encoder, checked before any work.
  std::unique_ptr<learn::ExportedEncoder> encoder;
  int q = 0;
  if (!spec.model.empty()) {
    const ModelInfo info = read_model_dir(spec.model);
    if (info.closure_dim < 1)
      throw InputError("--model " + spec.model + " has no learned closure (closure_dim = 0); without --model calibrate "
                       "measures the system's observables");
    if (info.system != c.system || info.patch != p)
      throw InputError("--model " + spec.model + " was trained on system " + info.system + " with patches of " +
                       std::to_string(info.patch) + ", not on " + c.system + " with partial.patch = " + std::to_string(p));
    try {
      encoder = std::make_unique<learn::ExportedEncoder>(spec.model + "/encoder.pt", p, static_cast<int>(info.closure_dim));
    } catch (const std::exception& e) {
      throw InputError("--model " + spec.model + ": " + e.what());
    }
    q = static_cast<int>(info.closure_dim);
  }
  std::vector<std::unique_ptr<Evolver>> evolvers;
  std::vector<std::vector<std::int8_t>> stage(static_cast<std::size_t>(threads));
  for (int t = 0; t < threads; ++t) evolvers.push_back(sys->make_evolver());

  // 1. The small runs and 2. the upsampled snapshots, as generate builds them with
  // large.snapshots = --snapshots (the same keys: the same snapshots).
  std::vector<std::int8_t> pool = small_pool(c, *sys, evolvers);
  const HierarchySpec h = hierarchy_spec(c);
  const int levels = static_cast<int>(h.sides.size()) - 1;
  const std::int64_t S = spec.snapshots, n = ipow(L, dim);
  std::int64_t pool_count = c.small_runs * c.small_frames();
  std::vector<std::int8_t> snaps;
  if (levels == 0) {
    const auto chosen = draw_without_replacement(pool_count, S, c.seed);
    snaps.resize(static_cast<std::size_t>(S * n));
    for (std::int64_t j = 0; j < S; ++j)
      std::memcpy(snaps.data() + j * n, pool.data() + chosen[static_cast<std::size_t>(j)] * n, static_cast<std::size_t>(n));
  }
  for (int level = 1; level <= levels; ++level) {
    const std::int64_t m = ipow(h.sides[level], dim);
    std::vector<std::int8_t> next(static_cast<std::size_t>(S * m));
    parallel_for(0, S, threads, [&](std::int64_t j, int w) {
      build_level_snapshot(*sys, *evolvers[static_cast<std::size_t>(w)], h, level, pool.data(), pool_count, j,
                           next.data() + j * m, stage[static_cast<std::size_t>(w)]);
    });
    pool.swap(next);
    pool_count = S;
    if (level == levels) snaps.swap(pool);
  }
  pool.clear();
  pool.shrink_to_fit();

  // 3. Per horizon and boundary: the replicated patch and whole-lattice increments.
  const Tiling tiling{dim, L, p};
  const std::int64_t K = tiling.patches();
  const std::uint64_t base_events = c.partial_events ? c.partial_events : sys->events_per_sweep(ipow(p, dim));
  auto names = sys->observable_names();
  for (int k = 0; k < q; ++k) names.push_back("closure" + std::to_string(k + 1));
  const std::int64_t patch_voxels = ipow(p, dim);
  Calibration out;
  out.names = names;
  std::vector<CalibrationRow>& rows = out.rows;
  for (const double horizon : spec.horizons)
    for (const Boundary b : boundaries) {
      CalibrationRow row;
      row.horizon = horizon;
      row.boundary = b;
      row.K = K;
      row.events = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::llround(horizon * static_cast<double>(base_events))));
      const std::uint64_t key = seed_for_value(c.seed, horizon);
      std::vector<std::vector<std::vector<double>>> u(static_cast<std::size_t>(S)), v(static_cast<std::size_t>(S));
      std::vector<double> dt_sum(static_cast<std::size_t>(S), 0.0);
      std::vector<std::vector<double>> start(static_cast<std::size_t>(S)), dts(static_cast<std::size_t>(S));
      // With a closure: the patch before and after each replica, and the lattice after,
      // encoded once the evolutions are done (the encoder runs on this thread).
      std::vector<std::int8_t> patches_kept, lattices_kept;
      if (encoder) {
        patches_kept.resize(static_cast<std::size_t>(S * (spec.replicas + 1) * patch_voxels));
        lattices_kept.resize(static_cast<std::size_t>(S * spec.replicas * n));
      }
      std::vector<std::vector<std::int8_t>> copy(static_cast<std::size_t>(threads), std::vector<std::int8_t>(static_cast<std::size_t>(n)));
      Progress progress("calibrate: horizon " + shortest(horizon) + ", " + to_string(b), S, "snapshots", c.progress);
      parallel_for(0, S, threads, [&](std::int64_t j, int w) {
        Evolver& ev = *evolvers[static_cast<std::size_t>(w)];
        const std::int8_t* x = snaps.data() + j * n;
        std::vector<double> phi0(static_cast<std::size_t>(d)), phi1(static_cast<std::size_t>(d)),
            g0(static_cast<std::size_t>(d)), g1(static_cast<std::size_t>(d));
        macro_observables(*sys, x, L, p, b, phi0.data());
        start[static_cast<std::size_t>(j)] = phi0;
        Rng pick({key, Purpose::calibrate, static_cast<std::uint32_t>(b), static_cast<std::uint64_t>(j), 0});
        const auto I = static_cast<std::int64_t>(pick.below(static_cast<std::uint64_t>(K)));
        auto& uj = u[static_cast<std::size_t>(j)];
        auto& vj = v[static_cast<std::size_t>(j)];
        for (int r = 0; r < spec.replicas; ++r) {
          Rng patch_rng({key, Purpose::calibrate, static_cast<std::uint32_t>(b), static_cast<std::uint64_t>(j),
                         static_cast<std::uint32_t>(2 * r + 1)});
          ev.load(x, L, tiling.origin(I), p, b, x);
          ev.observables(g0.data());
          std::int8_t* kept = encoder ? patches_kept.data() + (j * (spec.replicas + 1)) * patch_voxels : nullptr;
          if (kept && r == 0) std::memcpy(kept, ev.box(), static_cast<std::size_t>(patch_voxels));
          const double dt = ev.run_events(row.events, patch_rng);
          ev.observables(g1.data());
          if (kept) std::memcpy(kept + (r + 1) * patch_voxels, ev.box(), static_cast<std::size_t>(patch_voxels));
          Rng full_rng({key, Purpose::calibrate, static_cast<std::uint32_t>(b), static_cast<std::uint64_t>(j),
                        static_cast<std::uint32_t>(2 * r + 2)});
          std::int8_t* y = copy[static_cast<std::size_t>(w)].data();
          std::memcpy(y, x, static_cast<std::size_t>(n));
          ev.load(y, L, Coord{0, 0, 0}, L, Boundary::periodic, y);
          ev.run_for(dt, full_rng);
          ev.store(y, L, Coord{0, 0, 0});
          macro_observables(*sys, y, L, p, b, phi1.data());
          if (encoder)
            std::memcpy(lattices_kept.data() + (j * spec.replicas + r) * n, y, static_cast<std::size_t>(n));
          const double s = 1.0 / std::sqrt(dt);
          std::vector<double> ur(static_cast<std::size_t>(d)), vr(static_cast<std::size_t>(d));
          for (int k = 0; k < d; ++k) {
            ur[static_cast<std::size_t>(k)] = (g1[static_cast<std::size_t>(k)] - g0[static_cast<std::size_t>(k)]) * s;
            vr[static_cast<std::size_t>(k)] = (phi1[static_cast<std::size_t>(k)] - phi0[static_cast<std::size_t>(k)]) * s;
          }
          uj.push_back(std::move(ur));
          vj.push_back(std::move(vr));
          dt_sum[static_cast<std::size_t>(j)] += dt;
          dts[static_cast<std::size_t>(j)].push_back(dt);
        }
      });
      progress.update(S);
      if (encoder) {  // the closure's increments join u and v (and its phi_hat the starts)
        std::vector<float> psi(static_cast<std::size_t>((spec.replicas + 1) * q));
        std::vector<double> phi(static_cast<std::size_t>((spec.replicas + 1) * q));
        std::vector<std::int8_t> lattices(static_cast<std::size_t>((spec.replicas + 1) * n)), scratch;
        std::vector<float> codes;
        for (std::int64_t j = 0; j < S; ++j) {
          encoder->encode(patches_kept.data() + j * (spec.replicas + 1) * patch_voxels, spec.replicas + 1, psi.data());
          std::memcpy(lattices.data(), snaps.data() + j * n, static_cast<std::size_t>(n));
          std::memcpy(lattices.data() + n, lattices_kept.data() + j * spec.replicas * n,
                      static_cast<std::size_t>(spec.replicas * n));
          snapshot_closure(*encoder, lattices.data(), spec.replicas + 1, L, scratch, codes, phi.data());
          auto& sj = start[static_cast<std::size_t>(j)];
          for (int k = 0; k < q; ++k) sj.push_back(phi[static_cast<std::size_t>(k)]);
          for (int r = 0; r < spec.replicas; ++r) {
            const double s = 1.0 / std::sqrt(dts[static_cast<std::size_t>(j)][static_cast<std::size_t>(r)]);
            auto& ur = u[static_cast<std::size_t>(j)][static_cast<std::size_t>(r)];
            auto& vr = v[static_cast<std::size_t>(j)][static_cast<std::size_t>(r)];
            for (int k = 0; k < q; ++k) {
              ur.push_back((psi[static_cast<std::size_t>((r + 1) * q + k)] - psi[static_cast<std::size_t>(k)]) * s);
              vr.push_back((phi[static_cast<std::size_t>((r + 1) * q + k)] - phi[static_cast<std::size_t>(k)]) * s);
            }
          }
        }
      }
      double total_dt = 0;
      for (const double t : dt_sum) total_dt += t;
      row.mean_dt = total_dt / static_cast<double>(S * spec.replicas);
      estimate_factor(u, v, spec.bootstrap, key, names, row);
      estimate_drift_ratio(u, v, dts, spec.bootstrap, key, row);
      row.bins = bin_rates(u, v, dts, start, spec.bins, K, sys->observable_ranges()[0]);
      rows.push_back(row);
    }
  return out;
}

namespace {
std::string three(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3f", v);
  return b;
}
}  // namespace

std::string calibration_verdict(const CalibrationRow& r) {
  const double K = static_cast<double>(r.K);
  std::string s = "horizon " + shortest(r.horizon) + ", " + to_string(r.boundary) + ": c*/K = " + three(r.c_star / K) +
                  " [" + three(r.c_lo / K) + ", " + three(r.c_hi / K) + "]: ";
  if (r.c_lo <= K && K <= r.c_hi) s += "K is inside the interval (the patches act as independent)";
  else if (r.c_hi < K) s += "below K (the patches' increments are correlated: a loss with c = K would make the noise too small)";
  else s += "above K (one patch varies more than its share of the lattice)";
  if (r.c_hi - r.c_lo > 0.2 * r.c_star)
    s += "; WARNING: the interval is wider than 20 % of c*, too wide to tell; raise --snapshots";
  if (std::isfinite(r.drift_ratio))
    s += "; drift of the patch / the lattice's = " + three(r.drift_ratio) + " [" + three(r.drift_ratio_lo) + ", " +
         three(r.drift_ratio_hi) + "], c_stationary/K = " + three(r.c_stationary / K);
  return s;
}

MeasuredFactor read_measured_factor(const std::string& path, std::int64_t K, const std::string& boundary,
                                    const std::string& which) {
  const bool stationary = which == "c_stationary";
  std::ifstream in(path);
  if (!in) throw InputError("--calibration " + path + " cannot be read");
  std::string line;
  std::vector<std::string> header;
  auto cells = [](const std::string& l) {
    std::vector<std::string> out;
    std::stringstream ss(l);
    for (std::string c; std::getline(ss, c, ',');) out.push_back(c);
    return out;
  };
  auto column = [&](const std::string& name) {
    const auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) throw InputError("--calibration " + path + " is not a calibrate.csv (no column " + name + ")");
    return static_cast<std::size_t>(it - header.begin());
  };
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (header.empty()) {
      header = cells(line);
      column("c_star");
      continue;
    }
    const auto row = cells(line);
    if (row.size() != header.size()) throw InputError("--calibration " + path + " has a row of " + std::to_string(row.size()) + " cells under a header of " + std::to_string(header.size()));
    const double horizon = std::strtod(row[column("horizon")].c_str(), nullptr);
    if (horizon != 1.0 || row[column("boundary")] != boundary ||
        std::strtoll(row[column("K")].c_str(), nullptr, 10) != K)
      continue;
    const std::string lo = stationary ? "c_stationary_lo" : "c_lo", hi = stationary ? "c_stationary_hi" : "c_hi";
    MeasuredFactor f{std::strtod(row[column(which)].c_str(), nullptr), std::strtod(row[column(lo)].c_str(), nullptr),
                     std::strtod(row[column(hi)].c_str(), nullptr)};
    if (!(f.c_star > 0) || !std::isfinite(f.c_star))
      throw InputError("--calibration " + path + ": " + which + " = " + row[column(which)] + " is not a positive factor" +
                       (stationary ? " (a drift ratio needs at least 4 replicas and a lattice drift above its noise)" : ""));
    return f;
  }
  if (header.empty()) throw InputError("--calibration " + path + " is not a calibrate.csv (no header)");
  throw InputError("--calibration " + path + " has no row at horizon 1 with boundary " + boundary + " and K = " +
                   std::to_string(K) + " (the dataset's); run macrodyn calibrate with the dataset's configuration");
}

std::string binned_csv(const std::vector<CalibrationRow>& rows, const std::vector<std::string>& names,
                       const std::string& recipe) {
  std::string s = "# " + recipe + "\n# per bin of " + names[0] + " (the snapshot's value): drift = mean change / mean dt over the "
                  "replicas, diffusion = variance over replicas of change / sqrt(dt); full: the whole lattice (the truth), "
                  "patch: the evolved patch (drift as the K-scaled target estimates it, diffusion / K as the loss assumes)\n"
                  "horizon,boundary,bin_lo,bin_hi,snapshots,observable,mean,drift_full,drift_full_se,drift_patch,"
                  "drift_patch_se,drift_bias,drift_bias_se,diffusion_full,diffusion_patch_over_K\n";
  for (const auto& r : rows)
    for (const BinRow& b : r.bins) {
      if (b.snapshots == 0) continue;
      s += shortest(r.horizon) + "," + to_string(r.boundary) + "," + shortest(b.lo) + "," + shortest(b.hi) + "," +
           std::to_string(b.snapshots) + "," + names[static_cast<std::size_t>(b.observable)] + "," + shortest(b.mean) +
           "," + shortest(b.drift_full) + "," + shortest(b.drift_full_se) + "," + shortest(b.drift_patch) + "," +
           shortest(b.drift_patch_se) + "," + shortest(b.drift_bias) + "," + shortest(b.drift_bias_se) + "," +
           shortest(b.diffusion_full) + "," + shortest(b.diffusion_patch_over_K) + "\n";
    }
  return s;
}

std::string calibration_csv(const std::vector<CalibrationRow>& rows, const std::vector<std::string>& names,
                            const std::string& recipe) {
  std::string s = "# " + recipe + "\n# c_star: (1/n) tr(C_full^-1 C_I) of covariances conditional on the snapshot "
                  "(replicated noise); marginal: across snapshots (first replica); intervals: 95 % bootstrap over "
                  "snapshots; drift_ratio: the first observable's drift of the patch over the lattice's; c_stationary = ratio of the "
                  "first observable / drift_ratio\nhorizon,boundary,K,events,mean_dt,snapshots,replicas,c_star,c_lo,c_hi,c_se,c_over_K,"
                  "c_marginal,c_marginal_lo,c_marginal_hi,drift_ratio,drift_ratio_lo,drift_ratio_hi,c_stationary,"
                  "c_stationary_lo,c_stationary_hi";
  for (const auto& nm : names) s += ",ratio_" + nm;
  for (const auto& nm : names) s += ",ratio_marginal_" + nm;
  for (const auto& nm : names) s += ",ratio_se_" + nm;
  s += "\n";
  for (const auto& r : rows) {
    s += shortest(r.horizon) + "," + to_string(r.boundary) + "," + std::to_string(r.K) + "," + std::to_string(r.events) +
         "," + shortest(r.mean_dt) + "," + std::to_string(r.snapshots) + "," + std::to_string(r.replicas) + "," +
         shortest(r.c_star) + "," + shortest(r.c_lo) + "," + shortest(r.c_hi) + "," + shortest(r.c_se) + "," +
         shortest(r.c_star / static_cast<double>(r.K)) + "," + shortest(r.c_marginal) + "," + shortest(r.c_marginal_lo) +
         "," + shortest(r.c_marginal_hi);
    for (const double x : {r.drift_ratio, r.drift_ratio_lo, r.drift_ratio_hi, r.c_stationary, r.c_stationary_lo, r.c_stationary_hi})
      s += "," + shortest(x);
    for (const double x : r.ratio) s += "," + shortest(x);
    for (const double x : r.ratio_marginal) s += "," + shortest(x);
    for (const double x : r.ratio_se) s += "," + shortest(x);
    s += "\n";
  }
  return s;
}

}  // namespace macrodyn::jobs
