#pragma once
// macrodyn study fss (docs/design.md §8.5.9): finite-size scaling from patch simulations.
// Per cell (side L, temperature T): the ground truth (the system's equilibrium sampler,
// jobs/equilibrium.hpp, with the histogram of |m|), a dataset (generate at L, T), the loss
// factor measured on it (calibrate) and, for every way of setting the factor (K, measured,
// the authors' tuned table) and training seed, a neural SDE and its long rollouts from the
// dataset's own states, whose stationary law gives <|m|>, chi' and U (fss_analysis.hpp).
// Then, beside the truth's from the same fit on the same sides: the log-log exponents of
// <|m|> and chi' at one temperature, the exponent of dU/dT at T_c (U(T) fitted per side),
// Binder crossings, collapses and histograms, and a verdict per factor setting (each
// exponent within 2 combined standard errors of the truth's).
// Resumable stage by stage (truth, data, calibration, model, rollout), seed by seed over
// all cells (a capped run has every cell at the first seeds), under recipe.txt.
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "jobs/config.hpp"

namespace macrodyn::jobs {

struct FssOptions {
  std::string out;
  std::vector<int> sides{16, 32, 48, 64};
  std::vector<double> temperatures{2.25, 2.26, 2.27, 2.28, 2.29};
  std::vector<std::pair<int, double>> extra_cells{{128, 2.27}};  // beside the grid (method notes §4)
  double slope_temperature = 2.27;  // where the exponents of <|m|> and chi' are fitted
  std::vector<std::string> factors{"K", "measured", "stationary", "tuned"};
  std::vector<std::uint64_t> seeds{0, 1, 2};
  int ae_epochs = 3;
  int epochs = 100;
  int batch = 1024;
  double lr = 0;       // 0 = the system's reference value
  double eps = 1e-4;
  std::int64_t calibrate_snapshots = 1024;  // the drift ratio needs many (c_stationary)
  int calibrate_replicas = 16;
  int truth_runs = 16;
  std::int64_t truth_sweeps = 4000;
  std::int64_t truth_thermalise = 400;
  int starts = 80;     // rollout starts: dataset states spread over its pairs
  int copies = 2;      // trajectories per start
  int steps = 32000;   // Euler-Maruyama steps of the training pairs' mean dt
  double burn = 0.5;   // fraction of each trajectory dropped
  int bins = 40;       // |m| histogram
  int binder_degree = 2;  // U(T) polynomial (fewer when fewer temperatures)
  double max_hours = 0;   // > 0: start no new stage after this many hours (rerun to go on)
  std::string device = "auto";
  int threads = 0;
  bool cached_only = false;
  std::string command_line;
};

// The authors' hand-tuned loss factor at (L, T) (issue 16; method notes §4): 0 when the
// table has no such cell.
double tuned_loss_factor(int L, double T);

// InputError naming the option before any work.
void validate(const Config& base, const FssOptions& o);

// Writes out/fss-models.csv, fss-cells.csv, exponents.csv, binder-crossings.csv,
// verdict.txt, warnings.txt and the plots (abs-m.png, chi.png, and per factor setting
// binder-, collapse- and histograms-<setting>.png). Returns the verdict lines.
std::vector<std::string> fss_study(const Config& base, const FssOptions& o,
                                   const std::function<std::string(const Config&)>& ini_of);

}  // namespace macrodyn::jobs
