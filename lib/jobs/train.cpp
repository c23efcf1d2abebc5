#include "jobs/train.hpp"

#include "jobs/calibrate.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/output_guard.hpp"
#include "core/parallel.hpp"
#include "core/stop.hpp"
#include "io/dataset.hpp"
#include "jobs/config.hpp"
#include "jobs/jobs.hpp"
#include "jobs/latent.hpp"
#include "jobs/model_dir.hpp"
#include "jobs/state_tables.hpp"
#include "jobs/study_recipe.hpp"
#include "jobs/verdict.hpp"
#include "learn/autoencoder.hpp"
#include "learn/exported.hpp"
#include "learn/field_autoencoder.hpp"
#include "learn/sde.hpp"
#include "systems/system.hpp"

using namespace macrodyn::systems;

namespace macrodyn::jobs {

namespace fs = std::filesystem;

void validate(const TrainOptions& o) {
  if (o.dataset.empty()) throw InputError("--dataset is required");
  if (!fs::exists(o.dataset)) throw InputError("--dataset " + o.dataset + " does not exist");
  if (o.out.empty()) throw InputError("--out (the model directory) is required");
  if (o.method != "kscaled" && o.method != "naive" && o.method != "small")
    throw InputError("--method must be kscaled, naive or small, not '" + o.method + "'");
  if (o.method == "small" && !o.latent_cache.empty())
    throw InputError("--latent-cache holds encoded pairs; --method small reads the small runs' frames instead");
  if (o.loss_factor < 0) throw InputError("--loss-factor must be positive (or 0 for the method's own factor)");
  if (o.loss_factor_measured && o.calibration.empty())
    throw InputError("--loss-factor measured and stationary need --calibration FILE (the calibrate.csv of macrodyn calibrate)");
  if (!o.calibration.empty() && !o.loss_factor_measured)
    throw InputError("--calibration is read only with --loss-factor measured or stationary");
  if (!o.calibration.empty() && !fs::exists(o.calibration))
    throw InputError("--calibration " + o.calibration + " does not exist");
  if (o.measured_factor != "c_star" && o.measured_factor != "c_stationary")
    throw InputError("train: the measured factor is c_star or c_stationary, not '" + o.measured_factor + "'");
  if (o.loss_factor_measured && o.method != "kscaled")
    throw InputError("--loss-factor measured is the K-scaled loss's factor; --method " + o.method + " has factor 1");
  try {
    learn::parse_diffusion(o.diffusion);
  } catch (const std::invalid_argument& e) {
    throw InputError(std::string("--") + e.what());
  }
  if (!(o.eps > 0)) throw InputError("--eps must be positive");
  if (!(o.lr > 0)) throw InputError("--lr must be positive");
  if (o.epochs < 1) throw InputError("--epochs must be >= 1");
  if (o.batch < 1) throw InputError("--batch must be >= 1");
  if (o.patience < 0) throw InputError("--patience must be >= 0");
  if (!(o.val_fraction >= 0 && o.val_fraction < 1)) throw InputError("--val-fraction must be in [0, 1)");
  if (o.max_pairs < 0) throw InputError("--max-pairs must be >= 0");
  if (o.time_unit != "auto" && o.time_unit != "physical" && o.time_unit != "mean_dt")
    throw InputError("--time-unit must be auto, physical or mean_dt, not '" + o.time_unit + "'");
  try {
    learn::parse_drift(o.drift);
  } catch (const std::invalid_argument& e) {
    throw InputError(std::string("--") + e.what());
  }
  if (!o.more_datasets.empty() && o.condition.empty())
    throw InputError("--dataset is given " + std::to_string(1 + o.more_datasets.size()) +
                     " times: name the system key they differ in with --condition (e.g. --condition T)");
  for (const auto& d : o.more_datasets)
    if (!fs::exists(d)) throw InputError("--dataset " + d + " does not exist");
  if (!o.condition.empty() && !o.latent_cache.empty())
    throw InputError("--latent-cache holds one dataset's latents; it cannot be used with --condition");
  if (o.closure_dim < 0) throw InputError("--closure-dim must be >= 0");
  if (o.decoder != "auto" && o.decoder != "global" && o.decoder != "patch")
    throw InputError("--decoder must be auto, global or patch, not '" + o.decoder + "'");
  if (o.ae_epochs < 1) throw InputError("--ae-epochs must be >= 1");
  if (o.ae_batch < 0) throw InputError("--ae-batch must be >= 1 (or 0 for the closure network's preset)");
  if (!(o.ae_lr >= 0)) throw InputError("--ae-lr must be positive (or 0 for the closure network's preset)");
  if (o.max_snapshots < 1) throw InputError("--max-snapshots must be >= 1");
  if (!o.encoder_from.empty() && !fs::exists(o.encoder_from + "/autoencoder.bin"))
    throw InputError("--encoder-from " + o.encoder_from + " holds no autoencoder.bin");
  check_threads(o.threads, "--threads");
  try {
    learn::resolve_device(o.device);
  } catch (const std::invalid_argument& e) {
    throw InputError(e.what());
  }
  if (fs::exists(o.out + "/model.json") && !o.resume && !o.overwrite)
    throw InputError("--out " + o.out + " already holds a model; pass --overwrite to replace it or --resume to continue");
  make_output_dir(o.out, "--out");
  refuse_output_dir_is_input({o.out, "--out"}, {{o.encoder_from, "--encoder-from"}});
  refuse_output_is_input({o.out, "--out"}, {{o.dataset, "--dataset"}});
  for (const auto& d : o.more_datasets) refuse_output_is_input({o.out, "--out"}, {{d, "--dataset"}});
}

namespace {


// The closure network's presets where an option is left at 0 (train.hpp).
int ae_batch(const TrainOptions& o, System::ClosureNetwork net) {
  if (o.ae_batch > 0) return o.ae_batch;
  return net == System::ClosureNetwork::field_mlp ? learn::FieldAutoencoderOptions{}.batch : learn::AutoencoderOptions{}.batch;
}
double ae_lr(const TrainOptions& o, System::ClosureNetwork net) {
  if (o.ae_lr > 0) return o.ae_lr;
  return net == System::ClosureNetwork::field_mlp ? learn::FieldAutoencoderOptions{}.lr : learn::AutoencoderOptions{}.lr;
}
double ae_weight_decay(const TrainOptions& o) {
  return o.ae_weight_decay >= 0 ? o.ae_weight_decay : learn::FieldAutoencoderOptions{}.weight_decay;
}

// The autoencoder's training snapshots: n of the committed ones, spread evenly over the
// dataset (upsampled and random ones alike), each checked against the system's layout.
std::vector<std::int8_t> training_snapshots(const TrainOptions& o, const io::DatasetReader& ds, const System& system,
                                            int L, std::int64_t& n) {
  ds.require_table("/snapshots/states", state_shape(system, L));
  require_state_type(ds, "/snapshots/states", system);
  const StateCheck check(system, L);
  const auto committed = static_cast<std::int64_t>(ds.rows_committed("/snapshots"));
  if (committed == 0) throw FileError(ds.path() + " has no committed snapshots to train the autoencoder on");
  n = std::min(committed, o.max_snapshots);
  const std::int64_t bytes = check.state_bytes();
  std::vector<std::int8_t> states(static_cast<std::size_t>(n * bytes));
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t row = i * committed / n;
    ds.read_rows("/snapshots/states", static_cast<std::uint64_t>(row), 1, state_dtype(system), states.data() + i * bytes);
    check_states(check, states.data() + i * bytes, 1, table_rows(ds, "/snapshots/states", row));
  }
  return states;
}

// Progress within long epochs (a line a minute) and the stop request, which abandons the
// autoencoder.
auto step_callback(const TrainOptions& o) {
  return [&o, last = std::chrono::steady_clock::now()](int epoch, std::int64_t step, std::int64_t steps) mutable {
    check_stop("no model (the autoencoder is retrained on --resume)");
    const auto now = std::chrono::steady_clock::now();
    if (std::chrono::duration<double>(now - last).count() >= 60 && step < steps) {
      last = now;
      log_if(o.progress, "  autoencoder epoch %d/%d: step %lld/%lld\n", epoch, o.ae_epochs, static_cast<long long>(step),
          static_cast<long long>(steps));
    }
  };
}

// The spin CNN (learn/autoencoder.hpp): trained, or reloaded from `reuse`; exports encoder.pt.
void spin_autoencoder(const TrainOptions& o, const io::DatasetReader& ds, const System& system, int L, int p,
                      const std::string& reuse, ModelInfo& info) {
  const std::string saved = o.out + "/autoencoder.bin";
  std::string decoder = o.decoder == "auto" ? (L <= 128 ? "global" : "patch") : o.decoder;
  if (!reuse.empty()) {
    log_if(o.progress, "train: autoencoder from %s\n", reuse.c_str());
    auto ae = learn::ClosureAutoencoder::load(reuse, o.device);
    if (ae.patch() != p || ae.closure_dim() != o.closure_dim)
      throw InputError("the autoencoder in " + reuse + " has patch " + std::to_string(ae.patch()) +
                       " and closure dimension " + std::to_string(ae.closure_dim()) + ", the dataset needs patch " +
                       std::to_string(p) + " and --closure-dim " + std::to_string(o.closure_dim));
    if (reuse != saved) ae.save(saved);
    ae.export_encoder(o.out + "/encoder.pt");
    info.decoder = ae.options().decoder;
    return;
  }
  std::int64_t n = 0;
  const std::vector<std::int8_t> states = training_snapshots(o, ds, system, L, n);
  learn::AutoencoderOptions ao;
  ao.closure_dim = o.closure_dim;
  ao.decoder = decoder;
  ao.epochs = o.ae_epochs;
  ao.batch = static_cast<int>(std::min<std::int64_t>(ae_batch(o, System::ClosureNetwork::spin_cnn), n));
  ao.lr = ae_lr(o, System::ClosureNetwork::spin_cnn);
  ao.seed = o.seed;
  ao.device = o.device;
  ao.threads = o.threads;
  log_if(o.progress, "train: autoencoder (%s decoder, closure %d) on %lld snapshots of side %d, patch %d\n",
      decoder.c_str(), o.closure_dim, static_cast<long long>(n), L, p);
  std::ofstream history(o.out + "/ae_history.csv");  // the report's loss curve
  history << "epoch,bce\n";
  auto ae = learn::ClosureAutoencoder::train(
      learn::SpinSnapshots{L, p, n, states.data()}, ao,
      [&](const learn::EpochReport& r) {
        history << r.epoch << "," << r.loss << "\n" << std::flush;
        log_if(o.progress, "  autoencoder epoch %d/%d  bce %.5f  %.1f s  %.0f snapshots/s\n", r.epoch, o.ae_epochs,
            r.loss, r.seconds, r.samples_per_s);
      },
      step_callback(o));
  ae.save(saved);
  ae.export_encoder(o.out + "/encoder.pt");
  info.decoder = decoder;
}

// The field MLP (learn/field_autoencoder.hpp): one code per field; trained, or reloaded
// from `reuse`; exports encoder.pt.
void field_autoencoder(const TrainOptions& o, const io::DatasetReader& ds, const System& system, int L, int p,
                       const std::string& reuse, ModelInfo& info) {
  const std::string saved = o.out + "/autoencoder.bin";
  const int channels = static_cast<int>(system.state_layout().channels.size());
  if (o.closure_dim != channels)
    throw InputError("--closure-dim " + std::to_string(o.closure_dim) + ": the closure of " + system.name() +
                     " has one code per field, " + std::to_string(channels) + " (pass --closure-dim " +
                     std::to_string(channels) + ", or 0 for none)");
  if (!reuse.empty()) {
    log_if(o.progress, "train: autoencoder from %s\n", reuse.c_str());
    std::unique_ptr<learn::FieldAutoencoder> ae;
    try {
      ae = std::make_unique<learn::FieldAutoencoder>(learn::FieldAutoencoder::load(reuse));
    } catch (const std::exception& e) {
      throw InputError(reuse + " is not a field closure autoencoder: " + e.what());
    }
    if (ae->patch() != p || ae->dim() != system.dim() || ae->n() != L)
      throw InputError("the autoencoder in " + reuse + " is for " + std::to_string(ae->dim()) + "-D side " +
                       std::to_string(ae->n()) + " with patch " + std::to_string(ae->patch()) + ", the dataset needs " +
                       std::to_string(system.dim()) + "-D side " + std::to_string(L) + " with patch " + std::to_string(p));
    if (reuse != saved) ae->save(saved);
    ae->export_encoder(o.out + "/encoder.pt");
    info.decoder = "global";
    return;
  }
  std::int64_t n = 0;
  const std::vector<std::int8_t> states = training_snapshots(o, ds, system, L, n);
  // Stored [n, cells, C] (fields last) -> the network's planar [n, C, cells].
  const std::int64_t cells = ipow(L, system.dim());
  std::vector<float> planar(static_cast<std::size_t>(n * cells * channels));
  learn::planar_fields(states.data(), n, cells, channels, planar.data());
  learn::FieldAutoencoderOptions ao;
  ao.epochs = o.ae_epochs;
  ao.batch = ae_batch(o, System::ClosureNetwork::field_mlp);
  ao.lr = ae_lr(o, System::ClosureNetwork::field_mlp);
  ao.weight_decay = ae_weight_decay(o);
  ao.seed = o.seed;
  ao.device = o.device;
  ao.threads = o.threads;
  log_if(o.progress, "train: autoencoder (field MLP, one code per field) on %lld snapshots of side %d, patch %d\n",
      static_cast<long long>(n), L, p);
  std::ofstream history(o.out + "/ae_history.csv");  // the report's loss curve
  history << "epoch,mse\n";
  auto ae = learn::FieldAutoencoder::train(
      learn::FieldFrames{system.dim(), L, p, n, planar.data()}, ao,
      [&](const learn::EpochReport& r) {
        history << r.epoch << "," << r.loss << "\n" << std::flush;
        log_if(o.progress, "  autoencoder epoch %d/%d  mse %.4g  %.1f s  %.0f snapshots/s\n", r.epoch, o.ae_epochs,
            r.loss, r.seconds, r.samples_per_s);
        check_stop("no model (the autoencoder is retrained on --resume)");
      });
  ae.save(saved);
  ae.export_encoder(o.out + "/encoder.pt");
  info.decoder = "global";
}

// Trains (or reloads, on --resume or --encoder-from) the system's closure network and
// exports encoder.pt.
void closure_autoencoder(const TrainOptions& o, const io::DatasetReader& ds, int L, int p, ModelInfo& info) {
  const std::string saved = o.out + "/autoencoder.bin";
  const std::string reuse = !o.encoder_from.empty() ? o.encoder_from + "/autoencoder.bin"
                            : (o.resume && fs::exists(saved)) ? saved
                                                              : "";
  const auto system = make_system(info.system, info.params);
  switch (system->closure_network()) {
    case System::ClosureNetwork::spin_cnn: return spin_autoencoder(o, ds, *system, L, p, reuse, info);
    case System::ClosureNetwork::field_mlp: return field_autoencoder(o, ds, *system, L, p, reuse, info);
    case System::ClosureNetwork::none: break;
  }
  throw InputError("system " + info.system + " has no learned closure; pass --closure-dim 0");
}

// Pairs [b, e) in model coordinates; with conditions, each pair's time in the unit of its
// condition value and the value as the networks' input.
learn::LatentPairs slice(const PreparedLatents& prep, const std::vector<float>& target, std::int64_t b, std::int64_t e,
                         const ModelInfo& info) {
  const LatentSet& s = prep.set;
  learn::LatentPairs p;
  p.dim = s.dim();
  p.cond_dim = static_cast<int>(info.conditions.size());
  const int d = p.dim;
  for (std::int64_t i = b; i < e; ++i) {
    for (int k = 0; k < d; ++k) {
      const auto at = static_cast<std::size_t>(i * d + k);
      p.z0.push_back(static_cast<float>((s.z0[at] - info.offset[k]) / info.scale[k]));
      p.z1.push_back(static_cast<float>((target[at] - info.offset[k]) / info.scale[k]));
    }
    double unit = info.time_unit;
    if (p.cond_dim > 0) {
      const double c = prep.cond[static_cast<std::size_t>(i)];
      p.cond.push_back(static_cast<float>(c));
      for (std::size_t v = 0; v < info.condition_values.size(); ++v)
        if (info.condition_values[v] == c) unit = info.condition_time_units[v];
    }
    p.dt.push_back(s.dt[static_cast<std::size_t>(i)] / unit);
  }
  return p;
}

// A dataset's value of the condition key, after the checks that its pairs can train the
// same model as the first dataset's: the same system, tiling, boundary and other keys.
double condition_value(const TrainOptions& o, const io::DatasetReader& d, const ModelInfo& info) {
  const std::string system = d.attr_string("/", "system");
  if (system != info.system)
    throw InputError("--dataset " + d.path() + " is of system " + system + ", the first --dataset of " + info.system);
  const auto params = resolve_system_params(system, system_params_in_ini(d.attr_string("/", "config")));
  bool found = false;
  for (const auto& v : params.values()) {
    if (v.key == o.condition) {
      if (v.text) throw InputError("--condition " + o.condition + ": a text key cannot be a condition");
      found = true;
      continue;
    }
    if (!info.params.has(v.key) || params.text(v) != info.params.text(*std::find_if(
                                                         info.params.values().begin(), info.params.values().end(),
                                                         [&](const auto& w) { return w.key == v.key; })))
      throw InputError("--dataset " + d.path() + " has system." + v.key + " = " + params.text(v) +
                       ", the first --dataset another value: only --condition " + o.condition + " may differ");
  }
  if (!found) throw InputError("--condition " + o.condition + ": system " + system + " has no key " + o.condition);
  if (d.attr_int("/pairs", "L") != info.L || d.attr_int("/pairs", "patch") != info.patch ||
      d.attr_int("/pairs", "K") != info.K || d.attr_string("/pairs", "boundary") != info.boundary)
    throw InputError("--dataset " + d.path() + " has pairs of another tiling or boundary than the first --dataset's");
  return params.get(o.condition);
}

// The pairs of every dataset, each with its value of the condition: the first
// (1 - val_fraction) of each dataset's pairs, then the held-out rest of each.
void gather_conditioned(const TrainOptions& o, const io::DatasetReader& first, const learn::ExportedEncoder* enc,
                        PreparedLatents& prep) {
  ModelInfo& info = prep.info;
  info.conditions = {o.condition};
  std::vector<LatentSet> sets;
  std::vector<double> values{condition_value(o, first, info)};
  sets.push_back(std::move(prep.set));
  for (const auto& path : o.more_datasets) {
    const io::DatasetReader d(path);
    d.require("/pairs");
    const double v = condition_value(o, d, info);
    if (std::find(values.begin(), values.end(), v) != values.end())
      throw InputError("--dataset " + path + ": another --dataset has the same " + o.condition + " = " + shortest(v));
    values.push_back(v);
    sets.push_back(o.method == "small" ? small_frame_pairs(d, o.max_pairs) : encode_pairs(d, enc, o.max_pairs));
    log_if(o.progress, "train: %lld latent pairs of %s at %s = %s\n", static_cast<long long>(sets.back().size()),
        path.c_str(), o.condition.c_str(), shortest(v).c_str());
  }
  LatentSet all;
  all.variables = sets.front().variables;
  const int d = all.dim();
  prep.cond.clear();
  const auto append = [&](const LatentSet& s, double v, std::int64_t b, std::int64_t e) {
    const auto row = [d](std::int64_t i) { return static_cast<std::ptrdiff_t>(i * d); };
    all.z0.insert(all.z0.end(), s.z0.begin() + row(b), s.z0.begin() + row(e));
    all.z1.insert(all.z1.end(), s.z1.begin() + row(b), s.z1.begin() + row(e));
    all.z1_naive.insert(all.z1_naive.end(), s.z1_naive.begin() + row(b), s.z1_naive.begin() + row(e));
    all.dt.insert(all.dt.end(), s.dt.begin() + b, s.dt.begin() + e);
    prep.cond.insert(prep.cond.end(), static_cast<std::size_t>(e - b), v);
  };
  std::vector<std::int64_t> held(sets.size());
  prep.held_out = 0;
  for (std::size_t i = 0; i < sets.size(); ++i) {
    held[i] = static_cast<std::int64_t>(std::floor(o.val_fraction * static_cast<double>(sets[i].size())));
    prep.held_out += held[i];
    append(sets[i], values[i], 0, sets[i].size() - held[i]);
  }
  for (std::size_t i = 0; i < sets.size(); ++i) append(sets[i], values[i], sets[i].size() - held[i], sets[i].size());
  prep.set = std::move(all);
  info.condition_values = values;
}

// What a model depends on: the dataset (path and identity) and every option that
// changes the result (not --device, --threads or progress), as `--name = value` lines.
// Not --epochs: epoch e is the same whatever the total, so --resume may train longer.
std::string train_recipe(const TrainOptions& o, const io::DatasetReader& ds) {
  const auto net = dataset_system(ds)->closure_network();
  std::ostringstream r;
  r << "--dataset = " << fs::absolute(o.dataset).lexically_normal().string() << "\n"
    << "--dataset created = " << ds.attr_string("/", "created") << "\n"
    << "--dataset seed = " << ds.attr_uint("/", "seed") << "\n";
  for (const auto& more : o.more_datasets) {
    const io::DatasetReader m(more);
    r << "--dataset = " << fs::absolute(more).lexically_normal().string() << "\n--dataset created = "
      << m.attr_string("/", "created") << "\n--dataset seed = " << m.attr_uint("/", "seed") << "\n";
  }
  if (!o.condition.empty()) r << "--condition = " << o.condition << "\n";
  if (o.drift != "mlp") r << "--drift = " << o.drift << "\n";
  if (o.loss_factor_measured)
    r << "--loss-factor = " << (o.measured_factor == "c_stationary" ? "stationary" : "measured")
      << "\n--calibration = " << fs::absolute(o.calibration).lexically_normal().string() << "\n";
  r
    << "--method = " << o.method << "\n--loss-factor = " << shortest(o.loss_factor) << "\n"
    << "--diffusion = " << o.diffusion << "\n--eps = " << shortest(o.eps) << "\n--lr = " << shortest(o.lr) << "\n"
    << "--batch = " << o.batch << "\n--patience = " << o.patience << "\n"
    << "--val-fraction = " << shortest(o.val_fraction) << "\n--max-pairs = " << o.max_pairs << "\n"
    << "--time-unit = " << o.time_unit << "\n--closure-dim = " << o.closure_dim << "\n--decoder = " << o.decoder
    << "\n--ae-epochs = " << o.ae_epochs << "\n--ae-batch = " << ae_batch(o, net) << "\n--ae-lr = " << shortest(ae_lr(o, net))
    << (net == System::ClosureNetwork::field_mlp ? "\n--ae-weight-decay = " + shortest(ae_weight_decay(o)) : std::string())
    << "\n--max-snapshots = " << o.max_snapshots << "\n--encoder-from = " << o.encoder_from
    << "\n--seed = " << o.seed << "\n";
  return r.str();
}

}  // namespace

PreparedLatents prepare_latents(const TrainOptions& o) {
  validate(o);
  learn::set_torch_threads(o.threads);
  io::DatasetReader ds(o.dataset);
  ds.require("/pairs");
  // --resume continues only the training recorded in recipe.txt (another dataset or
  // other options would leave model files that describe different models).
  const std::string recipe = train_recipe(o, ds);
  if (o.resume) check_recipe(o.out, recipe, true, "a training");
  else write_file_atomically(o.out + "/recipe.txt", recipe);

  PreparedLatents prep;
  ModelInfo& info = prep.info;
  info.macrodyn_version = kMacrodynVersion;
  info.system = ds.attr_string("/", "system");
  info.params = resolve_system_params(info.system, system_params_in_ini(ds.attr_string("/", "config")));
  info.L = ds.attr_int("/pairs", "L");
  info.patch = ds.attr_int("/pairs", "patch");
  info.K = ds.attr_int("/pairs", "K");
  info.boundary = ds.attr_string("/pairs", "boundary");
  info.dataset = fs::absolute(o.dataset).string();
  info.dataset_created = ds.attr_string("/", "created");
  info.dataset_version = ds.attr_string("/", "macrodyn_version");
  info.dataset_seed = ds.attr_uint("/", "seed");
  const int L = static_cast<int>(info.L), p = static_cast<int>(info.patch);

  // The small-system baseline: consecutive frames of the small runs, no closure.
  if (o.method == "small") {
    prep.set = small_frame_pairs(ds, o.max_pairs);
    log_if(o.progress, "train: %lld consecutive small-run frame pairs (method small, no closure)\n",
        static_cast<long long>(prep.set.size()));
    if (!o.condition.empty()) gather_conditioned(o, ds, nullptr, prep);
    info.variables = prep.set.variables;
    info.z_star_dim = prep.set.dim();
    return prep;
  }

  // 1. Closure.
  const bool closure = o.closure_dim > 0 && ds.has("/snapshots/states") && ds.has("/pairs/patch_before");
  if (o.closure_dim > 0 && !closure)
    log_if(o.progress, "train: %s has no snapshot states, so no closure is learned (z = z*)\n", o.dataset.c_str());
  if (closure) {
    closure_autoencoder(o, ds, L, p, info);
    info.encoder = "encoder.pt";
    info.closure_dim = o.closure_dim;
  }

  // 2. Latent pairs through the exported encoder (the same file encode/evaluate use).
  std::unique_ptr<learn::ExportedEncoder> enc;
  if (closure) enc = std::make_unique<learn::ExportedEncoder>(o.out + "/encoder.pt", p, o.closure_dim, o.device);
  const auto t_enc = std::chrono::steady_clock::now();
  if (!o.latent_cache.empty() && fs::exists(o.latent_cache)) {
    prep.set = read_latent(o.latent_cache);
    log_if(o.progress, "train: %lld latent pairs from %s\n", static_cast<long long>(prep.set.size()),
        o.latent_cache.c_str());
    info.variables = prep.set.variables;
    info.z_star_dim = prep.set.dim() - info.closure_dim;
    return prep;
  }
  prep.set = encode_pairs(ds, enc.get(), o.max_pairs, [&](std::int64_t done, std::int64_t total) {
    if (done == total || done % (16 * 4096) == 0)
      log_if(o.progress, "  encoded %lld / %lld pairs\n", static_cast<long long>(done), static_cast<long long>(total));
    check_stop("no model yet (encoding is redone on --resume)");
  });
  log_if(o.progress, "train: %lld latent pairs of dimension %d in %.1f s\n", static_cast<long long>(prep.set.size()),
      prep.set.dim(), std::chrono::duration<double>(std::chrono::steady_clock::now() - t_enc).count());
  if (!o.latent_cache.empty()) {
    // Written under a temporary name and renamed: a cache file is always complete.
    write_latent(o.latent_cache + ".tmp", ds, prep.set);
    fs::rename(o.latent_cache + ".tmp", o.latent_cache);
  }
  if (!o.condition.empty()) gather_conditioned(o, ds, enc.get(), prep);
  info.variables = prep.set.variables;
  info.z_star_dim = prep.set.dim() - info.closure_dim;
  return prep;
}

namespace {

// With conditions: per training value the mean pair duration (training pairs) and the
// time unit there, and the fit ln(unit) = a + b / c by least squares (a alone for one value).
void condition_time_units(const PreparedLatents& prep, std::int64_t n_train, ModelInfo& info) {
  const auto& values = info.condition_values;
  std::vector<double> sum(values.size(), 0.0), count(values.size(), 0.0);
  double lo = INFINITY, hi = -INFINITY;
  for (std::int64_t i = 0; i < n_train; ++i) {
    const double c = prep.cond[static_cast<std::size_t>(i)];
    const auto v = static_cast<std::size_t>(std::find(values.begin(), values.end(), c) - values.begin());
    sum[v] += prep.set.dt[static_cast<std::size_t>(i)];
    count[v] += 1;
    lo = std::min(lo, c);
    hi = std::max(hi, c);
  }
  info.condition_offset = {lo};
  info.condition_scale = {hi > lo ? hi - lo : 1.0};
  info.condition_pair_dt.clear();
  info.condition_time_units.clear();
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (std::size_t v = 0; v < values.size(); ++v) {
    if (count[v] == 0) throw InputError("--val-fraction leaves no training pairs at " + info.conditions[0] + " = " + shortest(values[v]));
    info.condition_pair_dt.push_back(sum[v] / count[v]);
    info.condition_time_units.push_back(info.time_unit_kind == "mean_dt" ? sum[v] / count[v] : 1.0);
    const double x = 1.0 / values[v], y = std::log(info.condition_time_units.back());
    sx += x, sy += y, sxx += x * x, sxy += x * y;
  }
  const double n = static_cast<double>(values.size()), det = n * sxx - sx * sx;
  info.time_fit_b = n > 1 && det > 0 ? (n * sxy - sx * sy) / det : 0.0;
  info.time_fit_a = (sy - info.time_fit_b * sx) / n;
  // The scalar unit and pair duration are those of the first value (at_condition gives any).
  info.time_unit = info.condition_time_units.front();
  info.pair_dt = info.condition_pair_dt.front();
}

}  // namespace

ModelInfo fit_sde(const TrainOptions& o, const PreparedLatents& prep) {
  const auto start = std::chrono::steady_clock::now();
  const LatentSet& set = prep.set;
  ModelInfo info = prep.info;
  fs::create_directories(o.out);
  // 3. Split, normalisation and time unit from the training part only.
  const std::int64_t n = set.size();
  const std::int64_t n_val = prep.held_out >= 0 ? prep.held_out
                                                : static_cast<std::int64_t>(std::floor(o.val_fraction * static_cast<double>(n)));
  const std::int64_t n_train = n - n_val;
  if (n_train < 1) throw InputError("--val-fraction leaves no training pairs");
  const int d = set.dim();
  info.offset.assign(d, 0.0);
  info.scale.assign(d, 1.0);
  const bool z_score = make_system(info.system, info.params)->latent_normalisation() == System::Normalisation::z_score;
  for (int k = 0; k < d; ++k) {
    if (variable_stays_raw(info, set.variables[k])) continue;  // e.g. m (docs/design.md §8.2.7)
    double lo = INFINITY, hi = -INFINITY, sum = 0.0;
    for (std::int64_t i = 0; i < n_train; ++i) {
      const double v = set.z0[static_cast<std::size_t>(i * d + k)];
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      sum += v;
    }
    if (!z_score) {
      info.offset[k] = lo;
      info.scale[k] = hi > lo ? hi - lo : 1.0;
      continue;
    }
    // The mean and the unbiased standard deviation of the training z0 (two passes).
    const double mean = sum / static_cast<double>(n_train);
    double ss = 0.0;
    for (std::int64_t i = 0; i < n_train; ++i) {
      const double dv = set.z0[static_cast<std::size_t>(i * d + k)] - mean;
      ss += dv * dv;
    }
    const double sd = n_train > 1 ? std::sqrt(ss / static_cast<double>(n_train - 1)) : 0.0;
    info.offset[k] = mean;
    info.scale[k] = sd > 0 ? sd : 1.0;
  }
  info.time_unit_kind = o.time_unit == "auto" ? default_time_unit_kind(info) : o.time_unit;
  {
    double sum = 0;
    for (std::int64_t i = 0; i < n_train; ++i) sum += set.dt[static_cast<std::size_t>(i)];
    info.pair_dt = sum / static_cast<double>(n_train);
  }
  if (info.time_unit_kind == "mean_dt") info.time_unit = info.pair_dt;
  if (!info.conditions.empty()) condition_time_units(prep, n_train, info);

  // 4. The SDE.
  info.method = o.method;
  info.loss_factor = o.loss_factor > 0 ? o.loss_factor : (o.method == "kscaled" ? static_cast<double>(info.K) : 1.0);
  info.loss_factor_source = o.loss_factor > 0 ? "given" : o.method == "kscaled" ? "K" : "naive";
  if (o.loss_factor_measured) {
    const MeasuredFactor f = read_measured_factor(o.calibration, info.K, info.boundary, o.measured_factor);
    info.loss_factor = f.c_star;
    info.loss_factor_source = std::string(o.measured_factor == "c_stationary" ? "measured (stationary): " : "measured: ") +
                              fs::absolute(o.calibration).string() +
                              (o.measured_factor == "c_stationary" ? ", c_stationary = " : ", c* = ") + shortest(f.c_star) +
                              " [" + shortest(f.c_lo) + ", " + shortest(f.c_hi) + "] at horizon 1, boundary " +
                              info.boundary + ", K = " + std::to_string(info.K);
  }
  info.eps = o.eps;
  info.diffusion = o.diffusion;
  info.epochs = o.epochs;
  info.seed = o.seed;
  info.train_pairs = n_train;
  info.val_pairs = n_val;
  info.device = learn::resolve_device(o.device);
  const auto& target = o.method == "kscaled" ? set.z1 : set.z1_naive;
  info.drift = o.drift;
  const auto train_pairs = slice(prep, target, 0, n_train, info);
  // Validation: held-out pairs with the same target, factor 1 (only logged, as the reference).
  const auto val_pairs = slice(prep, target, n_train, n, info);

  learn::SdeOptions so;
  so.diffusion = learn::parse_diffusion(o.diffusion);
  so.drift = learn::parse_drift(o.drift);
  so.cond_offset = info.condition_offset;
  so.cond_scale = info.condition_scale;
  so.loss_factor = info.loss_factor;
  so.eps = o.eps;
  so.lr = o.lr;
  so.patience = o.patience;
  so.epochs = o.epochs;
  so.batch = o.batch;
  so.seed = o.seed;
  so.device = o.device;
  so.threads = o.threads;
  so.checkpoint = o.out + "/sde.ckpt";
  so.resume = o.resume;
  log_if(o.progress, "train: SDE (%s, %s drift%s%s, %s diffusion, loss factor %g, eps %g) on %lld pairs, %lld held out, device %s\n",
      o.method.c_str(), o.drift.c_str(), info.conditions.empty() ? "" : " conditioned on ",
      info.conditions.empty() ? "" : info.conditions[0].c_str(), o.diffusion.c_str(), info.loss_factor, o.eps, static_cast<long long>(n_train),
      static_cast<long long>(n_val), info.device.c_str());
  bool stopped = false;
  // Loss per epoch for the report and the warnings; a resumed training appends to it.
  const std::string history_path = o.out + "/history.csv";
  const bool fresh_history = !o.resume || !fs::exists(history_path) || fs::file_size(history_path) == 0;
  std::ofstream history(history_path, fresh_history ? std::ios::trunc : std::ios::app);
  if (fresh_history) history << "epoch,train_loss,val_loss,lr\n";
  std::vector<double> train_history, val_history;
  const auto model = learn::train_sde(
      train_pairs, val_pairs, so,
      [&](const learn::SdeEpochReport& r) {
        info.final_train_loss = r.train_loss;
        info.final_val_loss = r.val_loss;
        history << r.epoch << "," << r.train_loss << "," << r.val_loss << "," << r.lr << "\n" << std::flush;
        train_history.push_back(r.train_loss);
        val_history.push_back(r.val_loss);
        char val[32] = "-";  // no held-out pairs (--val-fraction 0): no validation loss
        if (n_val > 0) std::snprintf(val, sizeof val, "%.5f", r.val_loss);
        log_if(o.progress, "  epoch %3d/%d  train %.5f  val %s  lr %.2e  %.2f s  %.0f samples/s\n", r.epoch, r.epochs,
            r.train_loss, val, r.lr, r.seconds, r.samples_per_s);
      },
      [&] { return stopped = stop_signal().load() != 0; });
  if (stopped) check_stop("the SDE checkpoint " + so.checkpoint + " (continue with --resume)");

  // 5. Export.
  model.export_torchscript(o.out);
  write_model_info(o.out, info);
  for (const auto& w : training_warnings(train_history, val_history, "the SDE training"))
    log_if(true, "train: warning: %s\n", w.c_str());
  log_if(o.progress, "train: SDE written to %s in %.1f s\n", o.out.c_str(),
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return info;
}

ModelInfo train(const TrainOptions& o) { return fit_sde(o, prepare_latents(o)); }

}  // namespace macrodyn::jobs
