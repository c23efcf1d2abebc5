#pragma once
// macrodyn study conditions (docs/design.md §8.7.6): one SDE conditioned on a system key
// (the alloy's temperature T) learned from small simulations at several values of the key,
// judged against full-size ground truth at other values and sizes. For every target size
// (large.side) it generates the training data at each training value, simulates the truth at
// each test value, trains the conditioned models (the K-scaled one for each drift, the naive
// baseline and the small-system baseline of consecutive small-run frames) and evaluates each
// at each test value; then it tabulates mean and std of every observable (true and
// predicted), the relative error of the mean trajectory and MMD², beside the truth's
// whole-lattice observables (real bonds, wrapping over the whole grid) and the equilibrium
// of every observable against the key (small runs, truth, long model rollouts).
// Resumable stage by stage: every finished dataset, truth, model and evaluation is kept
// in the study directory and reused; recipe.txt refuses a rerun with other settings.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "jobs/config.hpp"

namespace macrodyn::jobs {

struct ConditionStudyOptions {
  std::string out;                           // study directory
  std::string key = "T";                     // the condition: a numeric system key
  std::vector<double> train_values, test_values;
  std::vector<int> sides;                    // target sizes (large.side), each its own K
  std::vector<std::string> drifts{"mlp"};    // drifts of the K-scaled model (mlp, onsager)
  bool baselines = true;                     // the naive and small-system models
  std::string baseline_drift = "mlp";        // their drift
  int epochs = 100, batch = 1024, patience = 5;
  double lr = 1e-3, eps = 1e-4;
  std::int64_t ensemble = 1;                 // predictions per truth run
  int equilibrium_steps = 2000;              // long rollouts from z = 0 at each training value
  std::int64_t equilibrium_ensemble = 20;
  std::uint64_t seed = 42;                   // SDE training seed
  std::string device = "auto";
  int threads = 0;
  bool cached_only = false;                  // tabulate the finished evaluations only
  std::string command_line;                  // recorded in the CSV header
};

// One model at one test value: late-time (t >= T/2) statistics per observable, physical.
struct ConditionStudyRow {
  int side = 0;
  std::int64_t K = 1;
  std::string model;  // kscaled-<drift>, naive, small
  double value = 0;   // the test value of the key
  std::vector<double> true_mean, true_std, pred_mean, pred_std;  // the model's macrostate (tile-wrapped phi)
  std::vector<double> real_mean, real_std;  // the truth over real bonds (whole-lattice observables)
  double rel_error = 0, mmd2 = 0, mmd2_late = 0;
};

// The configs of the study's stages: the base config with large.side = side, the key's
// value set, and the per-size and (for the truth) per-value settings of the command line.
using StudyConfigOf = std::function<Config(int side, double value, bool truth)>;

// Throws InputError before any work for impossible options.
void validate(const ConditionStudyOptions& o, const StudyConfigOf& config_of);

// Writes out/conditions.csv (one row per model and test value), out/equilibrium.csv,
// out/report.md (tables per size and value, the verdict of each model), band plots
// out/bands-L<side>-<key><value>.png (truth and models over physical time) and
// out/equilibrium-<observable>.png; returns the rows.
std::vector<ConditionStudyRow> condition_study(const ConditionStudyOptions& o, const StudyConfigOf& config_of,
                                               const std::function<std::string(const Config&)>& ini_of);

}  // namespace macrodyn::jobs
