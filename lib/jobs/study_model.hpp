#pragma once
// One model of a study cell (study patch-size, study loss-factor): the cell's models share
// one autoencoder and one set of latent pairs, so that they differ only in what the study
// varies (method, loss factor, training seed).
#include <memory>
#include <string>

#include "jobs/evaluate.hpp"
#include "jobs/train.hpp"

namespace macrodyn::jobs {

struct SharedLatents {
  std::string first;                         // the model directory that trains the autoencoder
  std::unique_ptr<PreparedLatents> latents;  // prepared by the first model trained in this process
};

// Trains the model t.out unless its model.json exists (a finished model is kept). A model
// other than `shared.first` reuses the first's autoencoder (t.encoder_from) when there is a
// closure. The latents are prepared once per process (from t.latent_cache when kept) and
// every later model copies the first's encoder files and fits its SDE on them.
// `what` names the model in the progress lines.
void train_study_model(TrainOptions t, SharedLatents& shared, const std::string& what);

// The evaluation of model `dir` against `truth` into dir/eval, sharing `cache` between the
// models of a cell.
EvaluateOptions study_evaluation(const std::string& dir, const std::string& truth, std::uint64_t seed,
                                 const std::string& device, int threads, bool interpolate, TruthCache& cache);

}  // namespace macrodyn::jobs
