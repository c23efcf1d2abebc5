#pragma once
// macrodyn study loss-factor (docs/design.md §8.6.5): does the K-scaled loss need the
// factor K? On the common pipeline, for any system: one dataset (generate), one ground
// truth (simulate), one closure autoencoder and one set of latent pairs (train) shared by
// every model; then for each loss factor λ and training seed a neural SDE trained with λ
// in place of K, a model directory that predict and evaluate take, scored by evaluate
// against the truth (MMD² between predicted and true ensembles in model coordinates, over
// time and the initial conditions). Resumable stage by stage: everything finished is kept
// in the study directory and reused; the directory's recipe.txt names what its stages were
// made with, and a run with another recipe is refused.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "jobs/config.hpp"

namespace macrodyn::jobs {

struct LossFactorOptions {
  std::string out;                                  // study directory
  std::vector<double> factors{1, 2.5, 5, 10, 20};   // λ
  std::vector<std::uint64_t> seeds{0, 1, 2};        // SDE training seeds (0: the reference's, §8.6.4)
  int ae_epochs = 10;
  double ae_weight_decay = -1;  // < 0: the closure network's preset (fields 1e-4)
  int epochs = 100;             // SDE epochs
  int batch = 1024;
  double lr = 0;                // 0 = the system's reference value
  double eps = 1e-5;
  std::string device = "auto";
  int threads = 0;              // torch threads (0 = all cores)
  bool cached_only = false;     // tabulate the finished models only
  std::string command_line;     // recorded in the CSV header
};

// One model: factor λ, training seed, and its evaluation.
struct LossFactorRow {
  double factor = 0;
  std::uint64_t seed = 0;
  double mmd2 = 0;       // mean over grid times and initial conditions (model coordinates)
  double mmd2_late = 0;  // the same over the second half of the horizon (EvaluationResult)
  double rel_error = 0;  // mean over conditions, all variables (model coordinates)
  std::vector<double> std_ratio;  // per judged observable: predicted / true std at t >= T/2
  double seconds = 0;    // SDE training + evaluation
};

// Per λ over the seeds: the median and range of mmd2 and mmd2_late.
struct LossFactorSummary {
  double factor = 0;
  int seeds = 0;
  double mmd2_median = 0, mmd2_min = 0, mmd2_max = 0;
  double late_median = 0, late_min = 0, late_max = 0;
};
std::vector<LossFactorSummary> summarise(const std::vector<LossFactorRow>& rows);

// Throws InputError before any work for an impossible config or options.
void validate(const Config& c, const LossFactorOptions& o);

// `ini_of` renders a Config as INI (apps/options), for the datasets and recipe.txt.
// Writes out/loss-factor.csv (one row per model), out/loss-factor-summary.csv (per λ),
// out/loss-factor.png (median MMD² against λ, the seeds' range as bars, λ = K marked),
// out/mmd-time.png (MMD²(t) per λ, first seed) and out/verdict.txt (where the minimum
// lies against K); returns the rows.
std::vector<LossFactorRow> loss_factor_study(const Config& c, const LossFactorOptions& o,
                                             const std::function<std::string(const Config&)>& ini_of);

}  // namespace macrodyn::jobs
