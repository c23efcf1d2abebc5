#include "jobs/study_model.hpp"

#include <filesystem>

#include "jobs/study_recipe.hpp"

namespace macrodyn::jobs {

void train_study_model(TrainOptions t, SharedLatents& shared, const std::string& what) {
  namespace fs = std::filesystem;
  if (t.out != shared.first && t.closure_dim > 0) t.encoder_from = shared.first;
  if (stage_done(t.out + "/model.json")) return;
  if (!shared.latents) {
    study_say(what + ": autoencoder and latents");
    shared.latents = std::make_unique<PreparedLatents>(prepare_latents(t));
  } else if (t.closure_dim > 0) {
    fs::create_directories(t.out);
    for (const char* file : {"encoder.pt", "autoencoder.bin"})
      fs::copy_file(shared.first + "/" + file, t.out + "/" + file, fs::copy_options::overwrite_existing);
  }
  study_say(what + ": SDE");
  fit_sde(t, *shared.latents);
}

EvaluateOptions study_evaluation(const std::string& dir, const std::string& truth, std::uint64_t seed,
                                 const std::string& device, int threads, bool interpolate, TruthCache& cache) {
  EvaluateOptions e;
  e.model_dir = dir;
  e.truth_path = truth;
  e.output_dir = dir + "/eval";
  e.seed = seed;
  e.device = device;
  e.threads = threads;
  e.interpolate = interpolate;
  e.truth_cache = &cache;
  return e;
}

}  // namespace macrodyn::jobs
