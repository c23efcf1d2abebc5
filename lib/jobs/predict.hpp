#pragma once
// macrodyn predict (docs/design.md §1.10): ensembles of a trained model's SDE from given
// macrostates, in physical coordinates (converted to and from the model's coordinates,
// see truth.hpp) -> CSV (+ PNG).
//
// No torch header here (docs/design.md §2.3): the model is reached through learn/exported.hpp.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "jobs/model_info.hpp"
#include "macro/rollout.hpp"

namespace macrodyn::jobs {

struct PredictOptions {
  std::string model_dir;
  std::vector<std::vector<double>> z0;  // initial macrostates (d_z numbers each), physical coordinates
  int steps = 0;                // Euler–Maruyama steps (steps + 1 points)
  double dt = 0.0;              // model time units; 0: the training pairs' mean delta t (step_of)
  std::int64_t ensemble = 1;    // trajectories per initial state
  double condition = std::numeric_limits<double>::quiet_NaN();  // a conditioned model's value (e.g. T)
  std::uint64_t seed = 1;
  std::string device = "auto";
  std::string output_csv;       // state, t, t_physical, <var>_mean, <var>_std ... (required)
  std::string trajectories_csv; // state, member, t, t_physical, <var> ... (optional)
  std::string png;              // bands per initial state (optional, needs gnuplot)
  bool progress = false;        // rate and ETA of the rollout on stderr
};

struct PredictionResult {
  std::vector<std::string> variables;
  std::int64_t states = 0, ensemble = 0;
  std::vector<double> times;         // [steps + 1], model units
  std::vector<double> trajectories;  // [states * ensemble, steps + 1, d], physical; member e of state s at s * ensemble + e
  std::vector<double> mean, stddev;  // [states, steps + 1, d], physical
};

// The step a prediction takes in model time units: o.dt, or when it is 0 the mean delta t
// of the model's training pairs (1 for a model in mean-delta-t units; 1 for a model.json
// that does not record it).
double step_of(const PredictOptions& o, const ModelInfo& info);

// Checks the options and the model directory; returns model.json.
ModelInfo check_predict_options(const PredictOptions& o);
// check_predict_options, load the exported SDE, predict_with.
PredictionResult predict(const PredictOptions& o);
// Rolls out in model coordinates (trajectory j = s * ensemble + e on noise stream j of
// o.seed), converts back and writes the files asked for.
PredictionResult predict_with(const ModelInfo& info, const macro::SdeFunctions& sde, const PredictOptions& o);

}  // namespace macrodyn::jobs
