#include "jobs/field_study.hpp"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/parallel.hpp"
#include "core/progress.hpp"
#include "io/dataset.hpp"
#include "jobs/field_data.hpp"
#include "jobs/jobs.hpp"
#include "jobs/model_dir.hpp"
#include "jobs/study_recipe.hpp"
#include "learn/field_autoencoder.hpp"
#include "learn/sde.hpp"
#include "macro/metrics.hpp"
#include "macro/plot.hpp"
#include "macro/rollout.hpp"

namespace macrodyn::jobs {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

constexpr int kLatentDim = 4;  // (mean u, mean v, zhat_u, zhat_v)


// Stage 1: the small runs and one partial-evolution pair per upsampled frame.
struct SimulationData {
  std::int64_t runs = 0, frames = 0, values_small = 0, pairs = 0, patch_values = 0;
  std::vector<float> small;      // [runs, frames, 2, cells_small]
  std::vector<double> mk;        // [runs, 2]
  std::vector<std::int32_t> patch;
  std::vector<float> g_before, g_after;  // [pairs, 2]
  std::vector<float> before, after;      // [pairs, 2, p^dim]

  void size_arrays() {
    const auto P = static_cast<std::size_t>(pairs);
    small.resize(static_cast<std::size_t>(runs * frames * values_small));
    mk.resize(static_cast<std::size_t>(2 * runs));
    patch.resize(P);
    g_before.resize(2 * P);
    g_after.resize(2 * P);
    before.resize(P * static_cast<std::size_t>(patch_values));
    after.resize(P * static_cast<std::size_t>(patch_values));
  }
};

std::vector<std::uint64_t> field_shape(int dim, int n) {
  return dim == 1 ? std::vector<std::uint64_t>{2, static_cast<std::uint64_t>(n)}
                  : std::vector<std::uint64_t>{2, static_cast<std::uint64_t>(n), static_cast<std::uint64_t>(n)};
}

io::GroupInfo group_info(const Config& c, std::int64_t K, std::vector<std::string> columns) {
  return io::GroupInfo{K, c.patch, c.large_side, "frozen", std::move(columns)};
}

// The upsampled snapshots of every pair: [pairs, 2, cells_large].
std::vector<float> snapshots_of(const Config& c, const SimulationData& d) {
  const auto large = fields::params_of(c, c.large_side);
  const std::int64_t per = fields::frame_values(large);
  std::vector<float> s(static_cast<std::size_t>(d.pairs * per));
  parallel_for(0, d.pairs, c.resolved_threads(), [&](std::int64_t j, int) {
    fields::upsample_frame(c, d.small.data() + j * d.values_small, s.data() + j * per);
  });
  return s;
}

// Stage 1, kept in `path` (reused when it exists); `snapshots` gets the upsampled frames
// of the pairs, [pairs, 2, cells_large], which the autoencoder and the encoder need too.
SimulationData simulate(const Config& c, std::int64_t K, const std::string& path, std::vector<float>& snapshots) {
  SimulationData d;
  const auto small = fields::params_of(c, c.resolved_small_side());
  const auto large = fields::params_of(c, c.large_side);
  d.runs = c.small_runs;
  d.frames = c.small_sweeps;
  d.values_small = fields::frame_values(small);
  d.pairs = c.snapshots;
  d.patch_values = 2 * (c.field_dim == 1 ? c.patch : static_cast<std::int64_t>(c.patch) * c.patch);
  if (fs::exists(path)) {
    io::DatasetReader r(path);
    d.size_arrays();
    r.read_rows("/small/states", 0, static_cast<std::uint64_t>(d.runs), io::DType::f32, d.small.data());
    r.read_rows("/small/mk", 0, static_cast<std::uint64_t>(d.runs), io::DType::f64, d.mk.data());
    const auto P = static_cast<std::uint64_t>(d.pairs);
    r.read_rows("/pairs/patch_index", 0, P, io::DType::i32, d.patch.data());
    r.read_rows("/pairs/g_before", 0, P, io::DType::f32, d.g_before.data());
    r.read_rows("/pairs/g_after", 0, P, io::DType::f32, d.g_after.data());
    r.read_rows("/pairs/patch_before", 0, P, io::DType::f32, d.before.data());
    r.read_rows("/pairs/patch_after", 0, P, io::DType::f32, d.after.data());
    log_if(c.progress, "loss-factor: reusing %s (%lld small runs, %lld pairs)\n", path.c_str(), static_cast<long long>(d.runs),
        static_cast<long long>(d.pairs));
    snapshots = snapshots_of(c, d);
    return d;
  }
  auto t0 = Clock::now();
  log_if(c.progress, "loss-factor: %lld small runs x %lld steps on %d cells\n", static_cast<long long>(d.runs),
      static_cast<long long>(d.frames), small.n);
  fields::small_runs(c, d.small, d.mk);
  log_if(c.progress, "  %.1f s\n", since(t0));
  t0 = Clock::now();
  const auto P = static_cast<std::size_t>(d.pairs);
  d.size_arrays();  // small_runs sized small and mk already; this sizes the pairs
  snapshots = snapshots_of(c, d);
  const std::int64_t per_snapshot = fields::frame_values(large);
  const int threads = c.resolved_threads();
  std::vector<fields::FieldPair> pair(static_cast<std::size_t>(std::max(1, threads)));
  Progress progress("loss-factor: partial-evolution pairs", d.pairs, "pairs", c.progress);
  std::atomic<std::int64_t> done{0};
  parallel_for(0, d.pairs, threads, [&](std::int64_t j, int w) {
    auto& pr = pair[static_cast<std::size_t>(w)];
    fields::partial_pair(c, snapshots.data() + j * per_snapshot, j, pr);
    const auto J = static_cast<std::size_t>(j);
    d.patch[J] = static_cast<std::int32_t>(pr.patch);
    for (int f = 0; f < 2; ++f) {
      d.g_before[2 * J + f] = static_cast<float>(pr.g_before[f]);
      d.g_after[2 * J + f] = static_cast<float>(pr.g_after[f]);
    }
    std::copy(pr.before.begin(), pr.before.end(), d.before.begin() + static_cast<std::ptrdiff_t>(J * d.patch_values));
    std::copy(pr.after.begin(), pr.after.end(), d.after.begin() + static_cast<std::ptrdiff_t>(J * d.patch_values));
    if (w == 0) progress.update(done.load());
    ++done;
  });
  progress.update(d.pairs);
  log_if(c.progress, "  %lld pairs in %.1f s\n", static_cast<long long>(d.pairs), since(t0));

  // Kept as a dataset (schema v1 names; fields are float32): written to a temporary
  // name and renamed, so a file at `path` is always complete.
  const std::string tmp = path + ".tmp";
  {
    io::DatasetWriter w(tmp, io::RootInfo{c.seed, c.system, c.ini_text, kMacrodynVersion});
    w.create_group("/small", group_info(c, K, {"u", "v"}));
    auto shape = field_shape(c.field_dim, small.n);
    shape.insert(shape.begin(), static_cast<std::uint64_t>(d.frames));
    w.create_table("/small/states", io::DType::f32, shape, 1, true);
    w.create_table("/small/mk", io::DType::f64, {2}, 1024, false);
    w.append("/small/states", d.small.data(), static_cast<std::uint64_t>(d.runs));
    w.append("/small/mk", d.mk.data(), static_cast<std::uint64_t>(d.runs));
    w.commit("/small", static_cast<std::uint64_t>(d.runs));
    w.create_group("/pairs", group_info(c, K, {"mean_u", "mean_v"}));
    std::vector<std::int64_t> ids(P);
    std::vector<double> dts(P, c.field_dt);
    for (std::size_t j = 0; j < P; ++j) ids[j] = static_cast<std::int64_t>(j);
    w.create_table("/pairs/snapshot_id", io::DType::i64, {}, 65536, true);
    w.create_table("/pairs/patch_index", io::DType::i32, {}, 65536, true);
    w.create_table("/pairs/dt", io::DType::f64, {}, 65536, true);
    w.create_table("/pairs/g_before", io::DType::f32, {2}, 65536, true);
    w.create_table("/pairs/g_after", io::DType::f32, {2}, 65536, true);
    const auto patch_shape = field_shape(c.field_dim, c.patch);
    w.create_table("/pairs/patch_before", io::DType::f32, patch_shape, 4096, true);
    w.create_table("/pairs/patch_after", io::DType::f32, patch_shape, 4096, true);
    w.append("/pairs/snapshot_id", ids.data(), P);
    w.append("/pairs/patch_index", d.patch.data(), P);
    w.append("/pairs/dt", dts.data(), P);
    w.append("/pairs/g_before", d.g_before.data(), P);
    w.append("/pairs/g_after", d.g_after.data(), P);
    w.append("/pairs/patch_before", d.before.data(), P);
    w.append("/pairs/patch_after", d.after.data(), P);
    w.commit("/pairs", P);
  }
  fs::rename(tmp, path);
  return d;
}

// Stage 3: latents of the pairs (K-scaled and naive targets), unnormalised [P, 4] each.
struct Latents {
  std::vector<float> z0, z1, z1_naive;
};

Latents encode(const Config& c, const learn::FieldAutoencoder& ae, const SimulationData& d,
               const std::vector<float>& snapshots) {
  Latents l;
  const auto P = static_cast<std::size_t>(d.pairs);
  l.z0.resize(P * kLatentDim);
  ae.latents(learn::FieldFrames{c.field_dim, c.large_side, c.patch, d.pairs, snapshots.data()}, l.z0.data());
  // Codes of the evolved patch, before and after, per field: [P, 2] each.
  std::vector<float> code_before(2 * P), code_after(2 * P);
  ae.encode_patches(d.before.data(), 2 * d.pairs, code_before.data());
  ae.encode_patches(d.after.data(), 2 * d.pairs, code_after.data());
  l.z1.resize(P * kLatentDim);
  l.z1_naive.resize(P * kLatentDim);
  for (std::size_t j = 0; j < P; ++j)
    for (int f = 0; f < 2; ++f) {
      const float* z0 = l.z0.data() + j * kLatentDim;
      // docs/design.md §1.7: z1 = z0 + (g(after) - g(before)) for the means and the closure alike.
      l.z1[j * kLatentDim + f] = z0[f] + (d.g_after[2 * j + f] - d.g_before[2 * j + f]);
      l.z1[j * kLatentDim + 2 + f] = z0[2 + f] + (code_after[2 * j + f] - code_before[2 * j + f]);
      l.z1_naive[j * kLatentDim + f] = d.g_after[2 * j + f];
      l.z1_naive[j * kLatentDim + 2 + f] = code_after[2 * j + f];
    }
  return l;
}

// z-score statistics of the training latents z0 (mean, unbiased std), docs/design.md §8.6.4.
struct Normalisation {
  double mean[kLatentDim], std[kLatentDim];
  float apply(float z, int k) const { return static_cast<float>((z - mean[k]) / std[k]); }
};

Normalisation normalisation_of(const std::vector<float>& z0) {
  Normalisation n{};
  const std::size_t P = z0.size() / kLatentDim;
  for (int k = 0; k < kLatentDim; ++k) {
    double s = 0, s2 = 0;
    for (std::size_t j = 0; j < P; ++j) s += z0[j * kLatentDim + k];
    const double m = s / static_cast<double>(P);
    for (std::size_t j = 0; j < P; ++j) s2 += (z0[j * kLatentDim + k] - m) * (z0[j * kLatentDim + k] - m);
    n.mean[k] = m;
    n.std[k] = std::sqrt(s2 / static_cast<double>(P - 1));
    if (!(n.std[k] > 0)) throw InputError("latent " + std::to_string(k) + " is constant over the training pairs");
  }
  return n;
}

// Stage 4: latents of every test run, [conditions * runs, frames, 4] (unnormalised).
std::vector<float> test_latents(const Config& c, const learn::FieldAutoencoder& ae, const std::string& path) {
  const std::int64_t conds = static_cast<std::int64_t>(fields::test_conditions(c).size());
  const std::int64_t runs = conds * c.truth_runs, F = c.truth_sweeps;
  std::vector<float> z(static_cast<std::size_t>(runs * F * kLatentDim));
  if (fs::exists(path)) {
    io::DatasetReader r(path);
    r.read_rows("/truth/latent", 0, static_cast<std::uint64_t>(runs), io::DType::f32, z.data());
    log_if(c.progress, "loss-factor: reusing %s\n", path.c_str());
    return z;
  }
  const auto t0 = Clock::now();
  log_if(c.progress, "loss-factor: %lld test runs (%lld conditions) x %lld steps on %d cells\n", static_cast<long long>(runs),
      static_cast<long long>(conds), static_cast<long long>(F), c.large_side);
  Progress progress("loss-factor: test runs", runs, "runs", c.progress);
  std::int64_t done = 0;
  fields::test_runs(c, [&](int cond, std::int64_t run, const float* frames) {
    const std::int64_t i = cond * c.truth_runs + run;
    ae.latents(learn::FieldFrames{c.field_dim, c.large_side, c.patch, F, frames}, z.data() + i * F * kLatentDim);
    progress.update(++done);
  });
  log_if(c.progress, "  %.1f s\n", since(t0));
  const std::string tmp = path + ".tmp";
  {
    io::DatasetWriter w(tmp, io::RootInfo{c.seed, c.system, c.ini_text, kMacrodynVersion});
    w.create_group("/truth", io::GroupInfo{0, c.patch, c.large_side, "none", {"mean_u", "mean_v", "zhat_u", "zhat_v"}});
    w.create_table("/truth/latent", io::DType::f32, {static_cast<std::uint64_t>(F), kLatentDim}, 1, true);
    w.append("/truth/latent", z.data(), static_cast<std::uint64_t>(runs));
    w.commit("/truth", static_cast<std::uint64_t>(runs));
  }
  fs::rename(tmp, path);
  return z;
}

// Stage 5 for one λ: train, roll out from each condition's initial latent, score.
LossFactorRow score_factor(const Config& c, const LossFactorOptions& o, double factor, const learn::LatentPairs& train,
                           const std::vector<float>& truth_norm, std::int64_t conds, const std::string& dir,
                           std::vector<double>& mmd_t) {
  const auto t0 = Clock::now();
  learn::SdeOptions so;
  so.diffusion = learn::Diffusion::full;
  so.loss_factor = factor;
  so.eps = o.eps;
  so.lr = o.lr;
  so.epochs = o.epochs;
  so.batch = o.batch;
  so.seed = o.seed;
  so.device = o.device;
  so.threads = o.threads;
  so.checkpoint = dir + "/checkpoint.pt";
  so.resume = true;
  log_if(c.progress, "loss-factor: lambda = %s: SDE, %d epochs on %lld pairs\n", shortest(factor).c_str(), o.epochs,
      static_cast<long long>(train.size()));
  const learn::SdeModel model = learn::train_sde(train, learn::LatentPairs{kLatentDim, {}, {}, {}}, so,
                                                 [&](const learn::SdeEpochReport& r) {
                                                   if (r.epoch % 10 == 0 || r.epoch == r.epochs)
                                                     log_if(c.progress, "  epoch %d/%d  loss %.5f  lr %.2g  %.0f samples/s\n",
                                                         r.epoch, r.epochs, r.train_loss, r.lr, r.samples_per_s);
                                                 });
  model.export_torchscript(dir);
  const std::int64_t R = c.truth_runs, F = c.truth_sweeps;
  // Initial states: the true initial latent of each condition, one path per true run.
  std::vector<double> z0(static_cast<std::size_t>(conds * R * kLatentDim));
  for (std::int64_t i = 0; i < conds * R; ++i)
    for (int k = 0; k < kLatentDim; ++k)
      z0[static_cast<std::size_t>(i * kLatentDim + k)] = truth_norm[static_cast<std::size_t>((i * F) * kLatentDim + k)];
  macro::SdeFunctions f{kLatentDim, [&](const float* z, std::int64_t B, float* drift, float* sigma) {
                          model.drift(z, B, drift);
                          model.sigma(z, B, sigma);
                        }};
  const auto pred = macro::euler_maruyama(f, z0, static_cast<int>(F - 1), c.field_dt, o.seed + 1);  // [conds*R, F, 4]
  // MMD² per condition and time between the R predicted and the R true latents.
  std::vector<double> mmd(static_cast<std::size_t>(conds * F));
  parallel_for(0, conds * F, c.resolved_threads(), [&](std::int64_t ct, int) {
    const std::int64_t cond = ct / F, t = ct % F;
    std::vector<double> a(static_cast<std::size_t>(R * kLatentDim)), b(a.size());
    for (std::int64_t r = 0; r < R; ++r)
      for (int k = 0; k < kLatentDim; ++k) {
        const std::int64_t i = cond * R + r;
        a[static_cast<std::size_t>(r * kLatentDim + k)] = pred[static_cast<std::size_t>((i * F + t) * kLatentDim + k)];
        b[static_cast<std::size_t>(r * kLatentDim + k)] = truth_norm[static_cast<std::size_t>((i * F + t) * kLatentDim + k)];
      }
    mmd[static_cast<std::size_t>(ct)] = macro::mmd2(a, b, kLatentDim);
  });
  LossFactorRow row;
  row.factor = factor;
  row.per_condition.assign(static_cast<std::size_t>(conds), 0.0);
  mmd_t.assign(static_cast<std::size_t>(F), 0.0);
  for (std::int64_t cond = 0; cond < conds; ++cond)
    for (std::int64_t t = 0; t < F; ++t) {
      const double v = mmd[static_cast<std::size_t>(cond * F + t)];
      row.per_condition[static_cast<std::size_t>(cond)] += v / static_cast<double>(F);
      mmd_t[static_cast<std::size_t>(t)] += v / static_cast<double>(conds);
    }
  for (double v : row.per_condition) row.mmd2 += v / static_cast<double>(conds);
  row.seconds = since(t0);
  return row;
}

void write_result(const std::string& path, const LossFactorRow& r, const std::vector<double>& mmd_t) {
  std::ofstream out(path + ".tmp");
  out.precision(10);
  out << r.factor << " " << r.mmd2 << " " << r.seconds << " " << r.per_condition.size();
  for (double v : r.per_condition) out << " " << v;
  out << "\n" << mmd_t.size();
  for (double v : mmd_t) out << " " << v;
  out << "\n";
  out.close();
  if (!out) throw FileError("cannot write " + path);
  fs::rename(path + ".tmp", path);
}

bool read_result(const std::string& path, LossFactorRow& r, std::vector<double>& mmd_t) {
  std::ifstream in(path);
  std::size_t n = 0;
  if (!(in >> r.factor >> r.mmd2 >> r.seconds >> n)) return false;
  r.per_condition.resize(n);
  for (auto& v : r.per_condition) in >> v;
  if (!(in >> n)) return false;
  mmd_t.resize(n);
  for (auto& v : mmd_t) in >> v;
  return static_cast<bool>(in);
}

// The study's own settings that its kept stages depend on. Not --factors (each λ has
// its own directory), the device, threads or --cached-only.
std::string study_options(const LossFactorOptions& o) {
  std::ostringstream r;
  r << "--ae-epochs = " << o.ae_epochs << "\n--ae-weight-decay = " << shortest(o.ae_weight_decay)
    << "\n--epochs = " << o.epochs << "\n--batch = " << o.batch << "\n--lr = " << shortest(o.lr)
    << "\n--eps = " << shortest(o.eps) << "\n--train-seed = " << o.seed << "\n";
  return r.str();
}

}  // namespace

void validate(const Config& c, const LossFactorOptions& o) {
  validate(c, Job::field);
  if (o.out.empty()) throw InputError("--out must name the study directory");
  if (o.factors.empty()) throw InputError("--factors needs at least one loss factor");
  for (double f : o.factors)
    if (!(f > 0) || !std::isfinite(f)) throw InputError("--factors: " + shortest(f) + " is not a positive number");
  if (o.epochs < 1) throw InputError("--epochs must be at least 1");
  if (o.ae_epochs < 1) throw InputError("--ae-epochs must be at least 1");
  if (!(o.ae_weight_decay >= 0)) throw InputError("--ae-weight-decay must be >= 0");
  if (o.batch < 1) throw InputError("--batch must be at least 1");
  if (!(o.lr > 0)) throw InputError("--lr must be positive");
  if (c.snapshots < 2) throw InputError("large.snapshots must be at least 2 (the latent statistics need two pairs)");
}

std::vector<LossFactorRow> loss_factor_study(const Config& c, const LossFactorOptions& o,
                                             const std::function<std::string(const Config&)>& ini_of) {
  validate(c, o);
  fs::create_directories(o.out);
  check_recipe(o.out, study_recipe(c, ini_of, study_options(o)), !o.cached_only);
  const std::int64_t per_axis = c.large_side / c.patch;
  const std::int64_t K = c.field_dim == 1 ? per_axis : per_axis * per_axis;
  const std::int64_t conds = static_cast<std::int64_t>(fields::test_conditions(c).size());
  std::vector<LossFactorRow> rows;
  std::vector<std::vector<double>> curves;

  auto cached = [&](double f, LossFactorRow& r, std::vector<double>& t) {
    return read_result(o.out + "/lambda-" + shortest(f) + "/result.txt", r, t);
  };
  bool all_cached = true;
  for (double f : o.factors) {
    LossFactorRow r;
    std::vector<double> t;
    all_cached = all_cached && cached(f, r, t);
  }
  if (!o.cached_only && !all_cached) {
    learn::set_torch_threads(o.threads);
    std::vector<float> snapshots;
    const SimulationData data = simulate(c, K, o.out + "/data.h5", snapshots);
    const std::string ae_path = o.out + "/autoencoder.pt";
    std::unique_ptr<learn::FieldAutoencoder> ae;
    if (fs::exists(ae_path)) {
      ae = std::make_unique<learn::FieldAutoencoder>(learn::FieldAutoencoder::load(ae_path));
      log_if(c.progress, "loss-factor: reusing %s\n", ae_path.c_str());
    } else {
      learn::FieldAutoencoderOptions ao;
      ao.epochs = o.ae_epochs;
      ao.weight_decay = o.ae_weight_decay;
      ao.seed = o.seed;
      ao.device = o.device;
      ao.threads = o.threads;
      log_if(c.progress, "loss-factor: closure autoencoder, %d epochs on %lld snapshots of %d cells\n", ao.epochs,
          static_cast<long long>(data.pairs), c.large_side);
      ae = std::make_unique<learn::FieldAutoencoder>(learn::FieldAutoencoder::train(
          learn::FieldFrames{c.field_dim, c.large_side, c.patch, data.pairs, snapshots.data()}, ao,
          [&](const learn::EpochReport& r) {
            log_if(c.progress, "  epoch %d/%d  mse %.3g  %.1f s  %.0f snapshots/s\n", r.epoch, ao.epochs, r.loss, r.seconds,
                r.samples_per_s);
          }));
      ae->save(ae_path + ".tmp");
      fs::rename(ae_path + ".tmp", ae_path);
      ae->export_encoder(o.out + "/encoder.pt");
    }
    const Latents lat = encode(c, *ae, data, snapshots);
    const Normalisation norm = normalisation_of(lat.z0);
    learn::LatentPairs train;
    train.dim = kLatentDim;
    train.z0.resize(lat.z0.size());
    train.z1.resize(lat.z1.size());
    for (std::size_t i = 0; i < lat.z0.size(); ++i) {
      train.z0[i] = norm.apply(lat.z0[i], static_cast<int>(i % kLatentDim));
      train.z1[i] = norm.apply(lat.z1[i], static_cast<int>(i % kLatentDim));
    }
    train.dt.assign(static_cast<std::size_t>(data.pairs), c.field_dt);
    std::vector<float> truth = test_latents(c, *ae, o.out + "/truth.h5");
    for (std::size_t i = 0; i < truth.size(); ++i) truth[i] = norm.apply(truth[i], static_cast<int>(i % kLatentDim));
    for (double f : o.factors) {
      LossFactorRow r;
      std::vector<double> t;
      if (cached(f, r, t)) continue;
      const std::string dir = o.out + "/lambda-" + shortest(f);
      fs::create_directories(dir);
      r = score_factor(c, o, f, train, truth, conds, dir, t);
      write_result(dir + "/result.txt", r, t);
      log_if(c.progress, "loss-factor: lambda = %s: MMD^2 %.5g (%.0f s)\n", shortest(f).c_str(), r.mmd2, r.seconds);
    }
  }
  for (double f : o.factors) {
    LossFactorRow r;
    std::vector<double> t;
    if (!cached(f, r, t)) continue;
    const std::size_t half = t.size() / 2;
    for (std::size_t i = half; i < t.size(); ++i) r.mmd2_late += t[i] / static_cast<double>(t.size() - half);
    rows.push_back(r);
    curves.push_back(t);
  }
  // Table and plots.
  const auto conditions = fields::test_conditions(c);
  std::ofstream csv(o.out + "/loss-factor.csv");
  csv << "# " << o.command_line << "\n# K = " << K << ", " << c.snapshots << " pairs, autoencoder " << o.ae_epochs
      << " epochs (weight decay " << o.ae_weight_decay << "), SDE " << o.epochs << " epochs (batch " << o.batch << ", lr " << o.lr << ", eps " << o.eps
      << ", seed " << o.seed << "), " << conditions.size() << " test conditions x " << c.truth_runs << " runs x "
      << c.truth_sweeps << " states; mmd2_late: mean over t >= T/2\nlambda,mmd2,mmd2_late";
  for (const auto& tc : conditions) csv << ",mmd2_m" << tc.m << "_k" << tc.k;
  csv << ",seconds\n";
  csv.precision(8);
  for (const auto& r : rows) {
    csv << r.factor << "," << r.mmd2 << "," << r.mmd2_late;
    for (double v : r.per_condition) csv << "," << v;
    csv << "," << r.seconds << "\n";
  }
  csv.close();
  if (!rows.empty()) {
    macro::XySeries avg{"mean MMD^2 over time and conditions", {}, {}, {}, {}};
    macro::XySeries late{"mean over t >= T/2", {}, {}, {}, {}};
    for (const auto& r : rows) {
      avg.x.push_back(r.factor);
      avg.y.push_back(r.mmd2);
      late.x.push_back(r.factor);
      late.y.push_back(r.mmd2_late);
    }
    // lambda = K is the method's factor: marked, so the reader sees where it falls.
    macro::plot_xy(o.out + "/loss-factor.png", "predator-prey: loss factor ablation", "loss factor lambda",
                   "MMD^2 (normalised latents)", true, true, {avg, late},
                   {{true, static_cast<double>(K), "lambda = K = " + std::to_string(K)}});
    std::vector<macro::XySeries> per_t;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      macro::XySeries s{"lambda = " + shortest(rows[i].factor), {}, curves[i], {}, {}};
      for (std::size_t t = 0; t < curves[i].size(); ++t) s.x.push_back(static_cast<double>(t) * c.field_dt);
      per_t.push_back(std::move(s));
    }
    macro::plot_xy(o.out + "/mmd-time.png", "predator-prey: MMD^2(t), mean over the test conditions", "t",
                   "MMD^2", false, true, per_t);
  }
  return rows;
}

}  // namespace macrodyn::jobs
