#include "jobs/replay.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "core/error.hpp"
#include "io/dataset.hpp"
#include "jobs/latent.hpp"
#include "learn/sde_online.hpp"

namespace macrodyn::jobs {

namespace fs = std::filesystem;

ModelInfo replay_schedule(const ReplayOptions& o) {
  if (o.dataset.empty()) throw InputError("--dataset (the run's stream.save) is required with --schedule");
  if (!fs::exists(o.dataset)) throw InputError("--dataset " + o.dataset + " does not exist");
  if (!fs::exists(o.schedule)) throw InputError("--schedule " + o.schedule + " does not exist");
  if (o.out.empty()) throw InputError("--out (the model directory) is required");
  if (fs::exists(o.out + "/model.json") && !o.overwrite)
    throw InputError("--out " + o.out + " already holds a model; pass --overwrite to replace it");
  const fs::path online = fs::path(o.schedule).parent_path();
  ModelInfo info = read_model_info(online.empty() ? "." : online.string());

  io::DatasetReader sched(o.schedule);
  sched.require("/schedule/pair_ids");
  const auto steps = static_cast<std::int64_t>(sched.rows_committed("/schedule"));
  const auto width = static_cast<std::int64_t>(sched.shape("/schedule/pair_ids").at(1));
  const auto learners = sched.attr_int("/schedule", "learners");
  if (!sched.has_attr("/schedule", "time_unit"))
    throw FileError(o.schedule + " has no normalisation attributes: its run never took an SDE step");
  learn::OnlineSdeOptions so;
  so.diffusion = learn::parse_diffusion(sched.attr_string("/schedule", "diffusion"));
  so.loss_factor = sched.attr_double("/schedule", "loss_factor");
  so.eps = sched.attr_double("/schedule", "eps");
  so.lr = sched.attr_double("/schedule", "lr");
  so.patience = static_cast<int>(sched.attr_int("/schedule", "patience"));
  so.steps_per_epoch = sched.attr_int("/schedule", "steps_per_epoch");
  so.seed = static_cast<std::uint64_t>(sched.attr_int("/schedule", "seed"));
  so.device = sched.attr_string("/schedule", "device");
  const bool kscaled = sched.attr_string("/schedule", "method") == "kscaled";
  const double time_unit = sched.attr_double("/schedule", "time_unit");

  const LatentSet set = read_latent(o.dataset);
  const int d = set.dim();
  if (d != info.dim())
    throw FileError(o.dataset + " has latent dimension " + std::to_string(d) + ", the model in " + online.string() +
                    " " + std::to_string(info.dim()));
  std::vector<double> offset(static_cast<std::size_t>(d)), scale(static_cast<std::size_t>(d));
  for (int k = 0; k < d; ++k) {
    offset[static_cast<std::size_t>(k)] = sched.attr_double("/schedule", "offset_" + std::to_string(k));
    scale[static_cast<std::size_t>(k)] = sched.attr_double("/schedule", "scale_" + std::to_string(k));
  }
  // The online learner's torch thread count unless told otherwise: bits depend on it.
  learn::set_torch_threads(o.threads > 0 ? o.threads : static_cast<int>(sched.attr_int("/schedule", "threads")));
  if (o.progress)
    std::printf("train: replaying %lld steps of %lld pairs (%lld learner(s)) from %s on %s\n",
                static_cast<long long>(steps), static_cast<long long>(width), static_cast<long long>(learners),
                o.schedule.c_str(), o.dataset.c_str());

  learn::OnlineSdeTrainer trainer(d, so);
  const auto& target = kscaled ? set.z1 : set.z1_naive;
  std::vector<std::int64_t> ids(static_cast<std::size_t>(width));
  learn::LatentPairs batch;
  batch.dim = d;
  const auto start = std::chrono::steady_clock::now();
  double loss = 0;
  fs::create_directories(o.out);
  // The same columns as the online metrics.csv (the stream columns are not known here).
  const std::string metrics_path = o.out + "/metrics.csv";
  std::FILE* metrics = std::fopen(metrics_path.c_str(), "w");
  if (!metrics) throw FileError("cannot write " + metrics_path);
  std::fprintf(metrics, "step,loss,lr\n");
  for (std::int64_t s = 0; s < steps; ++s) {
    sched.read_rows("/schedule/pair_ids", static_cast<std::uint64_t>(s), 1, io::DType::i64, ids.data());
    batch.z0.resize(static_cast<std::size_t>(width * d));
    batch.z1.resize(batch.z0.size());
    batch.dt.resize(static_cast<std::size_t>(width));
    for (std::int64_t i = 0; i < width; ++i) {
      const std::int64_t id = ids[static_cast<std::size_t>(i)];
      if (id < 0 || id >= set.size())
        throw FileError(o.schedule + " step " + std::to_string(s) + " uses pair " + std::to_string(id) + ", but " +
                        o.dataset + " has " + std::to_string(set.size()) + " committed rows");
      batch.dt[static_cast<std::size_t>(i)] = set.dt[static_cast<std::size_t>(id)] / time_unit;
      for (int j = 0; j < d; ++j) {
        const auto at = static_cast<std::size_t>(i * d + j), src = static_cast<std::size_t>(id * d + j);
        // The online learner's expression (mpi/run/learner.cpp), hence the same floats.
        batch.z0[at] = static_cast<float>((set.z0[src] - offset[static_cast<std::size_t>(j)]) / scale[static_cast<std::size_t>(j)]);
        batch.z1[at] = static_cast<float>((target[src] - offset[static_cast<std::size_t>(j)]) / scale[static_cast<std::size_t>(j)]);
      }
    }
    const auto r = trainer.step(batch);
    loss = r.loss;
    std::fprintf(metrics, "%lld,%.9g,%.6g\n", static_cast<long long>(r.step), r.loss, r.lr);
  }
  std::fclose(metrics);
  trainer.model().export_torchscript(o.out);
  if (!info.encoder.empty()) fs::copy_file(online / info.encoder, fs::path(o.out) / info.encoder, fs::copy_options::overwrite_existing);
  info.final_train_loss = loss;
  info.dataset = fs::absolute(o.dataset).string();
  write_model_info(o.out, info);
  if (o.progress)
    std::printf("train: replay done in %.2f s, last loss %.6f, model in %s\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), loss, o.out.c_str());
  return info;
}

}  // namespace macrodyn::jobs
