#pragma once
// macrodyn calibrate (docs/design.md §1.12): the loss factor measured instead of assumed.
//
// The K-scaled loss treats the increment of one evolved patch, g(x_I') - g(x_I) over its
// duration dt, as c times as variable as the increment of the whole lattice's macrostate
// phi over the same time, with c = K when the K patches evolve independently. Here both
// are measured on the same upsampled snapshots (built exactly as generate builds them):
//   u = (g(patch after) - g(patch before)) / sqrt(dt)  -- patch I evolved as in training
//       (its boundary, `horizon` x the training events), dt its physical duration;
//   v = (phi(lattice after) - phi(lattice before)) / sqrt(dt)  -- the whole lattice
//       evolved for exactly the same physical time dt (Evolver::run_for; exact for a jump
//       process), phi the mean of g over the tiling as training computes z*.
// Each snapshot is evolved `replicas` times with independent noise (patch I drawn once
// per snapshot), so the covariances are conditional on the snapshot, as the SDE's
// diffusion is: C_I = E_x Cov(u | x, I), C_full = E_x Cov(v | x). The factor is the
// maximum-likelihood scalar c* = (1/n) tr(C_full^-1 C_I) (n observables), with the
// per-observable ratios C_I[k][k] / C_full[k][k] beside it; the same from the first
// replica of each snapshot across snapshots (marginal, drift variation included) is
// reported too. The interval is a percentile bootstrap over snapshots.
#include <cstdint>
#include <string>
#include <vector>

#include "core/boundary.hpp"
#include "jobs/config.hpp"
#include "systems/system.hpp"

namespace macrodyn::jobs {

struct CalibrateSpec {
  std::int64_t snapshots = 64;
  int replicas = 16;
  std::vector<double> horizons{1.0};      // x the training events per patch (partial.events)
  std::vector<Boundary> boundaries;       // empty: the training boundary (partial.boundary)
  int bootstrap = 400;
  int threads = 0;
  int bins = 10;  // of the first observable, for the binned drift and diffusion
  // A model directory with a learned closure: its encoder's codes join the observables
  // (psi of the evolved patch; the mean of psi over the tiling for the lattice), as
  // training encodes the pairs. Empty: the system's observables only.
  std::string model;
};

// The truth's drift and diffusion against the patch's, binned in the first observable x
// (m for spins) over its range: per snapshot, the drift of observable k is the mean change
// over the mean duration of its replicas, the diffusion the variance over replicas of the
// change over sqrt(dt) -- of the whole lattice (the truth's), and of the patch (its drift
// as the K-scaled target estimates it; its diffusion divided by K, as the loss assumes);
// averaged over the snapshots whose x falls in the bin.
struct BinRow {
  double lo = 0, hi = 0;
  std::int64_t snapshots = 0;
  int observable = 0;
  double mean = 0, drift_full = 0, drift_patch = 0, diffusion_full = 0, diffusion_patch_over_K = 0;
  // Standard errors over the bin's snapshots; drift_bias: the mean of drift_patch - drift_full
  // per snapshot (paired: the same snapshot, the same patch).
  double drift_full_se = 0, drift_patch_se = 0, drift_bias = 0, drift_bias_se = 0;
  // Sums for the errors (kept while the bins fill).
  double sq_full = 0, sq_patch = 0, sq_bias = 0;
};

struct CalibrationRow {
  double horizon = 1;
  Boundary boundary = Boundary::periodic;
  std::int64_t K = 1;
  std::uint64_t events = 0;  // per patch evolution
  double mean_dt = 0;        // mean patch duration
  double c_star = 0, c_lo = 0, c_hi = 0, c_se = 0;  // conditional; bootstrap 95 % interval and SE
  double c_marginal = 0, c_marginal_lo = 0, c_marginal_hi = 0;
  // The first observable's drift: the patch's (as the K-scaled target estimates it) over the
  // lattice's, a slope over snapshots, lambda = sum_j p_j (f_j^A + f_j^B) / 2 / sum_j f_j^A f_j^B
  // with f^A and f^B the lattice's drift from two halves of the replicas (their noises are
  // independent, so the noise does not bias the denominator). For a restoring drift, the
  // stationary variance goes as diffusion / drift: a model with the patch's drift has the
  // right stationary variance with c_stationary = ratio[0] / lambda instead of c*
  // (docs/design.md §8.5.9). Bootstrap intervals as for c*; NaN with fewer than 4 replicas.
  double drift_ratio = 0, drift_ratio_lo = 0, drift_ratio_hi = 0;
  double c_stationary = 0, c_stationary_lo = 0, c_stationary_hi = 0;
  std::vector<double> ratio;           // conditional, per observable
  std::vector<double> ratio_se;        // their bootstrap standard errors
  std::vector<double> ratio_marginal;  // across snapshots, per observable
  std::int64_t snapshots = 0;
  int replicas = 0;
  std::vector<BinRow> bins;  // bins x observables, bin-major
};

// The estimator on measured increments: u[j][r][k], v[j][r][k] for snapshot j, replica r,
// observable k. Fills the c and ratio fields (and snapshots, replicas); the bootstrap
// draws from `seed`. Throws InputError when an observable never changes (C_full singular).
void estimate_factor(const std::vector<std::vector<std::vector<double>>>& u,
                     const std::vector<std::vector<std::vector<double>>>& v, int bootstrap, std::uint64_t seed,
                     const std::vector<std::string>& names, CalibrationRow& row);
// The drift ratio and c_stationary of the row (after estimate_factor) from the same
// increments and the replicas' durations dts[j][r].
void estimate_drift_ratio(const std::vector<std::vector<std::vector<double>>>& u,
                          const std::vector<std::vector<std::vector<double>>>& v,
                          const std::vector<std::vector<double>>& dts, int bootstrap, std::uint64_t seed,
                          CalibrationRow& row);

// The whole command on the configuration's pipeline (small runs, upsampling to
// large.side, partial.* for the patch, validated as generate validates it): one row per
// (horizon, boundary), and the names of the measured variables (the system's
// observables, then closure1 ... closureN with spec.model). `given`: a system object to
// use instead of c.system's (tests' synthetic systems, not in the registry).
struct Calibration {
  std::vector<std::string> names;
  std::vector<CalibrationRow> rows;
};
Calibration calibrate(const Config& c, const CalibrateSpec& spec, const systems::System* given = nullptr);

// One line per row for the end of the command: c* against K and what it means, with a
// warning when the interval is too wide to tell.
std::string calibration_verdict(const CalibrationRow& row);

// The factor of a calibrate.csv for a model: the row at horizon 1 with this boundary and K.
// InputError naming the file when it is not such a table or has no such row.
// `which`: "c_star" or "c_stationary" (the factor with the drift ratio, see CalibrationRow).
struct MeasuredFactor {
  double c_star = 0, c_lo = 0, c_hi = 0;
};
MeasuredFactor read_measured_factor(const std::string& path, std::int64_t K, const std::string& boundary,
                                    const std::string& which = "c_star");

std::string binned_csv(const std::vector<CalibrationRow>& rows, const std::vector<std::string>& names,
                       const std::string& recipe);

std::string calibration_csv(const std::vector<CalibrationRow>& rows, const std::vector<std::string>& names,
                            const std::string& recipe);

}  // namespace macrodyn::jobs
