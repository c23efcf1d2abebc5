#pragma once
// macrodyn study patch-size (docs/design.md §8.3-§8.4): for one system config, patch side =
// small side p over a list (default 8, 16, 32, 64 of a 64 x 64 system), generate the
// pairs, train the K-scaled and the naive model on the same latents for each training
// seed, evaluate every model against one set of full-size truth runs, and tabulate each
// cell as the mean and spread over the seeds. The data and the autoencoder are shared by
// the seeds (the first seed's K-scaled model trains it), so a seed costs one SDE fit and
// one evaluation. Resumable cell by cell: every finished stage (truth, dataset,
// autoencoder, model, evaluation) is kept in the study directory and reused; seeds can be
// added to a finished study.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "jobs/config.hpp"

namespace macrodyn::jobs {

struct StudyOptions {
  std::string out;                   // study directory
  std::vector<int> patches{8, 16, 32, 64};
  std::int64_t pairs = 50000;        // training pairs per cell (snapshots = pairs / 2 plus as many random ones below L)
  std::int64_t ae_snapshots = 20000;  // autoencoder training snapshots
  int ae_epochs = 3;
  int epochs = 30;                   // SDE epochs
  double lr = 0;                     // 0 = the system's reference value (Ising 1e-3, Curie-Weiss 1e-2)
  std::string diffusion;             // "" = reference (Ising full, Curie-Weiss constant)
  int batch = 1024;
  std::vector<std::uint64_t> seeds{1, 2, 3};  // training seeds (simulation seeds come from the config)
  std::string device = "auto";
  int threads = 0;
  bool cached_only = false;          // tabulate the finished cells, compute nothing
  std::string command_line;          // recorded in the CSV header
};

struct StudyRow {
  int p = 0;
  std::int64_t K = 0;
  std::string method;
  std::uint64_t seed = 0;  // training seed
  double rel_error = 0, rel_error_m = 0;
  double eq_mean_m_true = 0, eq_mean_m_pred = 0, eq_std_m_true = 0, eq_std_m_pred = 0, mmd2 = 0;
  double seconds = 0;  // training + evaluation
};

// One cell over its seeds: mean, sample standard deviation (0 for one seed), min, max
// and median. The plots and the printed table show the median: one diverged seed (an
// error of 1e36) makes the mean say nothing about the others.
struct Spread {
  double mean = 0, sd = 0, min = 0, max = 0, median = 0;
};
Spread spread_of(const std::vector<double>& values);
struct StudySummaryRow {
  int p = 0;
  std::int64_t K = 0;
  std::string method;
  int seeds = 0;
  Spread rel_error, rel_error_m, std_ratio_m;
};
std::vector<StudySummaryRow> summarise(const std::vector<StudyRow>& rows);

// Throws InputError before any work when a cell's config is impossible.
void validate(const Config& base, const StudyOptions& o);

// `ini_of` renders a Config as the INI text stored in each dataset (apps/options).
// Writes out/patch-size.csv (one row per model), out/patch-size-summary.csv (per cell
// over the seeds), the plots patch-size.png (error) and std-ratio.png (std(m) ratio, the
// method's central claim) with the spread over seeds as error bars, and bands-p<p>.png
// (truth, K-scaled and naive of the first seed per initial m0, one y-range per m0 across
// the cells); returns the rows.
std::vector<StudyRow> patch_size_study(const Config& base, const StudyOptions& o,
                                       const std::function<std::string(const Config&)>& ini_of);

}  // namespace macrodyn::jobs
