#pragma once
// macrodyn study loss-factor (docs/design.md §8.6.5): for the predator-prey SPDE,
// train the neural SDE with loss factor λ in place of K on one set of latent pairs and
// score each model by the MMD² between predicted and true ensembles in the normalised
// latent space, averaged over time and the test conditions. Stages (small runs and
// pairs, closure autoencoder, latents, test ensembles, one model per λ) are kept in the
// study directory and reused when the command is run again; the directory's recipe.txt
// names what they were made with, and a run with another recipe is refused.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "jobs/config.hpp"

namespace macrodyn::jobs {

struct LossFactorOptions {
  std::string out;                                  // study directory
  std::vector<double> factors{1, 2.5, 5, 10, 20};   // λ
  int ae_epochs = 10;
  double ae_weight_decay = 1e-4;  // the reference's; see the README on closures that stay flat
  int epochs = 100;                                 // SDE epochs
  int batch = 1024;
  double lr = 1e-3;
  double eps = 1e-5;
  std::uint64_t seed = 0;                           // training seed (docs/design.md §8.6.4: 0)
  std::string device = "auto";
  int threads = 0;                                  // torch threads (0 = all cores)
  bool cached_only = false;                         // tabulate finished λ only
  std::string command_line;                         // recorded in the CSV header
};

struct LossFactorRow {
  double factor = 0;
  double mmd2 = 0;                  // mean over time and conditions
  // Mean over the second half of the horizon (t >= T/2) and the conditions: there the
  // ensembles fluctuate about the stationary state, so the noise amplitude (what the loss
  // factor scales) dominates the score rather than the transient's drift.
  double mmd2_late = 0;
  std::vector<double> per_condition;  // temporal mean per test condition
  double seconds = 0;               // training + rollouts + MMD
};

// Throws InputError before any work for an impossible config or options.
void validate(const Config& c, const LossFactorOptions& o);

// `ini_of` renders a Config as INI (apps/options), for the study's recipe.txt.
// Writes out/loss-factor.csv, out/loss-factor.png (mean MMD² against λ) and
// out/mmd-time.png (MMD²(t) per λ, averaged over the conditions); returns the rows.
std::vector<LossFactorRow> loss_factor_study(const Config& c, const LossFactorOptions& o,
                                             const std::function<std::string(const Config&)>& ini_of);

}  // namespace macrodyn::jobs
