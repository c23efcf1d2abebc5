#pragma once
// macrodyn train: dataset -> closure autoencoder (when the dataset has snapshots and a
// closure is asked for) -> latent pairs -> neural SDE -> model directory (TorchScript
// encoder, drift, diffusion and model.json). Resumable: the autoencoder is kept once
// trained and the SDE checkpoints after every epoch.
#include <cstdint>
#include <string>
#include <vector>

#include "jobs/latent.hpp"
#include "jobs/model_info.hpp"

namespace macrodyn::jobs {

struct TrainOptions {
  std::string dataset;
  // A conditioned SDE (docs/design.md §5.6.1): `condition` names a system key (e.g. T) that
  // becomes an input of drift and diffusion; the pairs of `dataset` and of every further
  // dataset (same system, tiling and other keys, one value of the key each) train it at once.
  std::vector<std::string> more_datasets;
  std::string condition;
  std::string drift = "mlp";    // mlp or onsager (the stochastic OnsagerNet)
  std::string out;              // model directory
  std::string method = "kscaled";  // kscaled (loss factor K) or naive (factor 1, naive target)
  double loss_factor = 0;       // > 0 overrides the factor (e.g. a loss-factor study)
  // --loss-factor measured: the factor c* of macrodyn calibrate's table (jobs/calibrate.hpp)
  // at the training horizon and the dataset's boundary and K.
  bool loss_factor_measured = false;
  std::string calibration;
  // Which measured factor: "c_star", or "c_stationary" (c* corrected by the patch's drift
  // ratio, --loss-factor stationary).
  std::string measured_factor = "c_star";
  std::string diffusion = "full";
  double eps = 1e-4;
  double lr = 1e-3;
  int epochs = 100;
  int batch = 1024;
  int patience = 5;
  double val_fraction = 0.05;   // the last pairs, held out and only logged
  std::int64_t max_pairs = 0;   // 0 = all committed pairs
  std::string time_unit = "auto";  // auto, physical, mean_dt
  // Closure autoencoder.
  int closure_dim = 2;          // 0 = no closure (z = z*)
  std::string decoder = "auto";  // auto (global for L <= 128), global, patch
  int ae_epochs = 10;
  int ae_batch = 0;             // 0 = the closure network's preset (spins 512, fields 256)
  double ae_lr = 0;             // 0 = the closure network's preset (spins 2e-4, fields 1e-4)
  double ae_weight_decay = -1;  // fields' L2 (Adam); < 0 = the preset 1e-4; spins have none
  std::int64_t max_snapshots = 200000;  // autoencoder training snapshots, spread evenly
  std::string encoder_from;     // reuse the autoencoder of this model directory
  std::string latent_cache;     // /latent file: read if it exists, else written after encoding
  // Run.
  std::uint64_t seed = 42;
  std::string device = "auto";
  int threads = 0;              // torch threads, 0 = all cores
  bool resume = false;
  bool overwrite = false;
  bool progress = true;
};

// Throws InputError (one sentence naming the option) before any work.
void validate(const TrainOptions& o);

// The whole of `macrodyn train`: prepare_latents, then fit_sde.
ModelInfo train(const TrainOptions& o);

// Steps 1-2: the autoencoder (trained, or reused from --encoder-from or on --resume; saved
// as autoencoder.bin and exported as encoder.pt in o.out) and the latent pairs of the
// dataset. Validates o first.
struct PreparedLatents {
  ModelInfo info;  // system, tiling, variables, closure and provenance filled in
  LatentSet set;
  // With conditions: each pair's value of the condition, and how many of the last pairs
  // are held out (the last --val-fraction of every dataset, gathered at the end).
  std::vector<double> cond;
  std::int64_t held_out = -1;  // -1: floor(val_fraction x pairs)
};
PreparedLatents prepare_latents(const TrainOptions& o);

// Steps 3-5: split, normalisation and time unit from the training part, the SDE with the
// method's target and loss factor, export of drift.pt, diffusion.pt and model.json to
// o.out (which must hold the encoder the latents were made with, if any).
ModelInfo fit_sde(const TrainOptions& o, const PreparedLatents& prepared);

}  // namespace macrodyn::jobs
