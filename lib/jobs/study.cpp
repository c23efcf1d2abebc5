#include "jobs/study.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/stop.hpp"
#include "jobs/evaluate.hpp"
#include "jobs/jobs.hpp"
#include "jobs/model_info.hpp"
#include "jobs/model_dir.hpp"
#include "jobs/study_recipe.hpp"
#include "jobs/train.hpp"
#include "macro/plot.hpp"

namespace macrodyn {

namespace fs = std::filesystem;

namespace {

// Reference choices per system (method-notes §2, §3).
bool is_curie_weiss(const Config& c) { return c.system == "curie_weiss"; }

Config cell_config(const Config& base, int p, const StudyOptions& o, const std::string& output) {
  Config c = base;
  c.patch = p;
  c.small_side = p;
  // Below L: snapshots upsampled plus as many random ones; at p = L the small frames are
  // used directly (method-notes §2) and there is no random half.
  const bool upsampled = p < base.large_side;
  c.random_configs = upsampled;
  c.snapshots = upsampled ? (o.pairs + 1) / 2 : o.pairs;
  c.output = output;
  c.overwrite = true;
  return c;
}

// A stage is done when its marker exists; markers are written after the stage's output.
bool done(const std::string& marker) { return fs::exists(marker); }
void mark(const std::string& marker) { std::ofstream(marker) << "done\n"; }

void say(const std::string& s) { log_if(true, "study: %s\n", s.c_str()); }

std::string row_line(const StudyRow& r) {
  char b[512];
  std::snprintf(b, sizeof b, "%d,%lld,%s,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.1f", r.p,
                static_cast<long long>(r.K), r.method.c_str(), r.rel_error, r.rel_error_m, r.eq_mean_m_true,
                r.eq_mean_m_pred, r.eq_std_m_true, r.eq_std_m_pred,
                r.eq_std_m_true > 0 ? r.eq_std_m_pred / r.eq_std_m_true : 0.0, r.mmd2, r.seconds);
  return b;
}

const char* kColumns =
    "p,K,method,rel_error,rel_error_m,eq_mean_m_true,eq_mean_m_pred,eq_std_m_true,eq_std_m_pred,std_ratio_m,mmd2,"
    "seconds";

StudyRow parse_row(const std::string& line) {
  std::stringstream s(line);
  std::string f[12];
  for (auto& x : f) std::getline(s, x, ',');
  StudyRow r;
  r.p = std::stoi(f[0]);
  r.K = std::stoll(f[1]);
  r.method = f[2];
  r.rel_error = std::stod(f[3]);
  r.rel_error_m = std::stod(f[4]);
  r.eq_mean_m_true = std::stod(f[5]);
  r.eq_mean_m_pred = std::stod(f[6]);
  r.eq_std_m_true = std::stod(f[7]);
  r.eq_std_m_pred = std::stod(f[8]);
  r.mmd2 = std::stod(f[10]);
  r.seconds = std::stod(f[11]);
  return r;
}

// The SDE learning rate: the option, or the reference's per system.
double study_lr(const Config& c, const StudyOptions& o) { return o.lr > 0 ? o.lr : (is_curie_weiss(c) ? 1e-2 : 1e-3); }

TrainOptions train_options(const Config& c, const StudyOptions& o, const std::string& dataset, const std::string& out,
                           const std::string& method) {
  TrainOptions t;
  t.dataset = dataset;
  t.out = out;
  t.method = method;
  t.diffusion = !o.diffusion.empty() ? o.diffusion : (is_curie_weiss(c) ? "constant" : "full");
  t.lr = study_lr(c, o);
  t.epochs = o.epochs;
  t.batch = o.batch;
  t.closure_dim = c.has_closure() ? 2 : 0;
  t.ae_epochs = o.ae_epochs;
  t.max_snapshots = o.ae_snapshots;
  t.seed = o.seed;
  t.device = o.device;
  t.threads = o.threads;
  t.resume = true;  // reuse a kept autoencoder and SDE checkpoint
  t.overwrite = true;
  return t;
}

// The study's own settings that its kept stages depend on. Not --patches (each p has
// its own directory), the device, threads or --cached-only.
std::string study_options(const Config& base, const StudyOptions& o) {
  std::ostringstream r;
  r << "--pairs = " << o.pairs << "\n--ae-snapshots = " << o.ae_snapshots << "\n--ae-epochs = " << o.ae_epochs
    << "\n--epochs = " << o.epochs << "\n--lr = " << shortest(study_lr(base, o)) << "\n--diffusion = " << o.diffusion
    << "\n--batch = " << o.batch << "\n--train-seed = " << o.seed << "\n";
  return r.str();
}

std::size_t index_of(const std::vector<std::string>& v, const std::string& name) {
  for (std::size_t i = 0; i < v.size(); ++i)
    if (v[i] == name) return i;
  return 0;
}

}  // namespace

void validate(const Config& base, const StudyOptions& o) {
  if (o.out.empty()) throw InputError("--out (the study directory) is required");
  if (o.patches.empty()) throw InputError("--patches is empty");
  if (o.pairs < 2) throw InputError("--pairs must be >= 2");
  if (o.ae_snapshots < 1) throw InputError("--ae-snapshots must be >= 1");
  if (o.ae_epochs < 1) throw InputError("--ae-epochs must be >= 1");
  if (o.epochs < 1) throw InputError("--epochs must be >= 1");
  if (o.batch < 1) throw InputError("--batch must be >= 1");
  if (base.truth_init != InitialKind::given_m0 || base.truth_m0.empty())
    throw InputError("the study needs truth.init = m0 with a list truth.m0 (the initial magnetisations of the truth runs)");
  for (int p : o.patches) {
    if (p < 1 || base.large_side % p != 0)
      throw InputError("--patches: " + std::to_string(p) + " does not divide large.side " +
                       std::to_string(base.large_side));
    const Config c = cell_config(base, p, o, o.out + "/check.h5");
    validate(c, Job::generate);
  }
  Config truth = base;
  truth.output = o.out + "/truth.h5";
  truth.overwrite = true;
  validate(truth, Job::simulate);
}

std::vector<StudyRow> patch_size_study(const Config& base, const StudyOptions& o,
                                       const std::function<std::string(const Config&)>& ini_of) {
  if (!o.out.empty()) fs::create_directories(o.out);
  validate(base, o);
  check_recipe(o.out, study_recipe(base, ini_of, study_options(base, o)), !o.cached_only);

  // Ground truth: one set of full-size runs for every cell (phi is recomputed per tiling).
  const std::string truth = o.out + "/truth.h5";
  if (!done(truth + ".done") && !o.cached_only) {
    say("truth: " + std::to_string(base.truth_runs * static_cast<std::int64_t>(base.truth_m0.size())) +
        " runs x " + std::to_string(base.truth_sweeps) + " sweeps of side " + std::to_string(base.large_side));
    Config c = base;
    c.output = truth;
    c.overwrite = true;
    c.ini_text = ini_of(c);
    simulate(c);
    mark(truth + ".done");
  }

  std::vector<StudyRow> rows;
  for (int p : o.patches) {
    const std::string cell = o.out + "/p" + std::to_string(p);
    fs::create_directories(cell);
    const std::string data = cell + "/data.h5";
    const bool need_train = !done(cell + "/kscaled/row.csv") || !done(cell + "/naive/row.csv");
    if (o.cached_only) {
      for (const std::string method : {"kscaled", "naive"}) {
        std::ifstream in(cell + "/" + method + "/row.csv");
        std::string line;
        if (std::getline(in, line)) rows.push_back(parse_row(line));
        else say("p = " + std::to_string(p) + " " + method + ": not finished, left out of the table");
      }
      continue;
    }
    if (need_train && !done(data + ".done")) {
      Config c = cell_config(base, p, o, data);
      c.ini_text = ini_of(c);
      say("p = " + std::to_string(p) + ": generating " + std::to_string(o.pairs) + " pairs");
      generate(c);
      mark(data + ".done");
    }
    // One set of latents (one autoencoder) for both methods, so they differ only in the
    // target and the loss factor.
    std::unique_ptr<PreparedLatents> latents;
    TruthCache truth_cache;
    for (const std::string method : {"kscaled", "naive"}) {
      const std::string dir = cell + "/" + method;
      if (done(dir + "/row.csv")) {
        std::ifstream in(dir + "/row.csv");
        std::string line;
        std::getline(in, line);
        rows.push_back(parse_row(line));
        say("p = " + std::to_string(p) + " " + method + ": cached");
        continue;
      }
      const auto start = std::chrono::steady_clock::now();
      auto t = train_options(base, o, data, dir, method);
      if (method == "naive" && base.has_closure()) t.encoder_from = cell + "/kscaled";
      t.latent_cache = cell + "/latent.h5";
      if (!done(dir + "/model.json")) {
        if (!latents) {
          say("p = " + std::to_string(p) + " " + method + ": autoencoder and latents");
          latents = std::make_unique<PreparedLatents>(prepare_latents(t));
        } else if (base.has_closure()) {
          fs::create_directories(dir);
          fs::copy_file(cell + "/kscaled/encoder.pt", dir + "/encoder.pt", fs::copy_options::overwrite_existing);
          fs::copy_file(cell + "/kscaled/autoencoder.bin", dir + "/autoencoder.bin",
                        fs::copy_options::overwrite_existing);
        }
        say("p = " + std::to_string(p) + " " + method + ": SDE");
        fit_sde(t, *latents);
      }
      EvaluateOptions e;
      e.model_dir = dir;
      e.truth_path = truth;
      e.output_dir = dir + "/eval";
      e.seed = o.seed;
      e.device = o.device;
      e.threads = o.threads;
      e.interpolate = !is_curie_weiss(base);
      e.truth_cache = &truth_cache;  // method-notes §2: Curie-Weiss frames, no interpolation
      say("p = " + std::to_string(p) + " " + method + ": evaluation");
      const EvaluationResult res = evaluate_model(e);
      StudyRow r;
      r.p = p;
      r.K = read_model_info(dir).K;
      r.method = method;
      r.rel_error = res.mean.rel_error;
      const std::size_t m = index_of(res.variables, "m");
      r.rel_error_m = res.mean.rel_error_per_dim.at(m);
      r.eq_mean_m_true = res.mean.eq_mean_true.at(m);
      r.eq_mean_m_pred = res.mean.eq_mean_pred.at(m);
      r.eq_std_m_true = res.mean.eq_std_true.at(m);
      r.eq_std_m_pred = res.mean.eq_std_pred.at(m);
      r.mmd2 = res.mean.mmd2;
      r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      // As a rerun reads it back (6 digits), so that a fresh and a cached table are equal.
      r = parse_row(row_line(r));
      std::ofstream(dir + "/row.csv") << row_line(r) << "\n";
      say(std::string("  ") + kColumns + "\n  " + row_line(r));
      rows.push_back(r);
      check_stop("study cells up to p = " + std::to_string(p) + " " + method + " (rerun to resume)");
    }
  }

  std::stable_sort(rows.begin(), rows.end(), [](const StudyRow& a, const StudyRow& b) { return a.p < b.p; });
  // The table, with the budgets in its header, and the plot.
  const std::string csv = o.out + "/patch-size.csv";
  std::ofstream f(csv);
  f << "# macrodyn study patch-size: system " << base.system << " T " << base.T << " h " << base.h << " L "
    << base.large_side << "\n"
    << "# budgets (same for both methods): " << o.pairs << " training pairs per cell, autoencoder "
    << o.ae_snapshots << " snapshots x " << o.ae_epochs << " epochs, SDE " << o.epochs << " epochs, batch " << o.batch
    << ", lr " << study_lr(base, o) << ", seed " << o.seed << "\n"
    << "# truth: " << base.truth_runs << " runs x " << base.truth_sweeps << " sweeps per m0, "
    << base.truth_m0.size() << " m0 values; rel_error = mean over m0 of sum_t (mean_pred - mean_true)^2 / "
    << "sum_t mean_true^2 (all variables, model coordinates); eq_* = ensemble statistics over the last half\n"
    << "# command: " << o.command_line << "\n"
    << kColumns << "\n";
  for (const auto& r : rows) f << row_line(r) << "\n";
  f.close();
  std::vector<macro::XySeries> series(2);
  series[0].label = "K-scaled";
  series[1].label = "naive";
  for (const auto& r : rows) {
    auto& s = series[r.method == "kscaled" ? 0 : 1];
    s.x.push_back(r.p);
    s.y.push_back(r.rel_error);
  }
  macro::plot_xy(o.out + "/patch-size.png",
                 base.system + " (L = " + std::to_string(base.large_side) + "): error of the mean trajectory",
                 "patch side p (K = (L/p)^D)", "relative error of the ensemble mean", true, true, series);
  say("wrote " + csv + " and " + o.out + "/patch-size.png");
  return rows;
}

}  // namespace macrodyn
