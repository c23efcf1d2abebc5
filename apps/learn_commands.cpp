// macrodyn train and encode: parse, validate, call lib/jobs.
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "core/error.hpp"
#include "core/output_guard.hpp"
#include "io/dataset.hpp"
#include "jobs/latent.hpp"
#include "jobs/model_info.hpp"
#include "jobs/report.hpp"
#include "options.hpp"
#include "parse_args.hpp"

#include "jobs/replay.hpp"
#include "jobs/train.hpp"
#include "learn/exported.hpp"

using namespace macrodyn::jobs;

namespace macrodyn::app {

namespace po = boost::program_options;

int cmd_train(int argc, char** argv) {
  TrainOptions o;
  std::string loss_factor = "auto";
  std::string schedule;
  std::vector<std::string> datasets;
  po::options_description io("Input and output");
  io.add_options()("help", "print this help")("dataset", po::value(&datasets)->composing(),
                                               "the HDF5 dataset (from generate); given several times with "
                                               "--condition, datasets at several values of that system key")(
      "out", po::value(&o.out), "the model directory to write")(
      "resume", po::bool_switch(&o.resume), "continue an interrupted training in --out (same bits as uninterrupted)")(
      "overwrite", po::bool_switch(&o.overwrite), "replace a model already in --out")(
      "schedule", po::value(&schedule),
      "replay a `macrodyn run` learner: its learn.out/schedule.h5 on --dataset = its stream.save (the same steps on "
      "the same pairs; every SDE setting comes from the schedule, other SDE options are ignored)")(
      "progress", value_with_default(&o.progress), "progress lines (per epoch, with rates) on stderr");
  po::options_description sde("Neural SDE");
  sde.add_options()("method", value_with_default(&o.method),
                    "kscaled (target z0 + patch change, loss factor K), naive (target g(x_{t+dt,I}), factor 1) or small "
                    "(the small-system baseline: consecutive frames of the small runs, factor 1, no closure)")(
      "loss-factor", po::value(&loss_factor)->default_value("auto"),
      "the loss factor c: auto (the method's own: K or 1), K, measured (c* of --calibration), stationary "
      "(c_stationary of --calibration: c* corrected by the patch's drift ratio, docs/design.md §8.5.9) or a number")(
      "calibration", po::value(&o.calibration),
      "macrodyn calibrate's calibrate.csv, for --loss-factor measured or stationary (its row at horizon 1, the dataset's boundary and K)")(
      "diffusion", value_with_default(&o.diffusion), "full, diagonal or constant")(
      "eps", value_with_default(&o.eps), "epsilon added to the covariance in the loss")(
      "lr", value_with_default(&o.lr), "AdamW learning rate")(
      "epochs", value_with_default(&o.epochs), "SDE epochs")(
      "batch", value_with_default(&o.batch), "pairs per step")(
      "patience", value_with_default(&o.patience), "ReduceLROnPlateau patience (epochs)")(
      "val-fraction", value_with_default(&o.val_fraction),
      "fraction of pairs held out (the last ones) for the logged validation loss")(
      "max-pairs", value_with_default(&o.max_pairs), "use at most this many pairs (0 = all, per dataset)")(
      "drift", value_with_default(&o.drift),
      "mlp (d -> 64 -> 64 -> 64 -> d) or onsager (the stochastic OnsagerNet: (M + W)(-grad V) + ...)")(
      "condition", po::value(&o.condition),
      "a system key (e.g. T) the SDE takes as an input: drift and diffusion are fitted to the pairs of every "
      "--dataset at once, each at its own value, with time in the unit of each value (mean_dt: its mean pair "
      "duration; elsewhere ln(unit) linear in 1/value)")(
      "time-unit", value_with_default(&o.time_unit),
      "physical, mean_dt (time in units of the mean training dt) or auto (physical for curie_weiss)");
  po::options_description ae("Closure autoencoder (datasets with snapshot states)");
  ae.add_options()("closure-dim", value_with_default(&o.closure_dim),
                   "learned closure dimension (0 = none: z = z*)")(
      "decoder", value_with_default(&o.decoder), "auto, global (L <= 128) or patch")(
      "ae-epochs", value_with_default(&o.ae_epochs), "autoencoder epochs")(
      "ae-batch", value_with_default(&o.ae_batch),
      "snapshots per autoencoder step (0 = the closure network's preset: spins 512, fields 256)")(
      "ae-lr", value_with_default(&o.ae_lr),
      "autoencoder learning rate (0 = the closure network's preset: spins 2e-4, fields 1e-4)")(
      "ae-weight-decay", value_with_default(&o.ae_weight_decay),
      "fields' autoencoder: L2 weight decay of Adam (< 0 = the preset 1e-4; spins use none)")(
      "max-snapshots", value_with_default(&o.max_snapshots),
      "autoencoder training snapshots, spread evenly over the dataset")(
      "encoder-from", po::value(&o.encoder_from), "reuse the autoencoder of this model directory")(
      "latent-cache", po::value(&o.latent_cache),
      "/latent file: read instead of encoding if it exists, else written after encoding (a `macrodyn run` "
      "stream.save holds /latent: pass it as both --dataset and --latent-cache with --closure-dim 0 to train the SDE "
      "on the streamed latents)");
  po::options_description run("Run");
  run.add_options()("seed", value_with_default(&o.seed), "seed of initialisation and shuffling")(
      "device", value_with_default(&o.device), "auto, cpu or cuda")(
      "threads", value_with_default(&o.threads), "torch threads (0 = all cores; results are bit-identical for the same count)");
  po::options_description all;
  all.add(io).add(sde).add(ae).add(run);
  const auto vm = parse_args(argc, argv, all);
  if (loss_factor == "measured" || loss_factor == "stationary") {
    o.loss_factor_measured = true;
    if (loss_factor == "stationary") o.measured_factor = "c_stationary";
  } else if (loss_factor != "auto" && loss_factor != "K") {
    char* end = nullptr;
    o.loss_factor = std::strtod(loss_factor.c_str(), &end);
    if (end == loss_factor.c_str() || *end != '\0' || !(o.loss_factor >= 0) || !std::isfinite(o.loss_factor))
      throw InputError("--loss-factor must be auto, K, measured, stationary or a positive number, not '" + loss_factor + "'");
  } else if (loss_factor == "K" && o.method != "kscaled") {
    throw InputError("--loss-factor K is the K-scaled loss's factor; --method " + o.method + " has factor 1");
  }
  if (vm.count("help")) {
    std::cout << "usage: macrodyn train --dataset FILE --out DIR [options]\n\n"
                 "Fits the system's closure autoencoder to the dataset's snapshot states (a CNN for 2D\n"
                 "spins, an MLP shared by the fields for predator-prey) and the neural SDE\n"
                 "dz = mu(z) dt + sigma(z) dW with the K-scaled loss (or the naive baseline) to the\n"
                 "dataset's pairs, and writes DIR/{encoder.pt, drift.pt, diffusion.pt, model.json}\n"
                 "(TorchScript: torch.jit.load in Python). The SDE checkpoints every epoch to\n"
                 "DIR/sde.ckpt; SIGINT/SIGTERM stop after the current epoch and --resume continues.\n"
              << all << "\n";
    return 0;
  }
  if (!datasets.empty()) {
    o.dataset = datasets.front();
    o.more_datasets.assign(datasets.begin() + 1, datasets.end());
  }
  if (!schedule.empty()) {
    ReplayOptions r{o.dataset, schedule, o.out, o.threads, o.overwrite, o.progress};
    replay_schedule(r);
    return 0;
  }
  const ModelInfo m = train(o);
  std::printf("model %s: %s, %d variables, K %lld, loss factor %g, final train loss %.5f, val loss %.5f\n",
              o.out.c_str(), m.method.c_str(), m.dim(), static_cast<long long>(m.K), m.loss_factor,
              m.final_train_loss, m.final_val_loss);
  if (!m.conditions.empty()) {
    std::printf("conditioned on %s at", m.conditions[0].c_str());
    for (std::size_t i = 0; i < m.condition_values.size(); ++i)
      std::printf("%s %g (time unit %.4g)", i ? "," : "", m.condition_values[i], m.condition_time_units[i]);
    std::printf("; elsewhere time unit = exp(%.6g + %.6g / %s)\n", m.time_fit_a, m.time_fit_b, m.conditions[0].c_str());
  }
  std::printf("report: %s\n", write_report(o.out).c_str());
  return 0;
}

int cmd_encode(int argc, char** argv) {
  std::string model, dataset, output, device = "cpu";
  std::int64_t max_pairs = 0;
  po::options_description desc("Options");
  desc.add_options()("help", "print this help")("model", po::value(&model), "a model directory (from train)")(
      "dataset", po::value(&dataset), "the HDF5 dataset whose pairs to encode")(
      "output", po::value(&output), "the HDF5 file to write /latent to (created or replaced)")(
      "max-pairs", po::value(&max_pairs)->default_value(0), "encode at most this many pairs (0 = all)")(
      "device", po::value(&device)->default_value(device), "auto, cpu or cuda");
  const auto vm = parse_args(argc, argv, desc);
  if (vm.count("help")) {
    std::cout << "usage: macrodyn encode --model DIR --dataset FILE --output FILE\n\n"
                 "Writes /latent/{z0, z1, z1_naive, dt} of the dataset's pairs: z0 = phi(x_t), the K-scaled\n"
                 "target z1 = z0 + g(x_{t+dt,I}) - g(x_{t,I}) and the naive z1_naive = g(x_{t+dt,I}), with the\n"
                 "model's encoder for the closure. Physical coordinates and time; the model's\n"
                 "normalisation and time unit are in DIR/model.json.\n"
              << desc << "\n";
    return 0;
  }
  if (model.empty()) throw InputError("--model is required");
  if (dataset.empty()) throw InputError("--dataset is required");
  if (output.empty()) throw InputError("--output is required");
  refuse_output_is_input({output, "--output"}, {{dataset, "--dataset"}, {model, "--model"}});
  if (max_pairs < 0) throw InputError("--max-pairs must be >= 0");
  const ModelInfo info = read_model_info(model);
  io::DatasetReader ds(dataset);
  ds.require("/pairs");
  if (ds.attr_int("/pairs", "patch") != info.patch || ds.attr_int("/pairs", "L") != info.L)
    throw InputError("--dataset " + dataset + " has L " + std::to_string(ds.attr_int("/pairs", "L")) + " and patch " +
                     std::to_string(ds.attr_int("/pairs", "patch")) + " but the model was trained for L " +
                     std::to_string(info.L) + " and patch " + std::to_string(info.patch));
  std::unique_ptr<learn::ExportedEncoder> enc;
  if (!info.encoder.empty())
    enc = std::make_unique<learn::ExportedEncoder>(model + "/" + info.encoder, static_cast<int>(info.patch),
                                                   static_cast<int>(info.closure_dim), device);
  const LatentSet set = encode_pairs(ds, enc.get(), max_pairs);
  write_latent(output, ds, set);
  std::printf("wrote /latent of %lld pairs (%d variables) to %s\n", static_cast<long long>(set.size()), set.dim(),
              output.c_str());
  return 0;
}

}  // namespace macrodyn::app
