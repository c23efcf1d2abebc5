#pragma once
// macrodyn equilibrium (docs/design.md §8.5.8): the ground truth of finite-size scaling.
// Per side L and temperature T, `runs` independent chains of the system's equilibrium
// sampler (Wolff for the Ising models at h = 0) from random states, `thermalise` sweeps
// dropped (a sweep: as many site changes as sites), then `sweeps` measurements, each after
// a fixed number of updates (N over the thermalisation's mean cluster size: about a sweep;
// a count, not a stopping rule on cluster sizes, which would favour ordered states). Reported, with standard errors from a jackknife
// over the runs (independent by construction):
//   <|m|>, <m^2>, <m^4>, <e> (energy per site);
//   chi' = (N/T)(<m^2> - <|m|>^2) (the notes' chi), chi = (N/T)<m^2>;
//   U = 1 - <m^4> / (3 <m^2>^2) and dU/dT from the fluctuation formula
//   d<A>/dT = (<A E> - <A><E>) / T^2 (E the total energy), never from frames of a
//   dynamics spaced in events.
// Each run's chain is keyed by (seed mixed with T, equilibrium, run, side): a row does not
// depend on the list it was computed in or on the thread count.
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "systems/system.hpp"

namespace macrodyn::jobs {

struct EquilibriumSpec {
  int runs = 16;
  std::int64_t sweeps = 4000;
  std::int64_t thermalise = 400;
  std::uint64_t seed = 1;
  int threads = 0;  // 0 = all cores
  bool progress = false;  // a line on stderr as chains finish
  int histogram_bins = 0;  // > 0: the histogram of |m| in that many bins of [0, 1] (study fss)
};

// InputError naming the option when the spec is impossible, or when `runs` chains of
// side-L lattices in `dim` dimensions run at once would not fit in memory.
void check_equilibrium_spec(const EquilibriumSpec& spec, int dim, int L);

struct Estimate {
  double value = 0, se = 0;
};

struct EquilibriumRow {
  int L = 0;
  double T = 0;
  std::int64_t samples = 0;  // runs x sweeps
  Estimate abs_m, m2, m4, e, chi_prime, chi, binder, dbinder_dt;
  double cluster_fraction = 0;  // mean cluster size / N (how the chain moves)
  std::vector<double> abs_m_histogram;  // fractions per bin (spec.histogram_bins; not in the CSV)
};

// One (L, T): `system` made at temperature T (its sampler reads T from it). Throws
// InputError when the system has no sampler.
EquilibriumRow measure_equilibrium(const systems::System& system, int L, double T, const EquilibriumSpec& spec);

// The jackknife over runs: f of the means of `per_run` (rows = runs, each a vector of
// the same length), its value on all runs and its standard error.
template <class F>
Estimate jackknife(const std::vector<std::vector<double>>& per_run, F&& f) {
  const std::size_t R = per_run.size();
  if (R < 2) throw std::invalid_argument("jackknife: needs at least 2 runs");
  const std::size_t q = per_run[0].size();
  std::vector<double> all(q, 0.0), left(q);
  for (const auto& r : per_run)
    for (std::size_t k = 0; k < q; ++k) all[k] += r[k];
  std::vector<double> mean(q);
  for (std::size_t k = 0; k < q; ++k) mean[k] = all[k] / static_cast<double>(R);
  Estimate e;
  e.value = f(mean);
  std::vector<double> loo(R);
  double m = 0;
  for (std::size_t i = 0; i < R; ++i) {
    for (std::size_t k = 0; k < q; ++k) left[k] = (all[k] - per_run[i][k]) / static_cast<double>(R - 1);
    loo[i] = f(left);
    m += loo[i] / static_cast<double>(R);
  }
  double ss = 0;
  for (const double v : loo) ss += (v - m) * (v - m);
  e.se = std::sqrt(ss * static_cast<double>(R - 1) / static_cast<double>(R));
  return e;
}


// The CSV of macrodyn equilibrium: a recipe line, a header and one row per (L, T).
std::string equilibrium_recipe(const std::string& system, const EquilibriumSpec& spec);
std::string equilibrium_csv_header();
std::string equilibrium_csv_row(const EquilibriumRow& r);
// A row read back (the values as written: shortest round-trip text); false when it is not one.
bool parse_equilibrium_row(const std::string& line, EquilibriumRow& r);

// The whole command: every (L, T) of the lists, rows written to `out` (atomically after
// each row); rows already in `out` under the same recipe are kept, not recomputed (the
// command resumes); another recipe there is refused. Progress on stderr.
std::vector<EquilibriumRow> run_equilibrium(const std::string& system, const systems::SystemParams& params,
                                            const std::vector<int>& sides, const std::vector<double>& temperatures,
                                            const EquilibriumSpec& spec, const std::string& out);

}  // namespace macrodyn::jobs
