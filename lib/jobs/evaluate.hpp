#pragma once
// macrodyn evaluate (docs/design.md §1.10, §8.3.5 and §8.4.5): ensembles of a
// trained model predicted from the true initial macrostates (truth.hpp), against the
// truth, per initial magnetisation m0: metrics.csv and band plots. The coordinates each
// metric is computed in are described in truth.hpp.
//
// No torch header here (docs/design.md §2.3): the model is reached through learn/exported.hpp.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "jobs/model_info.hpp"
#include "jobs/truth.hpp"
#include "macro/rollout.hpp"

namespace macrodyn::jobs {

struct EvaluateOptions {
  std::string model_dir;
  std::string truth_path;
  std::string output_dir;
  // Predicted trajectories per truth run (each from that run's true initial z): the
  // reference's protocol is 1 (20 rollouts from the 20 true initial latents).
  std::int64_t ensemble = 1;
  // Euler–Maruyama steps per truth frame interval Delta (the rollout samples every
  // substeps-th point); 0 = the fewest with Delta / substeps <= the model's training step
  // (model.json pair_dt), for a truth whose frames are far apart.
  int substeps = 1;
  std::uint64_t seed = 1;
  std::string device = "auto";  // "auto", "cpu" or "cuda"
  int threads = 0;              // 0 = all cores (recomputing z* of the truth, MMD)
  bool plots = true;            // bands_m0_<m0>.png per m0 (needs gnuplot)
  // true: the truth is resampled at t_k = k * Delta by linear interpolation in each run's
  // own cumulative time (docs/design.md §8.4.5; extrapolated past its end). false: frame k is
  // taken as time k * Delta (docs/design.md §8.3.5, Curie–Weiss: "no interpolation").
  bool interpolate = true;
  // MMD^2 is averaged over every mmd_stride-th grid time (k = 0, s, 2s, ...); 0 = the
  // smallest stride that keeps the kernel evaluations of one m0 group below 2e8 (1 for the
  // reference's 20 + 20 samples x 500 times).
  std::int64_t mmd_stride = 0;
  // Optional: truth macrostates shared between models with the same tiling, encoder and
  // normalisation (the study's K-scaled and naive models): filled on first use, reused
  // while `truth_cache_key` is unchanged. Encoding the truth's closure dominates the cost.
  struct TruthCache* truth_cache = nullptr;
  bool progress = false;                                  // progress lines on stderr
  std::function<void(const std::string&)> log;            // one line per stage, optional
};

// The metrics of one group of truth runs that share their initial condition (or their
// mean over the groups: no condition, runs = total).
struct GroupMetrics {
  std::vector<double> initial;         // the values of EvaluationResult::initial_columns; empty for the mean
  std::int64_t runs = 0;               // truth runs in the group
  double rel_error = 0;                // sum_{k,i} (mu_pred - mu_true)^2 / sum_{k,i} mu_true^2, model coordinates
  std::vector<double> rel_error_per_dim;
  std::vector<double> eq_mean_true, eq_mean_pred, eq_std_true, eq_std_pred;  // physical, times t >= T/2
  double mmd2 = 0;                     // model coordinates, averaged over the grid times used
  // The same over the grid times of the second half (t_k >= t_(T-1) / 2): where the
  // ensembles fluctuate about a stationary state, the noise amplitude (what a loss
  // factor scales) dominates it rather than the transient's drift.
  double mmd2_late = 0;
  // Ensemble mean and std over time [T, d] in physical coordinates (empty for the mean row).
  std::vector<double> mean_true, std_true, mean_pred, std_pred;
};

// An initial condition as text: its values joined by ':' ("0.5", "0.45:0.05": the rows of
// metrics.csv and bands.csv, the syntax of truth.m0); as a label ("m0 = 0.5",
// "m = 0.45, k = 0.05"); as a file-name tag ("m0_0.5", "m_0.45_k_0.05").
std::string condition_values(const std::vector<double>& values);
std::string condition_label(const std::vector<std::string>& columns, const std::vector<double>& values);
std::string condition_tag(const std::vector<std::string>& columns, const std::vector<double>& values);

struct EvaluationResult {
  std::vector<std::string> variables;
  double delta = 0;           // grid step, model time units
  double time_unit = 1;       // physical time per model time unit
  std::vector<double> times;  // grid t_k = k * delta, model units
  std::int64_t mmd_stride = 1;
  std::vector<std::int64_t> mmd_times;  // the grid indices k of the MMD^2 (k = 0, s, 2s, ...)
  std::vector<double> mmd2_time;        // MMD^2 at each of them, averaged over the groups
  bool from_states = false;
  std::vector<std::string> initial_columns;  // the system's initial-condition names (m0 for spins)
  std::vector<GroupMetrics> groups;  // ascending initial condition (lexicographic)
  GroupMetrics mean;                 // averaged over the groups (the study's score: mean.rel_error)
  // Suspect predictions: per variable the fraction of predicted points outside the
  // system's physical range (System::observable_ranges; 0 for the closure variables),
  // and the number of non-finite predicted values.
  std::vector<double> out_of_range;
  std::int64_t non_finite = 0;
  std::string metrics_csv;
  std::vector<std::string> plots;
  double seconds = 0;
};

// Everything that can be checked before the expensive work: the options' values, the
// model directory (model.json and the TorchScript files), the truth file against the
// model (check_truth_for_model), the output directory (created). Returns model.json.
ModelInfo check_evaluate_options(const EvaluateOptions& o);

// check_evaluate_options, load the exported model, truth_macrostates, evaluate_truth.
EvaluationResult evaluate_model(const EvaluateOptions& o);

// The protocol on given truth macrostates and a given SDE (model coordinates); writes
// metrics.csv (and the plots) into o.output_dir, which must exist.
//  * groups: truth runs with the same /trajectories/m0 value (exact equality);
//  * grid: Delta = mean of the truth durations over frames >= 1, / time_unit;
//    t_k = k Delta, k = 0 .. frames - 1;
//  * prediction: Euler–Maruyama from each run's frame-0 z (o.ensemble times), dt = Delta,
//    frames - 1 steps; trajectory j = run * ensemble + e uses noise stream j of o.seed;
//  * metrics: macro::relative_error(_per_dim) of the ensemble means, macro::
//    equilibrium_stats of both ensembles, macro::mmd2 between the ensembles at the grid
//    times; the mean row averages each column over the groups.
EvaluationResult evaluate_truth(const ModelInfo& info, const TruthMacrostates& truth, const macro::SdeFunctions& sde,
                                const EvaluateOptions& o);

}  // namespace macrodyn::jobs
