// macrodyn study conditions (see condition_study.hpp).
#include "jobs/condition_study.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/format.hpp"
#include "core/geometry.hpp"
#include "core/stop.hpp"
#include "io/dataset.hpp"
#include "jobs/evaluate.hpp"
#include "jobs/jobs.hpp"
#include "jobs/predict.hpp"
#include "jobs/study_recipe.hpp"
#include "jobs/train.hpp"
#include "macro/plot.hpp"
#include "systems/system.hpp"

namespace macrodyn::jobs {

namespace fs = std::filesystem;

namespace {

std::string tag(const ConditionStudyOptions& o, double v) { return o.key + shortest(v); }
std::string side_dir(const ConditionStudyOptions& o, int side) { return o.out + "/L" + std::to_string(side); }
std::string data_path(const ConditionStudyOptions& o, int side, double v) {
  return o.out + "/data/L" + std::to_string(side) + "-" + tag(o, v) + ".h5";
}
std::string truth_path(const ConditionStudyOptions& o, int side, double v) {
  return o.out + "/truth/L" + std::to_string(side) + "-" + tag(o, v) + ".h5";
}

std::vector<std::string> model_names(const ConditionStudyOptions& o) {
  std::vector<std::string> m;
  for (const auto& d : o.drifts) m.push_back("kscaled-" + d);
  if (o.baselines) {
    m.push_back("naive");
    m.push_back("small");
  }
  return m;
}

// A dataset or truth file, made by `job` unless its marker says it is finished.
void stage(const std::string& path, const std::string& what, Config c,
           const std::function<std::string(const Config&)>& ini_of, void (*job)(const Config&)) {
  if (stage_done(path + ".done")) return;
  study_say(what);
  fs::create_directories(fs::path(path).parent_path());
  c.output = path;
  c.overwrite = true;
  c.ini_text = ini_of(c);
  job(c);
  mark_stage_done(path + ".done");
}

// Mean and standard deviation of each observable over the runs and the frames of the
// second half (frames >= frames / 2) of `group`/observables [runs, frames, d].
struct LateStats {
  std::vector<double> mean, sd;
  std::int64_t runs = 0;
};
LateStats late_stats(const std::string& path, const std::string& group) {
  const io::DatasetReader r(path);
  const auto shape = r.shape(group + "/observables");
  if (shape.size() != 3) throw FileError(path + ": " + group + "/observables is not [runs, frames, d]");
  const auto runs = static_cast<std::int64_t>(r.rows_committed(group));
  const auto frames = static_cast<std::int64_t>(shape[1]), d = static_cast<std::int64_t>(shape[2]);
  std::vector<float> g(static_cast<std::size_t>(runs * frames * d));
  r.read_rows(group + "/observables", 0, static_cast<std::uint64_t>(runs), io::DType::f32, g.data());
  LateStats s;
  s.runs = runs;
  s.mean.assign(static_cast<std::size_t>(d), 0.0);
  s.sd.assign(static_cast<std::size_t>(d), 0.0);
  double n = 0;
  for (std::int64_t run = 0; run < runs; ++run)
    for (std::int64_t k = frames / 2; k < frames; ++k, n += 1)
      for (std::int64_t i = 0; i < d; ++i) s.mean[i] += g[(run * frames + k) * d + i];
  for (auto& m : s.mean) m /= n;
  for (std::int64_t run = 0; run < runs; ++run)
    for (std::int64_t k = frames / 2; k < frames; ++k)
      for (std::int64_t i = 0; i < d; ++i) {
        const double e = g[(run * frames + k) * d + i] - s.mean[i];
        s.sd[i] += e * e;
      }
  for (auto& v : s.sd) v = n > 1 ? std::sqrt(v / (n - 1)) : 0.0;
  return s;
}

std::string joined(const std::vector<double>& v) {
  std::string s;
  for (double x : v) s += (s.empty() ? "" : " ") + shortest(x);
  return s;
}
// strtod, not >>: a diverged model's row holds "nan" and "inf", which >> stops at.
std::vector<double> numbers(const std::string& text) {
  std::vector<double> v;
  std::istringstream in(text);
  for (std::string tok; in >> tok;) {
    char* end = nullptr;
    const double x = std::strtod(tok.c_str(), &end);
    if (end == tok.c_str() || *end != '\0') return {};  // not a number: the row is refused
    v.push_back(x);
  }
  return v;
}

// A finished evaluation's row and curves, as `key = numbers` lines (written atomically:
// its existence marks the evaluation finished).
void write_row(const std::string& path, const ConditionStudyRow& r, const std::vector<double>& times,
               const GroupMetrics& g) {
  std::ostringstream s;
  s << "true_mean = " << joined(r.true_mean) << "\ntrue_std = " << joined(r.true_std) << "\npred_mean = "
    << joined(r.pred_mean) << "\npred_std = " << joined(r.pred_std) << "\nreal_mean = " << joined(r.real_mean)
    << "\nreal_std = " << joined(r.real_std) << "\nscores = " << shortest(r.rel_error) << " " << shortest(r.mmd2) << " "
    << shortest(r.mmd2_late) << "\ntimes = " << joined(times) << "\ncurve_true_mean = " << joined(g.mean_true)
    << "\ncurve_true_std = " << joined(g.std_true) << "\ncurve_pred_mean = " << joined(g.mean_pred)
    << "\ncurve_pred_std = " << joined(g.std_pred) << "\n";
  write_file_atomically(path, s.str());
}

struct StoredRow {
  ConditionStudyRow row;
  std::vector<double> times;
  GroupMetrics curves;
};
bool read_row(const std::string& path, StoredRow& out) {
  std::ifstream in(path);
  if (!in) return false;
  std::map<std::string, std::vector<double>> v;
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find(" = ");
    if (eq != std::string::npos) v[line.substr(0, eq)] = numbers(line.substr(eq + 3));
  }
  auto& r = out.row;
  r.true_mean = v["true_mean"], r.true_std = v["true_std"], r.pred_mean = v["pred_mean"], r.pred_std = v["pred_std"];
  r.real_mean = v["real_mean"], r.real_std = v["real_std"];
  const auto& sc = v["scores"];
  if (sc.size() != 3 || r.true_mean.empty() || r.pred_mean.size() != r.true_mean.size())
    throw FileError(path + " is not a finished evaluation row; delete it to redo the evaluation");
  r.rel_error = sc[0], r.mmd2 = sc[1], r.mmd2_late = sc[2];
  out.times = v["times"];
  out.curves.mean_true = v["curve_true_mean"], out.curves.std_true = v["curve_true_std"];
  out.curves.mean_pred = v["curve_pred_mean"], out.curves.std_pred = v["curve_pred_std"];
  return true;
}

TrainOptions train_options(const ConditionStudyOptions& o, int side, const std::string& name) {
  TrainOptions t;
  t.dataset = data_path(o, side, o.train_values.front());
  for (std::size_t i = 1; i < o.train_values.size(); ++i) t.more_datasets.push_back(data_path(o, side, o.train_values[i]));
  t.condition = o.key;
  t.out = side_dir(o, side) + "/" + name;
  t.method = name == "naive" ? "naive" : name == "small" ? "small" : "kscaled";
  t.drift = name.rfind("kscaled-", 0) == 0 ? name.substr(8) : o.baseline_drift;
  t.closure_dim = 0;
  t.epochs = o.epochs;
  t.batch = o.batch;
  t.patience = o.patience;
  t.lr = o.lr;
  t.eps = o.eps;
  t.seed = o.seed;
  t.device = o.device;
  t.threads = o.threads;
  t.resume = fs::exists(t.out + "/recipe.txt");
  t.overwrite = !t.resume;
  t.progress = true;
  return t;
}

std::string options_recipe(const ConditionStudyOptions& o) {
  std::ostringstream r;
  r << "--key = " << o.key << "\n--train-values = " << joined(o.train_values) << "\n--test-values = "
    << joined(o.test_values) << "\n--drifts =";
  for (const auto& d : o.drifts) r << " " << d;
  r << "\n--baselines = " << o.baselines << "\n--epochs = " << o.epochs << "\n--batch = " << o.batch
    << "\n--patience = " << o.patience << "\n--lr = " << shortest(o.lr) << "\n--eps = " << shortest(o.eps)
    << "\n--ensemble = " << o.ensemble << "\n--equilibrium-steps = " << o.equilibrium_steps
    << "\n--equilibrium-ensemble = " << o.equilibrium_ensemble << "\n--seed = " << o.seed << "\n";
  return r.str();
}

// Where a model fails at one test value against a reference (the truth's tiles or its real
// bonds): observables whose late mean is off by more than the reference's std, or whose std
// is off by more than a factor 1.4.
std::string verdict(const std::vector<double>& pred_mean, const std::vector<double>& pred_std,
                    const std::vector<double>& ref_mean, const std::vector<double>& ref_std,
                    const std::vector<std::string>& names) {
  std::string mean_off, std_off;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!(std::fabs(pred_mean[i] - ref_mean[i]) <= ref_std[i])) mean_off += (mean_off.empty() ? "" : ", ") + names[i];
    const double q = ref_std[i] > 0 ? pred_std[i] / ref_std[i] : 0;
    if (!(q >= 1 / 1.4 && q <= 1.4)) std_off += (std_off.empty() ? "" : ", ") + names[i];
  }
  if (mean_off.empty() && std_off.empty()) return "PASS (every mean within the std, every std within a factor 1.4)";
  std::string s = "FAIL:";
  if (!mean_off.empty()) s += " mean off by more than the std in " + mean_off + ";";
  if (!std_off.empty()) s += " std off by more than a factor 1.4 in " + std_off + ";";
  s.pop_back();
  return s;
}

// "mean (std)" with 3 decimals, or 3 significant digits for a diverged value.
std::string mean_std(double m, double sd, int decimals) {
  char b[96];
  const bool plain = std::fabs(m) < 1e3 && std::fabs(sd) < 1e3;
  if (plain) std::snprintf(b, sizeof b, "%.*f (%.*f)", decimals, m, decimals, sd);
  else std::snprintf(b, sizeof b, "%.3g (%.3g)", m, sd);
  return b;
}

}  // namespace

void validate(const ConditionStudyOptions& o, const StudyConfigOf& config_of) {
  if (o.out.empty()) throw InputError("--out (the study directory) is required");
  if (o.key.empty()) throw InputError("--key must name a system key (e.g. T)");
  if (o.train_values.empty()) throw InputError("--train-values gives no value of the key");
  if (o.test_values.empty()) throw InputError("--test-values gives no value of the key");
  if (o.sides.empty()) throw InputError("--sides gives no target size");
  for (const auto& d : o.drifts)
    if (d != "mlp" && d != "onsager") throw InputError("--drifts: a drift is mlp or onsager, not '" + d + "'");
  if (o.baseline_drift != "mlp" && o.baseline_drift != "onsager")
    throw InputError("--baseline-drift must be mlp or onsager, not '" + o.baseline_drift + "'");
  if (o.drifts.empty() && !o.baselines) throw InputError("--drifts is empty and --baselines is off: no model to train");
  if (o.epochs < 1) throw InputError("--epochs must be >= 1");
  if (o.ensemble < 1) throw InputError("--ensemble must be >= 1");
  if (o.equilibrium_steps < 1 || o.equilibrium_ensemble < 1)
    throw InputError("--equilibrium-steps and --equilibrium-ensemble must be >= 1");
  // Every stage's config, validated as its command would (a wrong key fails here).
  for (int side : o.sides) {
    for (double v : o.train_values) {
      const Config c = config_of(side, v, false);
      if (!c.system_params.has(o.key) && !resolved_system_params(c).has(o.key))
        throw InputError("--key " + o.key + ": system " + c.system + " has no key " + o.key);
      validate(c, Job::generate);
    }
    for (double v : o.test_values) validate(config_of(side, v, true), Job::simulate);
  }
}

std::vector<ConditionStudyRow> condition_study(const ConditionStudyOptions& o, const StudyConfigOf& config_of,
                                               const std::function<std::string(const Config&)>& ini_of) {
  validate(o, config_of);
  fs::create_directories(o.out);
  {
    std::string recipe = options_recipe(o);
    for (int side : o.sides) {
      recipe += "# side " + std::to_string(side) + "\n" + study_recipe(config_of(side, o.train_values.front(), false), ini_of, "");
      for (double v : o.test_values)
        recipe += "# truth at " + tag(o, v) + "\n" + study_recipe(config_of(side, v, true), ini_of, "");
    }
    check_recipe(o.out, recipe, !o.cached_only);
  }
  const Config first = config_of(o.sides.front(), o.train_values.front(), false);
  const auto system = make_system(first.system, resolved_system_params(first));
  const std::vector<std::string> names = system->observable_names();
  const bool plots = std::system("gnuplot --version > /dev/null 2>&1") == 0;

  // Size by size (a size's results come before the next size's data): 1. data and truth,
  // 2. models, 3. evaluations.
  std::vector<ConditionStudyRow> rows;
  std::map<std::string, StoredRow> stored;  // by side/model/value
  for (int side : o.sides) {
    if (!o.cached_only) {
      for (double v : o.train_values)
        stage(data_path(o, side, v), "data: side " + std::to_string(side) + ", " + o.key + " = " + shortest(v),
              config_of(side, v, false), ini_of, [](const Config& c) { generate(c); });
      for (double v : o.test_values)
        stage(truth_path(o, side, v), "truth: side " + std::to_string(side) + ", " + o.key + " = " + shortest(v),
              config_of(side, v, true), ini_of, [](const Config& c) { simulate(c); });
    }
    const std::int64_t K = Tiling{system->dim(), side, first.patch}.patches();
    for (const auto& name : model_names(o)) {
      const TrainOptions t = train_options(o, side, name);
      const std::string what = "side " + std::to_string(side) + " " + name;
      if (!stage_done(t.out + "/model.json")) {
        if (o.cached_only) {
          study_say(what + ": not trained, left out");
          continue;
        }
        study_say(what + ": training");
        train(t);
      }
      for (double v : o.test_values) {
        const std::string eval_dir = t.out + "/eval-" + tag(o, v), row_path = eval_dir + "/row.txt";
        StoredRow s;
        if (!read_row(row_path, s)) {
          if (o.cached_only) continue;
          study_say(what + ": evaluation at " + o.key + " = " + shortest(v));
          EvaluateOptions e;
          e.model_dir = t.out;
          e.truth_path = truth_path(o, side, v);
          e.output_dir = eval_dir;
          e.ensemble = o.ensemble;
          e.substeps = 0;
          e.seed = o.seed + 1;
          e.device = o.device;
          e.threads = o.threads;
          e.plots = plots;
          const EvaluationResult res = evaluate_model(e);
          const GroupMetrics& g = res.groups.front();
          s.row.true_mean = res.mean.eq_mean_true, s.row.true_std = res.mean.eq_std_true;
          s.row.pred_mean = res.mean.eq_mean_pred, s.row.pred_std = res.mean.eq_std_pred;
          const LateStats real = late_stats(e.truth_path, "/trajectories");
          s.row.real_mean = real.mean, s.row.real_std = real.sd;
          s.row.rel_error = res.mean.rel_error, s.row.mmd2 = res.mean.mmd2, s.row.mmd2_late = res.mean.mmd2_late;
          for (double tm : res.times) s.times.push_back(tm * res.time_unit);
          s.curves = g;
          write_row(row_path, s.row, s.times, s.curves);
          check_stop("study evaluations up to " + what + " at " + tag(o, v) + " (rerun to resume)");
        }
        s.row.side = side, s.row.K = K, s.row.model = name, s.row.value = v;
        rows.push_back(s.row);
        stored[std::to_string(side) + "/" + name + "/" + shortest(v)] = s;
      }
    }
  }

  // 4. Equilibrium against the key: the small runs (late half), the truth over real bonds,
  // and long rollouts of each K-scaled model from z = 0 at every training value.
  struct EqRow {
    std::string source;
    double value;
    std::vector<double> mean, sd;
  };
  std::vector<EqRow> eq;
  const std::int64_t small_sites = [&] {
    const io::DatasetReader r(data_path(o, o.sides.front(), o.train_values.front()));
    return static_cast<std::int64_t>(r.attr_int("/small", "L"));
  }();
  for (double v : o.train_values) {
    const std::string path = data_path(o, o.sides.front(), v);
    if (!stage_done(path + ".done")) continue;
    const LateStats s = late_stats(path, "/small");
    eq.push_back({"small runs (side " + std::to_string(small_sites) + ")", v, s.mean, s.sd});
  }
  for (int side : o.sides)
    for (double v : o.test_values) {
      const std::string path = truth_path(o, side, v);
      if (!stage_done(path + ".done")) continue;
      const LateStats s = late_stats(path, "/trajectories");
      eq.push_back({"truth side " + std::to_string(side) + " (real bonds)", v, s.mean, s.sd});
    }
  for (int side : o.sides)
    for (const auto& d : o.drifts) {
      const std::string dir = side_dir(o, side) + "/kscaled-" + d;
      if (!stage_done(dir + "/model.json")) continue;
      for (double v : o.train_values) {
        // Outside the model directory: predict never writes into its input.
        const std::string csv = side_dir(o, side) + "/equilibrium/kscaled-" + d + "-" + tag(o, v) + ".csv";
        PredictOptions p;
        p.model_dir = dir;
        p.z0 = {std::vector<double>(names.size(), 0.0)};
        p.steps = o.equilibrium_steps;
        p.ensemble = o.equilibrium_ensemble;
        p.seed = o.seed + 2;
        p.device = o.device;
        p.condition = v;
        p.output_csv = csv;
        const PredictionResult res = predict(p);  // cheap: recomputed on every run
        const std::int64_t T = static_cast<std::int64_t>(res.times.size());
        const std::size_t dd = names.size();
        std::vector<double> mean(dd, 0.0), var(dd, 0.0);
        double n = 0;
        for (std::int64_t k = T / 2; k < T; ++k, n += 1)
          for (std::size_t i = 0; i < dd; ++i) mean[i] += res.mean[k * dd + i];
        for (auto& m : mean) m /= n;
        // Pooled over the ensemble and the late steps: the members' variance plus the
        // spread of the ensemble mean over time.
        for (std::int64_t k = T / 2; k < T; ++k)
          for (std::size_t i = 0; i < dd; ++i) {
            const double e = res.mean[k * dd + i] - mean[i], s = res.stddev[k * dd + i];
            var[i] += (e * e + s * s) / n;
          }
        for (auto& x : var) x = std::sqrt(x);
        eq.push_back({"model side " + std::to_string(side) + " kscaled-" + d, v, mean, var});
      }
    }

  // Tables.
  std::ostringstream header;
  header << "# macrodyn study conditions: system " << first.system << ", condition " << o.key << "; trained at "
         << joined(o.train_values) << ", tested at " << joined(o.test_values) << "\n"
         << "# late = t >= T/2 of the truth's horizon; true_*: the model's macrostate of the truth (the mean over the K "
            "tiles of each tile's observables, wrapping inside the tile); real_*: the truth's whole-lattice "
            "observables (real bonds); pred_*: the model's rollouts from each truth run's initial macrostate\n"
         << "# command: " << o.command_line << "\n";
  {
    std::ofstream f(o.out + "/conditions.csv");
    f << header.str() << "side,K,model," << o.key << ",observable,true_mean,true_std,pred_mean,pred_std,real_mean,"
      << "real_std,rel_error,mmd2,mmd2_late\n";
    for (const auto& r : rows)
      for (std::size_t i = 0; i < names.size(); ++i)
        f << r.side << "," << r.K << "," << r.model << "," << shortest(r.value) << "," << names[i] << ","
          << shortest(r.true_mean[i]) << "," << shortest(r.true_std[i]) << "," << shortest(r.pred_mean[i]) << ","
          << shortest(r.pred_std[i]) << "," << shortest(r.real_mean[i]) << "," << shortest(r.real_std[i]) << ","
          << shortest(r.rel_error) << "," << shortest(r.mmd2) << "," << shortest(r.mmd2_late) << "\n";
  }
  {
    std::ofstream f(o.out + "/equilibrium.csv");
    f << header.str() << "# late-time mean and std of each observable\nsource," << o.key;
    for (const auto& n : names) f << "," << n << "_mean," << n << "_std";
    f << "\n";
    for (const auto& e : eq) {
      f << e.source << "," << shortest(e.value);
      for (std::size_t i = 0; i < names.size(); ++i) f << "," << shortest(e.mean[i]) << "," << shortest(e.sd[i]);
      f << "\n";
    }
  }
  {
    std::ofstream f(o.out + "/report.md");
    f << "# Study: " << first.system << " conditioned on " << o.key << "\n\n"
      << "Trained at " << o.key << " = " << joined(o.train_values) << "; tested at " << joined(o.test_values)
      << ". Late = the second half of the truth's horizon. `tiles` is the macrostate the models learn (the mean over "
         "the K tiles of each tile's observables, each wrapping inside its tile); `real` the same observables over the "
         "real bonds of the whole lattice. Entries are late mean (std).\n\nCommand: `"
      << o.command_line << "`\n";
    for (int side : o.sides)
      for (double v : o.test_values) {
        std::vector<const ConditionStudyRow*> here;
        for (const auto& r : rows)
          if (r.side == side && r.value == v) here.push_back(&r);
        if (here.empty()) continue;
        f << "\n## side " << side << " (K = " << here.front()->K << "), " << o.key << " = " << shortest(v) << "\n\n"
          << "| observable | truth, tiles | truth, real | tiles / real |";
        for (const auto* r : here) f << " " << r->model << " |";
        f << "\n|---|---|---|---|";
        for (std::size_t i = 0; i < here.size(); ++i) f << "---|";
        f << "\n";
        const auto& t = *here.front();
        for (std::size_t i = 0; i < names.size(); ++i) {
          char ratio[32];
          std::snprintf(ratio, sizeof ratio, "%.3f", t.true_mean[i] / t.real_mean[i]);
          f << "| " << names[i] << " | " << mean_std(t.true_mean[i], t.true_std[i], 4) << " | "
            << mean_std(t.real_mean[i], t.real_std[i], 4) << " | " << ratio << " |";
          for (const auto* r : here) f << " " << mean_std(r->pred_mean[i], r->pred_std[i], 4) << " |";
          f << "\n";
        }
        f << "\n";
        char b[128];
        for (const auto* r : here) {
          std::snprintf(b, sizeof b, "rel. error %.4g, MMD^2 %.4g (late %.4g) against the tiles", r->rel_error, r->mmd2,
                        r->mmd2_late);
          f << "- " << r->model << ": " << b << ".\n  - against the tiles: "
            << verdict(r->pred_mean, r->pred_std, r->true_mean, r->true_std, names)
            << "\n  - against the real bonds: " << verdict(r->pred_mean, r->pred_std, r->real_mean, r->real_std, names)
            << "\n";
        }
      }
    f << "\n## Equilibrium against " << o.key << "\n\nLate mean (std); `equilibrium.csv` has every value.\n\n| source | "
      << o.key << " |";
    for (const auto& n : names) f << " " << n << " |";
    f << "\n|---|---|";
    for (std::size_t i = 0; i < names.size(); ++i) f << "---|";
    f << "\n";
    for (const auto& e : eq) {
      f << "| " << e.source << " | " << shortest(e.value) << " |";
      for (std::size_t i = 0; i < names.size(); ++i) f << " " << mean_std(e.mean[i], e.sd[i], 3) << " |";
      f << "\n";
    }
  }

  // Plots.
  if (plots) {
    for (int side : o.sides)
      for (double v : o.test_values) {
        std::vector<macro::BandSeries> series;
        for (const auto& name : model_names(o)) {
          const auto it = stored.find(std::to_string(side) + "/" + name + "/" + shortest(v));
          if (it == stored.end()) continue;
          if (series.empty())
            series.push_back({"truth (tiles)", it->second.times, it->second.curves.mean_true, it->second.curves.std_true});
          series.push_back({name, it->second.times, it->second.curves.mean_pred, it->second.curves.std_pred});
        }
        if (series.empty()) continue;
        macro::plot_ensemble_bands(o.out + "/bands-L" + std::to_string(side) + "-" + tag(o, v) + ".png",
                                   first.system + ", side " + std::to_string(side) + ", " + o.key + " = " + shortest(v) +
                                       ": mean +- std",
                                   "t (physical)", names, series);
      }
    for (std::size_t i = 0; i < names.size(); ++i) {
      std::map<std::string, macro::XySeries> by_source;
      for (const auto& e : eq) {
        auto& s = by_source[e.source];
        s.label = e.source;
        s.x.push_back(e.value);
        s.y.push_back(e.mean[i]);
        s.lo.push_back(e.mean[i] - e.sd[i]);
        s.hi.push_back(e.mean[i] + e.sd[i]);
      }
      std::vector<macro::XySeries> series;
      for (auto& [k, s] : by_source) series.push_back(s);
      if (!series.empty())
        macro::plot_xy(o.out + "/equilibrium-" + names[i] + ".png",
                       first.system + ": late " + names[i] + " against " + o.key + " (bars: std)", o.key, names[i], false,
                       false, series);
    }
  }
  return rows;
}

}  // namespace macrodyn::jobs
