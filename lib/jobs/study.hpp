#pragma once
// macrodyn study patch-size (method-notes §2-§3): for one system config, patch side =
// small side p over a list (default 8, 16, 32, 64 of a 64 x 64 system), generate the
// pairs, train the K-scaled and the naive model on the same latents, evaluate both
// against one set of full-size truth runs, and tabulate. Resumable cell by cell: every
// finished stage (truth, dataset, autoencoder, model, evaluation) is kept in the study
// directory and reused.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "jobs/config.hpp"

namespace macrodyn {

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
  std::uint64_t seed = 42;           // training seed (simulation seeds come from the config)
  std::string device = "auto";
  int threads = 0;
  bool cached_only = false;          // tabulate the finished cells, compute nothing
  std::string command_line;          // recorded in the CSV header
};

struct StudyRow {
  int p = 0;
  std::int64_t K = 0;
  std::string method;
  double rel_error = 0, rel_error_m = 0;
  double eq_mean_m_true = 0, eq_mean_m_pred = 0, eq_std_m_true = 0, eq_std_m_pred = 0, mmd2 = 0;
  double seconds = 0;  // training + evaluation
};

// Throws InputError before any work when a cell's config is impossible.
void validate(const Config& base, const StudyOptions& o);

// `ini_of` renders a Config as the INI text stored in each dataset (apps/options).
// Writes out/patch-size.csv and out/patch-size.png; returns the rows.
std::vector<StudyRow> patch_size_study(const Config& base, const StudyOptions& o,
                                       const std::function<std::string(const Config&)>& ini_of);

}  // namespace macrodyn
