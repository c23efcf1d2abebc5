#include "jobs/loss_factor_study.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/format.hpp"
#include "core/geometry.hpp"
#include "core/stop.hpp"
#include "jobs/evaluate.hpp"
#include "jobs/jobs.hpp"
#include "jobs/study.hpp"
#include "jobs/study_model.hpp"
#include "jobs/study_recipe.hpp"
#include "jobs/train.hpp"
#include "jobs/verdict.hpp"
#include "macro/plot.hpp"
#include "systems/system.hpp"

using namespace macrodyn::systems;

namespace macrodyn::jobs {

namespace {

namespace fs = std::filesystem;

std::string model_dir(const std::string& out, double factor, std::uint64_t seed) {
  return out + "/lambda-" + shortest(factor) + "-s" + std::to_string(seed);
}

double study_lr(const Config& c, const LossFactorOptions& o) {
  return o.lr > 0 ? o.lr : make_system(c.system, c.system_params)->reference_training().lr;
}

TrainOptions train_options(const Config& c, const LossFactorOptions& o, const std::string& dataset,
                           const std::string& out, double factor, std::uint64_t seed) {
  TrainOptions t;
  t.dataset = dataset;
  t.out = out;
  t.method = "kscaled";
  t.loss_factor = factor;
  t.diffusion = make_system(c.system, c.system_params)->reference_training().diffusion;
  t.eps = o.eps;
  t.lr = study_lr(c, o);
  t.epochs = o.epochs;
  t.batch = o.batch;
  t.val_fraction = 0;  // every pair trains (docs/design.md §8.6.4); the score is the evaluation
  t.closure_dim = c.has_closure() ? c.learn_closure_dim : 0;
  t.ae_epochs = o.ae_epochs;
  t.ae_weight_decay = o.ae_weight_decay;
  t.seed = seed;
  t.device = o.device;
  t.threads = o.threads;
  t.resume = true;  // reuse a kept autoencoder and SDE checkpoint
  t.overwrite = true;
  t.progress = c.progress;
  return t;
}

// The study's own settings that its kept stages depend on. Not --factors or the seeds
// after the first (each model has its own directory), the device, threads or
// --cached-only. The first seed trains the shared autoencoder, so it is recorded.
std::string study_options(const Config& c, const LossFactorOptions& o) {
  std::ostringstream r;
  r << "--ae-epochs = " << o.ae_epochs << "\n--ae-weight-decay = " << shortest(o.ae_weight_decay)
    << "\n--epochs = " << o.epochs << "\n--batch = " << o.batch << "\n--lr = " << shortest(study_lr(c, o))
    << "\n--eps = " << shortest(o.eps) << "\n--train-seeds (the first trains the autoencoder) = " << o.seeds.front()
    << "\n";
  return r.str();
}

// row.csv of a model: lambda, seed, mmd2, mmd2_late, rel_error, std ratios, seconds.
std::string row_line(const LossFactorRow& r) {
  std::ostringstream s;
  s.precision(6);
  s << shortest(r.factor) << "," << r.seed << "," << r.mmd2 << "," << r.mmd2_late << "," << r.rel_error;
  for (double v : r.std_ratio) s << "," << v;
  s.precision(1);
  s << std::fixed << "," << r.seconds;
  return s.str();
}

bool read_row(const std::string& path, std::size_t judged, LossFactorRow& r) {
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return false;
  std::vector<double> f;
  std::stringstream ss(line);
  try {
    for (std::string tok; std::getline(ss, tok, ',');) f.push_back(std::stod(tok));
  } catch (const std::exception&) {
    throw FileError(path + " is not a row of this study (" + line + "); delete it to redo the model");
  }
  if (f.size() != 6 + judged) throw FileError(path + " is not a row of this study (" + line + ")");
  r.factor = f[0];
  r.seed = static_cast<std::uint64_t>(f[1]);
  r.mmd2 = f[2];
  r.mmd2_late = f[3];
  r.rel_error = f[4];
  r.std_ratio.assign(f.begin() + 5, f.begin() + 5 + static_cast<std::ptrdiff_t>(judged));
  r.seconds = f.back();
  return true;
}

// MMD²(t) of a model (the first seed's, for the plot): "t mmd2" lines in physical time.
void write_curve(const std::string& path, const EvaluationResult& res) {
  std::ofstream f(path + ".tmp");
  f.precision(8);
  for (std::size_t i = 0; i < res.mmd_times.size(); ++i)
    f << static_cast<double>(res.mmd_times[i]) * res.delta * res.time_unit << " " << res.mmd2_time[i] << "\n";
  f.close();
  if (!f) throw FileError("cannot write " + path);
  fs::rename(path + ".tmp", path);
}

macro::XySeries read_curve(const std::string& path, const std::string& label) {
  macro::XySeries s{label, {}, {}, {}, {}};
  std::ifstream in(path);
  for (double t, v; in >> t >> v;) {
    s.x.push_back(t);
    s.y.push_back(v);
  }
  return s;
}

}  // namespace

std::vector<LossFactorSummary> summarise(const std::vector<LossFactorRow>& rows) {
  std::vector<double> factors;
  for (const auto& r : rows)
    if (std::find(factors.begin(), factors.end(), r.factor) == factors.end()) factors.push_back(r.factor);
  std::sort(factors.begin(), factors.end());
  std::vector<LossFactorSummary> out;
  for (double f : factors) {
    std::vector<double> all, late;
    for (const auto& r : rows)
      if (r.factor == f) {
        all.push_back(r.mmd2);
        late.push_back(r.mmd2_late);
      }
    const Spread a = spread_of(all), l = spread_of(late);
    out.push_back({f, static_cast<int>(all.size()), a.median, a.min, a.max, l.median, l.min, l.max});
  }
  return out;
}

void validate(const Config& c, const LossFactorOptions& o) {
  if (o.out.empty()) throw InputError("--out must name the study directory");
  Config s = c;  // the stages' configs: outputs in the study directory
  s.overwrite = true;
  s.output = o.out + "/data.h5";
  validate(s, Job::generate);
  s.output = o.out + "/truth.h5";
  validate(s, Job::simulate);
  if (o.factors.empty()) throw InputError("--factors needs at least one loss factor");
  for (double f : o.factors)
    if (!(f > 0) || !std::isfinite(f)) throw InputError("--factors: " + shortest(f) + " is not a positive number");
  if (o.seeds.empty()) throw InputError("--train-seeds needs at least one seed");
  if (o.epochs < 1) throw InputError("--epochs must be at least 1");
  if (o.ae_epochs < 1) throw InputError("--ae-epochs must be at least 1");
  if (o.batch < 1) throw InputError("--batch must be at least 1");
  if (!(o.lr >= 0)) throw InputError("--lr must be positive (or 0 for the system's reference value)");
  if (!(o.eps > 0)) throw InputError("--eps must be positive");
  if (c.snapshots < 2) throw InputError("large.snapshots must be at least 2 (the latent statistics need two pairs)");
}

std::vector<LossFactorRow> loss_factor_study(const Config& c, const LossFactorOptions& o,
                                             const std::function<std::string(const Config&)>& ini_of) {
  if (!o.out.empty()) fs::create_directories(o.out);
  validate(c, o);
  // What macrodyn run alone reads is not part of the study's recipe.
  const std::vector<std::string> unread{"learn", "stream", "team", "verdict"};
  check_recipe(o.out, study_recipe(c, ini_of, study_options(c, o), unread), !o.cached_only, "a study", unread);
  const auto system = make_system(c.system, c.system_params);
  const std::int64_t K = Tiling{system->dim(), c.large_side, c.patch}.patches();
  const std::vector<std::string> judged = system->judged_observables();

  const std::string truth = o.out + "/truth.h5", data = o.out + "/data.h5";
  auto stage = [&](const std::string& path, const std::string& what, void (*job)(const Config&)) {
    if (stage_done(path + ".done") || o.cached_only) return;
    study_say(what);
    Config s = c;
    s.output = path;
    s.overwrite = true;
    s.ini_text = ini_of(s);
    job(s);
    mark_stage_done(path + ".done");
  };
  stage(truth, "truth: " + std::to_string(c.truth_runs * static_cast<std::int64_t>(std::max<std::size_t>(1, c.truth_m0.size()))) +
                   " runs x " + std::to_string(c.truth_sweeps + 1) + " frames of side " + std::to_string(c.large_side),
        [](const Config& s) { simulate(s); });
  stage(data, "data: " + std::to_string(c.snapshots) + " pairs", [](const Config& s) { generate(s); });

  // One autoencoder (the first model trains it) and one set of latents for every model,
  // so that models differ only in λ and the SDE's seed.
  const std::string first = model_dir(o.out, o.factors.front(), o.seeds.front());
  SharedLatents shared{first, nullptr};
  TruthCache truth_cache;
  std::vector<LossFactorRow> rows;
  std::vector<std::string> warnings;
  for (double f : o.factors)
    for (std::uint64_t seed : o.seeds) {
      const std::string dir = model_dir(o.out, f, seed);
      const std::string what = "lambda = " + shortest(f) + " seed " + std::to_string(seed);
      LossFactorRow r;
      if (read_row(dir + "/row.csv", judged.size(), r)) {
        rows.push_back(r);
        continue;
      }
      if (o.cached_only) {
        study_say(what + ": not finished, left out of the table");
        continue;
      }
      const auto start = std::chrono::steady_clock::now();
      TrainOptions t = train_options(c, o, data, dir, f, seed);
      t.latent_cache = o.out + "/latent.h5";
      train_study_model(t, shared, what);
      const EvaluateOptions e = study_evaluation(dir, truth, seed + 1, o.device, o.threads,
                                                 system->reference_training().interpolate_truth, truth_cache);
      study_say(what + ": evaluation");
      const EvaluationResult res = evaluate_model(e);
      r.factor = f;
      r.seed = seed;
      r.mmd2 = res.mean.mmd2;
      r.mmd2_late = res.mean.mmd2_late;
      r.rel_error = res.mean.rel_error;
      for (const auto& name : judged) {
        const auto at = static_cast<std::size_t>(std::find(res.variables.begin(), res.variables.end(), name) -
                                                 res.variables.begin());
        const double st = res.mean.eq_std_true.at(at);
        r.std_ratio.push_back(st > 0 ? res.mean.eq_std_pred.at(at) / st : 0.0);
      }
      r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      write_curve(dir + "/mmd-time.txt", res);
      {
        std::ofstream w(dir + "/warnings.txt");
        for (const auto& line : judge(res, judged, e.ensemble).warnings) w << line << "\n";
      }
      // Written whole or not at all: a model's row.csv marks it finished, and a
      // half-written row would stop every rerun.
      write_file_atomically(dir + "/row.csv", row_line(r) + "\n");
      read_row(dir + "/row.csv", judged.size(), r);  // as a rerun reads it, so fresh and cached tables agree
      study_say(what + ": MMD^2 " + shortest(r.mmd2) + " (t >= T/2: " + shortest(r.mmd2_late) + ")");
      rows.push_back(r);
      check_stop("study models up to " + what + " (rerun to resume)");
    }
  for (const auto& r : rows) {
    std::ifstream in(model_dir(o.out, r.factor, r.seed) + "/warnings.txt");
    for (std::string line; std::getline(in, line);)
      warnings.push_back("lambda = " + shortest(r.factor) + " seed " + std::to_string(r.seed) + ": " + line);
  }

  // Tables.
  const auto summary = summarise(rows);
  std::ostringstream header;
  header << "# macrodyn study loss-factor: system " << c.system << " (" << resolved_system_params(c).describe() << "), L "
         << c.large_side << ", patch " << c.patch << ", K = " << K << "\n"
         << "# " << c.snapshots << " pairs; autoencoder " << o.ae_epochs << " epochs (shared), SDE " << o.epochs
         << " epochs, batch " << o.batch << ", lr " << shortest(study_lr(c, o)) << ", eps " << shortest(o.eps)
         << "; truth " << c.truth_runs << " runs x " << c.truth_sweeps + 1 << " frames per initial condition\n"
         << "# mmd2: evaluate's MMD^2 in model coordinates, mean over grid times and initial conditions; mmd2_late: "
            "over t >= T/2; std_ratio: predicted / true ensemble std at t >= T/2\n"
         << "# command: " << o.command_line << "\n";
  {
    std::ofstream f(o.out + "/loss-factor.csv");
    f << header.str() << "lambda,seed,mmd2,mmd2_late,rel_error";
    for (const auto& n : judged) f << ",std_ratio_" << n;
    f << ",seconds\n";
    for (const auto& r : rows) f << row_line(r) << "\n";
  }
  {
    std::ofstream f(o.out + "/loss-factor-summary.csv");
    f << header.str() << "# per lambda over the training seeds: median, min, max\n"
      << "lambda,seeds,mmd2_median,mmd2_min,mmd2_max,mmd2_late_median,mmd2_late_min,mmd2_late_max\n";
    for (const auto& s : summary) {
      char b[256];
      std::snprintf(b, sizeof b, "%s,%d,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g", shortest(s.factor).c_str(), s.seeds,
                    s.mmd2_median, s.mmd2_min, s.mmd2_max, s.late_median, s.late_min, s.late_max);
      f << b << "\n";
    }
  }
  // The verdict: where the median MMD² is least, against K.
  if (!summary.empty()) {
    std::size_t best = 0, at_k = summary.size();
    for (std::size_t i = 0; i < summary.size(); ++i) {
      if (summary[i].mmd2_median < summary[best].mmd2_median) best = i;
      if (summary[i].factor == static_cast<double>(K)) at_k = i;
    }
    std::ostringstream v;
    v << "minimum of the median MMD^2 over " << summary[best].seeds << " seed(s) at lambda = "
      << shortest(summary[best].factor) << " (MMD^2 " << shortest(summary[best].mmd2_median) << "); K = " << K << ": ";
    if (at_k == summary.size()) v << "lambda = K is not among --factors, so the method's factor is not tested";
    else if (best == at_k) v << "the minimum is at lambda = K";
    else if (best + 1 == at_k || at_k + 1 == best)
      v << "the minimum is next to lambda = K (MMD^2 at K " << shortest(summary[at_k].mmd2_median) << ")";
    else v << "the minimum is away from lambda = K (MMD^2 at K " << shortest(summary[at_k].mmd2_median) << ")";
    std::ofstream(o.out + "/verdict.txt") << v.str() << "\n";
    study_say(v.str());
  }
  {
    std::ofstream f(o.out + "/warnings.txt");
    for (const auto& w : warnings) f << w << "\n";
  }
  if (!warnings.empty())
    study_say("warning: " + std::to_string(warnings.size()) + " suspect result(s), listed in " + o.out + "/warnings.txt");

  // Plots: the score against λ (median, the seeds' range as bars), and MMD²(t) per λ.
  if (!summary.empty()) {
    macro::XySeries all{"MMD^2, mean over time and conditions (median over seeds)", {}, {}, {}, {}};
    macro::XySeries late{"MMD^2 over t >= T/2 (median over seeds)", {}, {}, {}, {}};
    for (const auto& s : summary) {
      all.x.push_back(s.factor);
      all.y.push_back(s.mmd2_median);
      all.lo.push_back(s.mmd2_min);
      all.hi.push_back(s.mmd2_max);
      late.x.push_back(s.factor);
      late.y.push_back(s.late_median);
      late.lo.push_back(s.late_min);
      late.hi.push_back(s.late_max);
    }
    macro::plot_xy(o.out + "/loss-factor.png", c.system + ": loss factor ablation", "loss factor lambda",
                   "MMD^2 (model coordinates)", true, true, {all, late},
                   {{true, static_cast<double>(K), "lambda = K = " + std::to_string(K)}});
    std::vector<macro::XySeries> curves;
    for (double f : o.factors) {
      const std::string path = model_dir(o.out, f, o.seeds.front()) + "/mmd-time.txt";
      if (fs::exists(path)) curves.push_back(read_curve(path, "lambda = " + shortest(f)));
    }
    if (!curves.empty())
      macro::plot_xy(o.out + "/mmd-time.png",
                     c.system + ": MMD^2(t), mean over the initial conditions (seed " + std::to_string(o.seeds.front()) + ")",
                     "physical time", "MMD^2", false, true, curves);
  }
  return rows;
}

}  // namespace macrodyn::jobs
