#pragma once
// Using a trained model directory (DESIGN §1.7; method-notes §2 and §3 "Evaluation"):
//
//  * truth_macrostates: z = (z*, phi_hat) of every ground-truth frame of a /trajectories
//    group, on the model's own patch tiling, in model coordinates;
//  * evaluate_model: predicted ensembles from the true initial macrostates against the
//    truth, per initial magnetisation m0: metrics.csv and band plots;
//  * predict: ensembles from given macrostates (physical coordinates) -> CSV (+ PNG).
//
// Coordinates. The SDE lives in model coordinates z_model = (z - offset) / scale and
// t_model = t_physical / time_unit (model.json). Relative errors and MMD^2 are computed in
// model coordinates (as the reference does for the normalised latents); equilibrium
// statistics, plots and predict's CSV are in physical coordinates (the scale of the
// observables, so that <m> can be compared with the [sim] numbers).
//
// No torch header here (DESIGN §2): the model is reached through learn/exported.hpp.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "jobs/model_info.hpp"
#include "macro/rollout.hpp"

namespace macrodyn {

namespace learn {
class ExportedEncoder;
}

// [n, d] row-major, in place: physical -> model coordinates and back.
void to_model_coordinates(const ModelInfo& info, std::vector<double>& z);
void to_physical_coordinates(const ModelInfo& info, std::vector<double>& z);

// Ground truth in a model's coordinates.
struct TruthMacrostates {
  std::int64_t runs = 0, frames = 0;
  int dim = 0;                     // d_z of the model
  std::vector<double> z;           // [runs, frames, d_z], model coordinates
  std::vector<double> durations;   // [runs, frames], physical (durations[., 0] = 0)
  std::vector<double> m0;          // [runs], as stored in /trajectories/m0
  bool from_states = false;        // recomputed from /trajectories/states, else the stored observables
};

// The checks a truth file must pass for a model, cheap (attributes only): it opens, has
// /trajectories with committed runs, the same system, L and observable names as the model,
// and the states when they are needed (see truth_macrostates). Throws InputError for a
// mismatch between the two inputs (naming both files) and FileError for an unusable file.
void check_truth_for_model(const ModelInfo& info, const std::string& model_dir, const std::string& truth_path);

// For every committed truth run and frame, z = (z*, phi_hat) on the model's tiling (patch
// p, K = (L/p)^D, row-major patch I = a*(L/p) + b):
//  * z* = macro_observables(system, x, L, p, periodic), the mean over the K patches of g
//    computed on each patch as a torus (DESIGN §1.4: the same phi as the training pairs);
//  * phi_hat = the mean over the K patches of the encoder's codes;
// then normalised with the model's offset / scale. The states are read and encoded in
// blocks of consecutive frames (64 MB of states, across run boundaries), never all at once.
//
// The states are used whenever the file has them. Without them (simulate stores them only
// with a closure), the stored /trajectories/observables (whole-lattice values) are used
// when they equal that definition on every tiling: no closure, and K = 1 or every
// prescribed observable is the magnetisation m (a site average: Curie–Weiss); otherwise
// FileError naming the truth file. `encoder` must be given iff the model has a closure. z* is
// computed on `threads` threads (0 = all cores); the result does not depend on it.
TruthMacrostates truth_macrostates(const ModelInfo& info, const std::string& model_dir, const std::string& truth_path,
                                   const learn::ExportedEncoder* encoder, int threads = 1, bool progress = false);

struct TruthCache {
  std::string key;  // model patch, normalisation and encoder file the macrostates were made with
  TruthMacrostates truth;
};

struct EvaluateOptions {
  std::string model_dir;
  std::string truth_path;
  std::string output_dir;
  // Predicted trajectories per truth run (each from that run's true initial z): the
  // reference's protocol is 1 (20 rollouts from the 20 true initial latents).
  std::int64_t ensemble = 1;
  std::uint64_t seed = 1;
  std::string device = "auto";  // "auto", "cpu" or "cuda"
  int threads = 0;              // 0 = all cores (recomputing z* of the truth, MMD)
  bool plots = true;            // bands_m0_<m0>.png per m0 (needs gnuplot)
  // true: the truth is resampled at t_k = k * Delta by linear interpolation in each run's
  // own cumulative time (method-notes §3; extrapolated past its end). false: frame k is
  // taken as time k * Delta (method-notes §2, Curie–Weiss: "no interpolation").
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

// The metrics of one m0 group (or their mean over the groups: m0 = NaN, runs = total).
struct GroupMetrics {
  double m0 = 0;
  std::int64_t runs = 0;               // truth runs in the group
  double rel_error = 0;                // sum_{k,i} (mu_pred - mu_true)^2 / sum_{k,i} mu_true^2, model coordinates
  std::vector<double> rel_error_per_dim;
  std::vector<double> eq_mean_true, eq_mean_pred, eq_std_true, eq_std_pred;  // physical, times t >= T/2
  double mmd2 = 0;                     // model coordinates, averaged over the grid times used
  // Ensemble mean and std over time [T, d] in physical coordinates (empty for the mean row).
  std::vector<double> mean_true, std_true, mean_pred, std_pred;
};

struct EvaluationResult {
  std::vector<std::string> variables;
  double delta = 0;           // grid step, model time units
  double time_unit = 1;       // physical time per model time unit
  std::vector<double> times;  // grid t_k = k * delta, model units
  std::int64_t mmd_stride = 1;
  bool from_states = false;
  std::vector<GroupMetrics> groups;  // ascending m0
  GroupMetrics mean;                 // averaged over the groups (the study's score: mean.rel_error)
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

struct PredictOptions {
  std::string model_dir;
  std::vector<std::vector<double>> z0;  // initial macrostates (d_z numbers each), physical coordinates
  int steps = 0;                // Euler–Maruyama steps (steps + 1 points)
  double dt = 1.0;              // model time units
  std::int64_t ensemble = 1;    // trajectories per initial state
  std::uint64_t seed = 1;
  std::string device = "auto";
  std::string output_csv;       // state, t, t_physical, <var>_mean, <var>_std ... (required)
  std::string trajectories_csv; // state, member, t, t_physical, <var> ... (optional)
  std::string png;              // bands per initial state (optional, needs gnuplot)
};

struct PredictionResult {
  std::vector<std::string> variables;
  std::int64_t states = 0, ensemble = 0;
  std::vector<double> times;         // [steps + 1], model units
  std::vector<double> trajectories;  // [states * ensemble, steps + 1, d], physical; member e of state s at s * ensemble + e
  std::vector<double> mean, stddev;  // [states, steps + 1, d], physical
};

// Checks the options and the model directory; returns model.json.
ModelInfo check_predict_options(const PredictOptions& o);
// check_predict_options, load the exported SDE, predict_with.
PredictionResult predict(const PredictOptions& o);
// Rolls out in model coordinates (trajectory j = s * ensemble + e on noise stream j of
// o.seed), converts back and writes the files asked for.
PredictionResult predict_with(const ModelInfo& info, const macro::SdeFunctions& sde, const PredictOptions& o);

}  // namespace macrodyn
