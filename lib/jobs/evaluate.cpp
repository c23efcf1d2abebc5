// macrodyn evaluate: ensembles of the learned SDE against ground truth (see evaluate.hpp
// for the protocol, truth.hpp for the coordinates).
#include "jobs/evaluate.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <sstream>

#include "core/error.hpp"
#include "core/output_guard.hpp"
#include "core/parallel.hpp"
#include "core/progress.hpp"
#include "io/dataset.hpp"
#include "jobs/config.hpp"
#include "jobs/model_dir.hpp"
#include "learn/exported.hpp"
#include "learn/sde.hpp"
#include "macro/metrics.hpp"
#include "macro/plot.hpp"
#include "systems/system.hpp"

using namespace macrodyn::systems;

namespace macrodyn::jobs {

namespace fs = std::filesystem;

namespace {

constexpr double kMmdBudget = 2e8;  // kernel evaluations for the automatic stride

std::string short3(double v) {
  char b[40];
  std::snprintf(b, sizeof b, "%.3g", v);
  return b;
}

void say(const EvaluateOptions& o, const std::string& line) {
  if (o.log) o.log(line);
}

// Rows `rows` of an ensemble [R, T, d] -> [rows.size(), T, d].
std::vector<double> gather_runs(const std::vector<double>& ens, std::int64_t T, int d,
                                const std::vector<std::int64_t>& rows) {
  const std::int64_t n = T * d;
  std::vector<double> out(rows.size() * static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < rows.size(); ++i)
    std::copy_n(ens.begin() + rows[i] * n, n, out.begin() + static_cast<std::int64_t>(i) * n);
  return out;
}

// Samples of an ensemble [R, T, d] at time k -> [R, d].
std::vector<double> at_time(const std::vector<double>& ens, std::int64_t T, int d, std::int64_t k) {
  const std::int64_t R = static_cast<std::int64_t>(ens.size()) / (T * d);
  std::vector<double> out(static_cast<std::size_t>(R * d));
  for (std::int64_t r = 0; r < R; ++r) std::copy_n(ens.begin() + (r * T + k) * d, d, out.begin() + r * d);
  return out;
}

}  // namespace

ModelInfo check_evaluate_options(const EvaluateOptions& o) {
  if (o.ensemble < 1) throw InputError("--ensemble must be at least 1, not " + std::to_string(o.ensemble) + ".");
  if (o.substeps < 0) throw InputError("--substeps must be 0 (automatic) or positive, not " + std::to_string(o.substeps) + ".");
  check_threads(o.threads, "--threads");
  if (o.mmd_stride < 0) throw InputError("--mmd-stride must be 0 (automatic) or positive.");
  if (o.output_dir.empty()) throw InputError("--output is required (a directory for metrics.csv and the plots).");
  refuse_output_dir_is_input({o.output_dir, "--output"}, {{o.model_dir, "--model"}});
  refuse_output_is_input({o.output_dir, "--output"}, {{o.truth_path, "--truth"}});
  ModelInfo info = read_model_dir(o.model_dir);
  check_device(o.device);
  check_truth_for_model(info, o.model_dir, o.truth_path);
  if (!info.conditions.empty()) {  // evaluated at the truth's value of the condition
    io::DatasetReader r(o.truth_path);
    const auto truth = resolve_system_params(info.system, system_params_in_ini(r.attr_string("/", "config")));
    info = at_condition(info, truth.get(info.conditions[0]), "--truth " + o.truth_path);
  }
  if (o.plots && std::system("gnuplot --version >/dev/null 2>&1") != 0)
    throw InputError("the plots need the gnuplot program (apt-get install gnuplot-nox); pass --no-plots to skip them.");
  if (fs::exists(o.output_dir) && !fs::is_directory(o.output_dir))
    throw InputError("--output " + o.output_dir + " exists and is not a directory.");
  make_output_dir(o.output_dir, "--output");
  return info;
}

std::string condition_values(const std::vector<double>& values) {
  std::string s;
  for (double v : values) s += (s.empty() ? "" : ":") + shortest(v);
  return s;
}

std::string condition_label(const std::vector<std::string>& columns, const std::vector<double>& values) {
  std::string s;
  for (std::size_t i = 0; i < values.size() && i < columns.size(); ++i)
    s += (s.empty() ? "" : ", ") + columns[i] + " = " + shortest(values[i]);
  return s;
}

std::string condition_tag(const std::vector<std::string>& columns, const std::vector<double>& values) {
  std::string s;
  for (std::size_t i = 0; i < values.size() && i < columns.size(); ++i)
    s += (s.empty() ? "" : "_") + columns[i] + "_" + shortest(values[i]);
  return s;
}

EvaluationResult evaluate_model(const EvaluateOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  const ModelInfo info = check_evaluate_options(o);
  const std::string device = check_device(o.device);
  {
    io::DatasetReader r(o.truth_path);
    const SystemParams truth = system_params_in_ini(r.has_attr("/", "config") ? r.attr_string("/", "config") : "");
    bool differ = false;
    for (const auto& v : truth.values())
      if (info.params.has(v.key) && std::fabs(v.value - info.params.get(v.key)) > 1e-9 * std::max(1.0, std::fabs(v.value)))
        differ = true;
    if (differ)
      say(o, "warning: the truth " + o.truth_path + " was simulated at " + truth.describe() +
                 ", the model was trained at " + info.params.describe());
  }
  say(o, "model " + o.model_dir + ": " + info.system + ", " + info.method + ", L " + std::to_string(info.L) + ", patch " +
             std::to_string(info.patch) + ", K " + std::to_string(info.K) + ", z = (" + join(info.variables, ", ") +
             "), device " + device);
  learn::set_torch_threads(o.threads);  // the encoder's convolutions
  const learn::ExportedSde sde = load_sde(o.model_dir, info, device);
  std::unique_ptr<learn::ExportedEncoder> encoder;
  if (info.closure_dim > 0)
    encoder = std::make_unique<learn::ExportedEncoder>(o.model_dir + "/" + info.encoder, static_cast<int>(info.patch),
                                                       static_cast<int>(info.closure_dim), device);
  std::string key = o.truth_path + "|" + std::to_string(info.patch) + "|" + std::to_string(info.time_unit);
  for (int k = 0; k < info.dim(); ++k) key += "|" + shortest(info.offset[k]) + "/" + shortest(info.scale[k]);
  if (!info.encoder.empty()) key += "|" + std::to_string(fs::file_size(o.model_dir + "/" + info.encoder));
  TruthMacrostates computed;
  const bool cached = o.truth_cache && o.truth_cache->key == key;
  if (!cached) {
    computed = truth_macrostates(info, o.model_dir, o.truth_path, encoder.get(), o.threads, o.progress);
    if (o.truth_cache) *o.truth_cache = TruthCache{key, computed};
  }
  const TruthMacrostates& truth = cached ? o.truth_cache->truth : computed;
  say(o, "truth " + o.truth_path + ": " + std::to_string(truth.runs) + " runs x " + std::to_string(truth.frames) +
             " frames, macrostates " + (truth.from_states ? "recomputed from the states" : "from the stored observables"));
  EvaluationResult res = evaluate_truth(info, truth, sde_functions(sde), o);
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return res;
}

EvaluationResult evaluate_truth(const ModelInfo& info, const TruthMacrostates& truth, const macro::SdeFunctions& sde,
                                const EvaluateOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  const int d = info.dim();
  const std::int64_t R = truth.runs, T = truth.frames, E = o.ensemble;
  if (truth.dim != d || sde.dim != d)
    throw InputError("evaluate: the truth (" + std::to_string(truth.dim) + ") and the SDE (" + std::to_string(sde.dim) +
                     ") do not have the model's dimension " + std::to_string(d) + ".");
  if (R < 1 || T < 2) throw InputError("evaluate: the truth needs at least one run of at least 2 frames.");
  if (E < 1) throw InputError("--ensemble must be at least 1, not " + std::to_string(E) + ".");
  if (static_cast<double>(R) * static_cast<double>(E) * static_cast<double>(T) * d > 4e8)
    throw InputError("--ensemble " + std::to_string(E) + " x " + std::to_string(R) + " truth runs x " + std::to_string(T) +
                     " frames is too large (more than 4e8 values held in memory).");
  const int threads = resolve_threads(o.threads);

  EvaluationResult res;
  res.variables = info.variables;
  res.time_unit = info.time_unit;
  res.from_states = truth.from_states;

  // Grid: Delta = mean physical sweep duration (frames >= 1) in model units.
  double sum = 0.0;
  for (std::int64_t r = 0; r < R; ++r)
    for (std::int64_t k = 1; k < T; ++k) sum += truth.durations[static_cast<std::size_t>(r * T + k)];
  res.delta = sum / static_cast<double>(R * (T - 1)) / info.time_unit;
  if (!(std::isfinite(res.delta) && res.delta > 0))
    throw FileError(o.truth_path + ": the mean sweep duration of the truth is not positive (" + num(res.delta) + ").");
  res.times.resize(static_cast<std::size_t>(T));
  for (std::int64_t k = 0; k < T; ++k) res.times[static_cast<std::size_t>(k)] = static_cast<double>(k) * res.delta;

  // The truth on the grid [R, T, d], model coordinates.
  std::vector<double> truth_grid(static_cast<std::size_t>(R * T * d));
  if (o.interpolate) {
    std::vector<double> own(static_cast<std::size_t>(T)), values(static_cast<std::size_t>(T * d));
    for (std::int64_t r = 0; r < R; ++r) {
      double c = 0.0;
      for (std::int64_t k = 0; k < T; ++k) {
        const double dur = truth.durations[static_cast<std::size_t>(r * T + k)];
        if (k > 0 && !(dur > 0 && std::isfinite(dur)))
          throw FileError(o.truth_path + ": run " + std::to_string(r) + " has a non-positive duration at frame " +
                          std::to_string(k) + ".");
        c += k > 0 ? dur : 0.0;
        own[static_cast<std::size_t>(k)] = c / info.time_unit;
      }
      std::copy_n(truth.z.begin() + r * T * d, T * d, values.begin());
      const auto g = macro::interpolate_to_grid(own, values, res.times, d);
      std::copy(g.begin(), g.end(), truth_grid.begin() + r * T * d);
    }
  } else {
    truth_grid = truth.z;
  }

  // Prediction: E trajectories per run from its frame-0 macrostate.
  std::vector<double> z0(static_cast<std::size_t>(R * E * d));
  for (std::int64_t r = 0; r < R; ++r)
    for (std::int64_t e = 0; e < E; ++e)
      std::copy_n(truth.z.begin() + r * T * d, d, z0.begin() + (r * E + e) * d);
  const double train_step = info.pair_dt > 0 ? info.pair_dt / info.time_unit : res.delta;
  const auto sub = static_cast<std::int64_t>(
      o.substeps > 0 ? o.substeps : std::max(1.0, std::ceil(res.delta / train_step * (1 - 1e-12))));
  say(o, "rollout: " + std::to_string(R * E) + " trajectories x " + std::to_string((T - 1) * sub) + " steps, dt = " +
             shortest(res.delta / static_cast<double>(sub)) + " model units");
  Progress meter("evaluate: rollout", R * E, "trajectories", o.progress);
  std::vector<double> pred =
      macro::euler_maruyama(sde, z0, static_cast<int>((T - 1) * sub), res.delta / static_cast<double>(sub), o.seed, 4096,
                            [&](std::int64_t done, std::int64_t) { meter.update(done); });
  if (sub > 1) {  // every sub-th point: the truth's grid
    const std::int64_t fine = (T - 1) * sub + 1;
    for (std::int64_t j = 0; j < R * E; ++j)
      for (std::int64_t k = 0; k < T; ++k)
        std::copy_n(pred.begin() + (j * fine + k * sub) * d, d, pred.begin() + (j * T + k) * d);
    pred.resize(static_cast<std::size_t>(R * E * T * d));
  }
  {
    const auto ranges = make_system(info.system, info.params)->observable_ranges();
    std::vector<std::int64_t> outside(static_cast<std::size_t>(d), 0);
    for (std::size_t i = 0; i < pred.size(); ++i) {
      const auto k = static_cast<std::size_t>(i % static_cast<std::size_t>(d));
      if (!std::isfinite(pred[i])) {
        ++res.non_finite;
        continue;
      }
      if (k >= ranges.size()) continue;
      const double z = pred[i] * info.scale[k] + info.offset[k];  // physical
      if (z < ranges[k].lo || z > ranges[k].hi) ++outside[k];
    }
    const double points = static_cast<double>(pred.size() / static_cast<std::size_t>(d));
    for (int k = 0; k < d; ++k) res.out_of_range.push_back(static_cast<double>(outside[static_cast<std::size_t>(k)]) / points);
  }

  // Groups by exact initial condition.
  res.initial_columns = truth.initial_columns;
  const std::size_t q = truth.initial_columns.size();
  std::map<std::vector<double>, std::vector<std::int64_t>> groups;
  for (std::int64_t r = 0; r < R; ++r) {
    const auto at = truth.initial.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(r) * q);
    groups[std::vector<double>(at, at + static_cast<std::ptrdiff_t>(q))].push_back(r);
  }
  if (R > 1 && groups.size() == static_cast<std::size_t>(R))
    say(o, "warning: every truth run has its own initial condition (simulated with truth.init = random?): each "
           "group's truth ensemble is a single trajectory");
  std::int64_t largest = 0;
  for (const auto& g : groups) largest = std::max<std::int64_t>(largest, static_cast<std::int64_t>(g.second.size()));
  const double per_time = std::pow(static_cast<double>(largest * (1 + E)), 2.0);
  res.mmd_stride = o.mmd_stride > 0 ? o.mmd_stride
                                    : std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(per_time * T / kMmdBudget)));
  std::vector<std::int64_t> mmd_times;
  for (std::int64_t k = 0; k < T; k += res.mmd_stride) mmd_times.push_back(k);
  res.mmd_times = mmd_times;

  for (const auto& [initial, runs] : groups) {
    GroupMetrics g;
    g.initial = initial;
    g.runs = static_cast<std::int64_t>(runs.size());
    std::vector<std::int64_t> prow;
    for (std::int64_t r : runs)
      for (std::int64_t e = 0; e < E; ++e) prow.push_back(r * E + e);
    const auto tr = gather_runs(truth_grid, T, d, runs);
    const auto pr = gather_runs(pred, T, d, prow);
    const auto mt = macro::ensemble_mean(tr, T, d), mp = macro::ensemble_mean(pr, T, d);
    g.rel_error = macro::relative_error(mp, mt);
    g.rel_error_per_dim = macro::relative_error_per_dim(mp, mt, d);

    std::vector<double> mmd(mmd_times.size());
    parallel_for(0, static_cast<std::int64_t>(mmd_times.size()), threads, [&](std::int64_t i, int) {
      const std::int64_t k = mmd_times[static_cast<std::size_t>(i)];
      mmd[static_cast<std::size_t>(i)] = macro::mmd2(at_time(pr, T, d, k), at_time(tr, T, d, k), d);
    });
    double s = 0.0, late = 0.0;
    std::int64_t n_late = 0;
    res.mmd2_time.resize(mmd.size(), 0.0);
    for (std::size_t i = 0; i < mmd.size(); ++i) {
      s += mmd[i];
      res.mmd2_time[i] += mmd[i] / static_cast<double>(groups.size());
      if (2 * mmd_times[i] >= T - 1) {
        late += mmd[i];
        ++n_late;
      }
    }
    g.mmd2 = s / static_cast<double>(mmd.size());
    g.mmd2_late = n_late > 0 ? late / static_cast<double>(n_late) : g.mmd2;

    auto trp = tr, prp = pr;
    to_physical_coordinates(info, trp);
    to_physical_coordinates(info, prp);
    const auto et = macro::equilibrium_stats(trp, T, d), ep = macro::equilibrium_stats(prp, T, d);
    g.eq_mean_true = et.mean;
    g.eq_std_true = et.stddev;
    g.eq_mean_pred = ep.mean;
    g.eq_std_pred = ep.stddev;
    g.mean_true = macro::ensemble_mean(trp, T, d);
    g.std_true = macro::ensemble_std(trp, T, d);
    g.mean_pred = macro::ensemble_mean(prp, T, d);
    g.std_pred = macro::ensemble_std(prp, T, d);
    res.groups.push_back(std::move(g));
  }

  // The mean row: each column averaged over the groups.
  GroupMetrics& m = res.mean;
  const double n = static_cast<double>(res.groups.size());
  m.rel_error_per_dim.assign(d, 0.0);
  m.eq_mean_true.assign(d, 0.0);
  m.eq_mean_pred.assign(d, 0.0);
  m.eq_std_true.assign(d, 0.0);
  m.eq_std_pred.assign(d, 0.0);
  for (const auto& g : res.groups) {
    m.runs += g.runs;
    m.rel_error += g.rel_error / n;
    m.mmd2 += g.mmd2 / n;
    m.mmd2_late += g.mmd2_late / n;
    for (int i = 0; i < d; ++i) {
      m.rel_error_per_dim[i] += g.rel_error_per_dim[i] / n;
      m.eq_mean_true[i] += g.eq_mean_true[i] / n;
      m.eq_mean_pred[i] += g.eq_mean_pred[i] / n;
      m.eq_std_true[i] += g.eq_std_true[i] / n;
      m.eq_std_pred[i] += g.eq_std_pred[i] / n;
    }
  }

  // metrics.csv
  res.metrics_csv = (fs::path(o.output_dir) / "metrics.csv").string();
  {
    std::ostringstream s;
    s << "# macrodyn evaluate: predicted ensembles against ground truth, one row per initial condition, then their mean\n"
      << "# model: " << o.model_dir << " (" << info.system << ", method " << info.method << ", L " << info.L
      << ", patch " << info.patch << ", K " << info.K << ", z = (" << join(info.variables, ", ") << "), diffusion "
      << info.diffusion << ")\n"
      << "# truth: " << o.truth_path << " (" << R << " runs x " << T << " frames; macrostates "
      << (truth.from_states ? "recomputed from the states on the model's tiling" : "from the stored observables") << ")\n"
      << "# time: Delta = " << shortest(res.delta) << " model time units = " << shortest(res.delta * info.time_unit)
      << " physical (time_unit " << shortest(info.time_unit) << ", " << info.time_unit_kind << "); grid t_k = k Delta, k < "
      << T << "; truth " << (o.interpolate ? "interpolated in its own time" : "frame k at t_k (no interpolation)") << "\n"
      << "# prediction: " << E << " Euler-Maruyama trajectories per truth run from its frame-0 macrostate, dt = Delta, "
      << T - 1 << " steps, seed " << o.seed << "\n"
      << "# rel_error*: model coordinates, sum_k (mean_pred - mean_true)^2 / sum_k mean_true^2 over all grid times; "
      << "eq_*: physical coordinates, times t >= T/2; mmd2: model coordinates, mean over the grid times k = 0, s, 2s, ... with s = "
      << res.mmd_stride << " (" << mmd_times.size() << " times)\n";
    s << join(res.initial_columns, ":") << ",runs,rel_error";
    for (const auto& v : info.variables) s << ",rel_error_" << v;
    for (const char* col : {"eq_mean_true_", "eq_mean_pred_", "eq_std_true_", "eq_std_pred_"})
      for (const auto& v : info.variables) s << "," << col << v;
    s << ",mmd2\n";
    auto row = [&](const std::string& label, const GroupMetrics& g) {
      s << label << "," << g.runs << "," << num(g.rel_error);
      for (double v : g.rel_error_per_dim) s << "," << num(v);
      for (const auto* col : {&g.eq_mean_true, &g.eq_mean_pred, &g.eq_std_true, &g.eq_std_pred})
        for (double v : *col) s << "," << num(v);
      s << "," << num(g.mmd2) << "\n";
    };
    for (const auto& g : res.groups) row(condition_values(g.initial), g);
    row("mean", m);
    const std::string tmp = res.metrics_csv + ".tmp";
    {
      std::ofstream f(tmp);
      if (!(f << s.str()) || !f.flush()) throw FileError("cannot write " + tmp + ".");
    }
    fs::rename(tmp, res.metrics_csv);
  }

  // bands.csv: the curves behind the plots, in physical time and coordinates, so that a
  // study can redraw several evaluations on common axes (and a reader can replot them).
  {
    std::ostringstream s;
    s << "# macrodyn evaluate: ensemble mean and std over time per initial condition, physical time and coordinates\n"
      << join(res.initial_columns, ":") << ",time,variable,mean_true,std_true,mean_pred,std_pred\n";
    for (const auto& g : res.groups)
      for (std::size_t k = 0; k < res.times.size(); ++k)
        for (int i = 0; i < d; ++i) {
          const std::size_t j = k * static_cast<std::size_t>(d) + static_cast<std::size_t>(i);
          s << condition_values(g.initial) << "," << num(res.times[k] * info.time_unit) << "," << info.variables[i] << ","
            << num(g.mean_true[j]) << "," << num(g.std_true[j]) << "," << num(g.mean_pred[j]) << ","
            << num(g.std_pred[j]) << "\n";
        }
    const std::string path = (fs::path(o.output_dir) / "bands.csv").string();
    {
      std::ofstream f(path + ".tmp");
      if (!(f << s.str()) || !f.flush()) throw FileError("cannot write " + path + ".tmp.");
    }
    fs::rename(path + ".tmp", path);
  }

  if (o.plots) {
    // One y-range per variable for every initial condition: mean +- std of truth and
    // prediction over all groups, with a 5 % margin.
    std::vector<std::pair<double, double>> yranges(static_cast<std::size_t>(d), {INFINITY, -INFINITY});
    for (const auto& g : res.groups)
      for (const auto* band : {&g.mean_true, &g.mean_pred}) {
        const auto& sd = band == &g.mean_true ? g.std_true : g.std_pred;
        for (std::size_t j = 0; j < band->size(); ++j) {
          auto& r = yranges[j % static_cast<std::size_t>(d)];
          if (!std::isfinite((*band)[j]) || !std::isfinite(sd[j])) continue;
          r.first = std::min(r.first, (*band)[j] - sd[j]);
          r.second = std::max(r.second, (*band)[j] + sd[j]);
        }
      }
    for (auto& r : yranges) {
      const double pad = 0.05 * (r.second - r.first);
      r.first -= pad;
      r.second += pad;
    }
    for (const auto& g : res.groups) {
      const std::string png = (fs::path(o.output_dir) / ("bands_" + condition_tag(res.initial_columns, g.initial) + ".png")).string();
      std::vector<macro::BandSeries> series{
          {"truth (" + std::to_string(g.runs) + " runs)", res.times, g.mean_true, g.std_true},
          {"prediction (" + info.method + ", " + std::to_string(g.runs * E) + " runs)", res.times, g.mean_pred,
           g.std_pred}};
      macro::plot_ensemble_bands(png,
                                 info.system + " " + info.params.describe() + ", L = " +
                                     std::to_string(info.L) + ", p = " + std::to_string(info.patch) + " (K = " +
                                     std::to_string(info.K) + "), " + info.method + "; initial " + condition_label(res.initial_columns, g.initial) +
                                     ": mean +- std, rel. error " + short3(g.rel_error),
                                 time_label(info), info.variables, series, yranges);
      res.plots.push_back(png);
    }
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return res;
}

}  // namespace macrodyn::jobs
