#include "jobs/study.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/stop.hpp"
#include "jobs/evaluate.hpp"
#include "jobs/jobs.hpp"
#include "jobs/model_info.hpp"
#include "jobs/model_dir.hpp"
#include "jobs/study_model.hpp"
#include "jobs/study_recipe.hpp"
#include "jobs/train.hpp"
#include "jobs/verdict.hpp"
#include "macro/plot.hpp"
#include "systems/system.hpp"

using namespace macrodyn::systems;

namespace macrodyn::jobs {

namespace fs = std::filesystem;

namespace {

// The system's reference training (System::reference_training; docs/design.md §8.3, §8.4).
System::ReferenceTraining reference(const Config& c) {
  return make_system(c.system, c.system_params)->reference_training();
}

Config cell_config(const Config& base, int p, const StudyOptions& o, const std::string& output) {
  Config c = base;
  c.patch = p;
  c.small_side = p;
  // Below L: snapshots upsampled plus as many random ones; at p = L the small frames are
  // used directly (docs/design.md §8.3.2) and there is no random half.
  const bool upsampled = p < base.large_side;
  c.random_configs = upsampled;
  c.snapshots = upsampled ? (o.pairs + 1) / 2 : o.pairs;
  c.output = output;
  c.overwrite = true;
  return c;
}

bool done(const std::string& marker) { return stage_done(marker); }
void mark(const std::string& marker) { mark_stage_done(marker); }
void say(const std::string& s) { study_say(s); }

std::string row_line(const StudyRow& r) {
  char b[512];
  std::snprintf(b, sizeof b, "%d,%lld,%s,%llu,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.1f", r.p,
                static_cast<long long>(r.K), r.method.c_str(), static_cast<unsigned long long>(r.seed), r.rel_error, r.rel_error_m, r.eq_mean_m_true,
                r.eq_mean_m_pred, r.eq_std_m_true, r.eq_std_m_pred,
                r.eq_std_m_true > 0 ? r.eq_std_m_pred / r.eq_std_m_true : 0.0, r.mmd2, r.seconds);
  return b;
}

const char* kColumns =
    "p,K,method,seed,rel_error,rel_error_m,eq_mean_m_true,eq_mean_m_pred,eq_std_m_true,eq_std_m_pred,std_ratio_m,mmd2,"
    "seconds";

StudyRow parse_row(const std::string& line) {
  std::stringstream s(line);
  std::string f[13];
  for (auto& x : f) std::getline(s, x, ',');
  StudyRow r;
  r.p = std::stoi(f[0]);
  r.K = std::stoll(f[1]);
  r.method = f[2];
  r.seed = std::stoull(f[3]);
  r.rel_error = std::stod(f[4]);
  r.rel_error_m = std::stod(f[5]);
  r.eq_mean_m_true = std::stod(f[6]);
  r.eq_mean_m_pred = std::stod(f[7]);
  r.eq_std_m_true = std::stod(f[8]);
  r.eq_std_m_pred = std::stod(f[9]);
  r.mmd2 = std::stod(f[11]);
  r.seconds = std::stod(f[12]);
  return r;
}

// The SDE learning rate: the option, or the reference's per system.
double study_lr(const Config& c, const StudyOptions& o) { return o.lr > 0 ? o.lr : reference(c).lr; }

TrainOptions train_options(const Config& c, const StudyOptions& o, const std::string& dataset, const std::string& out,
                           const std::string& method, std::uint64_t seed) {
  TrainOptions t;
  t.dataset = dataset;
  t.out = out;
  t.method = method;
  t.diffusion = !o.diffusion.empty() ? o.diffusion : reference(c).diffusion;
  t.lr = study_lr(c, o);
  t.epochs = o.epochs;
  t.batch = o.batch;
  t.closure_dim = c.has_closure() ? 2 : 0;
  t.ae_epochs = o.ae_epochs;
  t.max_snapshots = o.ae_snapshots;
  t.seed = seed;
  t.device = o.device;
  t.threads = o.threads;
  t.resume = true;  // reuse a kept autoencoder and SDE checkpoint
  t.overwrite = true;
  return t;
}

// The study's own settings that its kept stages depend on. Not --patches or
// --train-seeds (each p and seed has its own directory), the device, threads or
// --cached-only. The first seed trains the shared autoencoder, so it is recorded.
std::string study_options(const Config& base, const StudyOptions& o) {
  std::ostringstream r;
  r << "--pairs = " << o.pairs << "\n--ae-snapshots = " << o.ae_snapshots << "\n--ae-epochs = " << o.ae_epochs
    << "\n--epochs = " << o.epochs << "\n--lr = " << shortest(study_lr(base, o)) << "\n--diffusion = " << o.diffusion
    << "\n--batch = " << o.batch << "\n--train-seeds (the first trains the autoencoder) = " << o.seeds.front() << "\n";
  return r.str();
}

std::size_t index_of(const std::vector<std::string>& v, const std::string& name) {
  for (std::size_t i = 0; i < v.size(); ++i)
    if (v[i] == name) return i;
  return 0;
}

std::string join_numbers(const std::vector<std::uint64_t>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}

// The error (log scale) and the std(m) ratio against p, median over seeds with min-max
// bars. The frames stop at an error of 10 and a ratio of 100 (a model that far off has
// learned nothing; warnings.txt names it), so diverged seeds do not hide the others.
void plot_summary(const Config& base, const StudyOptions& o, const std::vector<StudySummaryRow>& summary) {
  std::vector<macro::XySeries> err(2), ratio(2);
  for (int k = 0; k < 2; ++k) {
    const std::string label = std::string(k == 0 ? "K-scaled" : "naive") + " (" + std::to_string(o.seeds.size()) +
                              " seeds: median, min-max)";
    err[k].label = ratio[k].label = label;
  }
  for (const auto& r : summary) {
    const int k = r.method == "kscaled" ? 0 : 1;
    err[k].x.push_back(r.p);
    err[k].y.push_back(r.rel_error.median);
    err[k].lo.push_back(r.rel_error.min);
    err[k].hi.push_back(r.rel_error.max);
    ratio[k].x.push_back(r.p);
    ratio[k].y.push_back(r.std_ratio_m.median);
    ratio[k].lo.push_back(r.std_ratio_m.min);
    ratio[k].hi.push_back(r.std_ratio_m.max);
  }
  for (auto* v : {&err, &ratio})
    v->erase(std::remove_if(v->begin(), v->end(), [](const macro::XySeries& s) { return s.x.empty(); }), v->end());
  if (err.empty()) return;
  const std::string where =
      base.system + " " + resolved_system_params(base).describe() + ", L = " + std::to_string(base.large_side);
  macro::plot_xy(o.out + "/patch-size.png", where + ": error of the mean trajectory (frame stops at 10)",
                 "patch side p (K = (L/p)^D)", "relative error of the ensemble mean", true, true, err, {}, 10.0);
  macro::plot_xy(o.out + "/std-ratio.png", where + ": std of m predicted / true, later half (frame stops at 100)",
                 "patch side p (K = (L/p)^D)", "std ratio of m", true, true, ratio,
                 {{false, 1.0, "truth"}, {false, 0.8, "verdict range 0.8 - 1.25"}, {false, 1.25, ""}}, 100.0);
}

// bands.csv of one evaluation: per initial condition (its values as written, "0.5"), the
// variable's time series.
struct Bands {
  std::string column;                                               // the header's "m0"
  std::vector<std::string> m0s;
  std::vector<double> times;                                        // of the first condition
  std::map<std::string, std::vector<double>> mt, st, mp, sp;        // per condition: [T]
};

Bands read_bands(const std::string& path, const std::string& variable) {
  Bands b;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (b.column.empty()) {  // the header: the initial condition's column, time, variable, ...
      b.column = line.substr(0, line.find(','));
      continue;
    }
    std::stringstream s(line);
    std::string f[7];
    for (auto& x : f) std::getline(s, x, ',');
    if (f[2] != variable) continue;
    const std::string& m0 = f[0];
    if (b.mt.find(m0) == b.mt.end()) b.m0s.push_back(m0);
    if (m0 == b.m0s.front()) b.times.push_back(std::stod(f[1]));
    b.mt[m0].push_back(std::stod(f[3]));
    b.st[m0].push_back(std::stod(f[4]));
    b.mp[m0].push_back(std::stod(f[5]));
    b.sp[m0].push_back(std::stod(f[6]));
  }
  return b;
}

// bands-p<p>.png: per p, one panel per initial m0 with the truth and both methods'
// ensembles (the first seed), each m0's panel on the same y-range in every p's figure
// (the union of mean +- std over the cells, within the variable's physical range).
void plot_bands(const Config& base, const StudyOptions& o, const std::function<std::string(int, const std::string&)>& dir_of) {
  const auto system = make_system(base.system, base.system_params);
  const std::string variable = system->judged_observables().front();
  ObservableRange physical;
  const auto names = system->observable_names();
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == variable) physical = system->observable_ranges().at(i);
  std::map<int, std::pair<Bands, Bands>> cells;
  std::map<std::string, std::pair<double, double>> range;  // per initial condition
  for (int p : o.patches) {
    const std::string k = dir_of(p, "kscaled") + "/eval/bands.csv", n = dir_of(p, "naive") + "/eval/bands.csv";
    if (!fs::exists(k) || !fs::exists(n)) continue;
    auto& c = cells[p] = {read_bands(k, variable), read_bands(n, variable)};
    for (const Bands* b : {&c.first, &c.second})
      for (const std::string& m0 : b->m0s) {
        auto& r = range.try_emplace(m0, INFINITY, -INFINITY).first->second;
        for (const auto* pair : {&b->mt, &b->mp}) {
          const auto& mean = pair->at(m0);
          const auto& sd = (pair == &b->mt ? b->st : b->sp).at(m0);
          for (std::size_t t = 0; t < mean.size(); ++t) {
            if (!std::isfinite(mean[t]) || !std::isfinite(sd[t])) continue;
            r.first = std::min(r.first, mean[t] - sd[t]);
            r.second = std::max(r.second, mean[t] + sd[t]);
          }
        }
      }
  }
  for (auto& [m0, r] : range) {
    const double pad = 0.05 * (r.second - r.first);
    r = {std::max(r.first - pad, physical.lo), std::min(r.second + pad, physical.hi)};
  }
  for (const auto& [p, c] : cells) {
    const Bands& k = c.first;
    const Bands& n = c.second;
    if (k.m0s != n.m0s || k.times.size() != n.times.size() || k.m0s.empty()) continue;
    const std::size_t T = k.times.size(), G = k.m0s.size();
    std::vector<std::string> panels;
    std::vector<std::pair<double, double>> yranges;
    macro::BandSeries truth{"truth", k.times, {}, {}}, ks{"K-scaled", k.times, {}, {}}, nv{"naive", k.times, {}, {}};
    for (auto* s : {&truth, &ks, &nv}) {
      s->mean.resize(T * G);
      s->stddev.resize(T * G);
    }
    for (std::size_t g = 0; g < G; ++g) {
      const std::string& m0 = k.m0s[g];
      panels.push_back(variable + " (" + k.column + " = " + m0 + ")");
      yranges.push_back(range.at(m0));
      for (std::size_t t = 0; t < T; ++t) {
        truth.mean[t * G + g] = k.mt.at(m0)[t];
        truth.stddev[t * G + g] = k.st.at(m0)[t];
        ks.mean[t * G + g] = k.mp.at(m0)[t];
        ks.stddev[t * G + g] = k.sp.at(m0)[t];
        nv.mean[t * G + g] = n.mp.at(m0)[t];
        nv.stddev[t * G + g] = n.sp.at(m0)[t];
      }
    }
    const std::int64_t K = read_model_info(dir_of(p, "kscaled")).K;
    macro::plot_ensemble_bands(o.out + "/bands-p" + std::to_string(p) + ".png",
                               base.system + " " + resolved_system_params(base).describe() + ", L = " +
                                   std::to_string(base.large_side) + ", p = " + std::to_string(p) + " (K = " +
                                   std::to_string(K) + "), seed " + std::to_string(o.seeds.front()) +
                                   ": mean +- std per initial m0",
                               "physical time", panels, {truth, ks, nv}, yranges);
  }
}

}  // namespace

Spread spread_of(const std::vector<double>& v) {
  Spread s;
  if (v.empty()) return s;
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  for (double x : v) s.mean += x / static_cast<double>(v.size());
  std::vector<double> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t n = sorted.size();
  s.median = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  if (v.size() > 1) {
    double ss = 0;
    for (double x : v) ss += (x - s.mean) * (x - s.mean);
    s.sd = std::sqrt(ss / static_cast<double>(v.size() - 1));
  }
  return s;
}

std::vector<StudySummaryRow> summarise(const std::vector<StudyRow>& rows) {
  std::vector<StudySummaryRow> out;
  std::vector<std::pair<int, std::string>> cells;
  for (const auto& r : rows)
    if (std::find(cells.begin(), cells.end(), std::make_pair(r.p, r.method)) == cells.end())
      cells.emplace_back(r.p, r.method);
  for (const auto& [p, method] : cells) {
    StudySummaryRow s;
    s.p = p;
    s.method = method;
    std::vector<double> err, err_m, ratio;
    for (const auto& r : rows)
      if (r.p == p && r.method == method) {
        s.K = r.K;
        err.push_back(r.rel_error);
        err_m.push_back(r.rel_error_m);
        ratio.push_back(r.eq_std_m_true > 0 ? r.eq_std_m_pred / r.eq_std_m_true : 0.0);
      }
    s.seeds = static_cast<int>(err.size());
    s.rel_error = spread_of(err);
    s.rel_error_m = spread_of(err_m);
    s.std_ratio_m = spread_of(ratio);
    out.push_back(s);
  }
  return out;
}

void validate(const Config& base, const StudyOptions& o) {
  if (o.out.empty()) throw InputError("--out (the study directory) is required");
  if (o.patches.empty()) throw InputError("--patches is empty");
  if (o.pairs < 2) throw InputError("--pairs must be >= 2");
  if (o.ae_snapshots < 1) throw InputError("--ae-snapshots must be >= 1");
  if (o.ae_epochs < 1) throw InputError("--ae-epochs must be >= 1");
  if (o.epochs < 1) throw InputError("--epochs must be >= 1");
  if (o.batch < 1) throw InputError("--batch must be >= 1");
  if (o.seeds.empty()) throw InputError("--train-seeds is empty");
  for (std::size_t i = 0; i < o.seeds.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (o.seeds[i] == o.seeds[j]) throw InputError("--train-seeds lists " + std::to_string(o.seeds[i]) + " twice");
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

// A cell's warnings (a result to distrust, whatever its numbers): those its evaluation
// recorded in warnings.txt (jobs/verdict.hpp: predictions outside the physical range,
// non-finite ones); for a cell evaluated before they were kept, what its row shows:
// non-finite statistics, or a predicted mean of the judged observable outside its range.
std::vector<std::string> cell_warnings(const std::string& dir, const StudyRow& r, const std::string& judged,
                                       const ObservableRange& range) {
  std::vector<std::string> out;
  std::ifstream in(dir + "/warnings.txt");
  if (in) {
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) out.push_back(line);
    return out;
  }
  if (!std::isfinite(r.rel_error) || !std::isfinite(r.eq_mean_m_pred) || !std::isfinite(r.eq_std_m_pred))
    out.push_back("non-finite predicted statistics (the SDE blew up)");
  else if (r.eq_mean_m_pred < range.lo || r.eq_mean_m_pred > range.hi)
    out.push_back("the predicted equilibrium mean of " + judged + ", " + shortest(r.eq_mean_m_pred) +
                  ", lies outside its physical range [" + shortest(range.lo) + ", " + shortest(range.hi) + "]");
  return out;
}

std::vector<StudyRow> patch_size_study(const Config& base, const StudyOptions& o,
                                       const std::function<std::string(const Config&)>& ini_of) {
  if (!o.out.empty()) fs::create_directories(o.out);
  validate(base, o);
  // What macrodyn run alone reads is not part of the study's recipe.
  const std::vector<std::string> unread{"learn", "stream", "team", "verdict", "field"};
  check_recipe(o.out, study_recipe(base, ini_of, study_options(base, o), unread), !o.cached_only, "a study", unread);

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
  const auto study_system = make_system(base.system, base.system_params);
  const std::vector<std::string> judged_all = study_system->judged_observables();
  const std::string judged = judged_all.front();
  const ObservableRange judged_range = study_system->observable_ranges().at(
      index_of(study_system->observable_names(), judged));
  std::vector<std::string> warnings;  // "p = 8 kscaled seed 3: ..." over every cell
  const auto collect = [&](const std::string& what, const std::string& dir, const StudyRow& r) {
    for (const auto& w : cell_warnings(dir, r, judged, judged_range)) warnings.push_back(what + ": " + w);
  };
  const auto seed_dir = [&](const std::string& cell, const std::string& method, std::uint64_t seed) {
    return cell + "/" + method + "-s" + std::to_string(seed);
  };
  for (int p : o.patches) {
    const std::string cell = o.out + "/p" + std::to_string(p);
    fs::create_directories(cell);
    const std::string data = cell + "/data.h5";
    // The first seed's K-scaled model trains the autoencoder every other model reuses.
    const std::string first = seed_dir(cell, "kscaled", o.seeds.front());
    bool need_train = false;
    for (std::uint64_t seed : o.seeds)
      for (const std::string method : {"kscaled", "naive"})
        need_train = need_train || !done(seed_dir(cell, method, seed) + "/row.csv");
    if (o.cached_only) {
      for (std::uint64_t seed : o.seeds)
        for (const std::string method : {"kscaled", "naive"}) {
          std::ifstream in(seed_dir(cell, method, seed) + "/row.csv");
          std::string line;
          if (std::getline(in, line)) {
            rows.push_back(parse_row(line));
            collect("p = " + std::to_string(p) + " " + method + " seed " + std::to_string(seed),
                    seed_dir(cell, method, seed), rows.back());
          } else say("p = " + std::to_string(p) + " " + method + " seed " + std::to_string(seed) +
                   ": not finished, left out of the table");
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
    // One set of latents (one autoencoder) for both methods and every seed, so that they
    // differ only in the target, the loss factor and the SDE's seed.
    SharedLatents shared{first, nullptr};
    TruthCache truth_cache;
    for (std::uint64_t seed : o.seeds)
      for (const std::string method : {"kscaled", "naive"}) {
        const std::string dir = seed_dir(cell, method, seed);
        const std::string what = "p = " + std::to_string(p) + " " + method + " seed " + std::to_string(seed);
        if (done(dir + "/row.csv")) {
          std::ifstream in(dir + "/row.csv");
          std::string line;
          std::getline(in, line);
          rows.push_back(parse_row(line));
          collect(what, dir, rows.back());
          say(what + ": cached");
          continue;
        }
        const auto start = std::chrono::steady_clock::now();
        auto t = train_options(base, o, data, dir, method, seed);
        t.latent_cache = cell + "/latent.h5";
        train_study_model(t, shared, what);
        // docs/design.md §8.3.5: Curie-Weiss frames, no interpolation.
        const EvaluateOptions e =
            study_evaluation(dir, truth, seed, o.device, o.threads, reference(base).interpolate_truth, truth_cache);
        say(what + ": evaluation");
        const EvaluationResult res = evaluate_model(e);
        StudyRow r;
        r.p = p;
        r.K = read_model_info(dir).K;
        r.method = method;
        r.seed = seed;
        r.rel_error = res.mean.rel_error;
        // The study tabulates the system's first judged observable (m for spins).
        const std::size_t m = index_of(res.variables, judged);
        r.rel_error_m = res.mean.rel_error_per_dim.at(m);
        r.eq_mean_m_true = res.mean.eq_mean_true.at(m);
        r.eq_mean_m_pred = res.mean.eq_mean_pred.at(m);
        r.eq_std_m_true = res.mean.eq_std_true.at(m);
        r.eq_std_m_pred = res.mean.eq_std_pred.at(m);
        r.mmd2 = res.mean.mmd2;
        r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        // As a rerun reads it back (6 digits), so that a fresh and a cached table are equal.
        r = parse_row(row_line(r));
        // What makes the cell suspect, kept before its row (a rerun reads both).
        {
          std::ofstream w(dir + "/warnings.txt");
          for (const auto& line : judge(res, judged_all, e.ensemble).warnings) {
            w << line << "\n";
            say("warning: " + what + ": " + line);
          }
        }
        // Written whole or not at all: a model's row.csv marks it finished, and a
        // half-written row would stop every rerun.
        write_file_atomically(dir + "/row.csv", row_line(r) + "\n");
        collect(what, dir, r);
        say(std::string("  ") + kColumns + "\n  " + row_line(r));
        rows.push_back(r);
        check_stop("study cells up to " + what + " (rerun to resume)");
      }
  }

  std::stable_sort(rows.begin(), rows.end(), [](const StudyRow& a, const StudyRow& b) { return a.p < b.p; });
  const std::vector<StudySummaryRow> summary = summarise(rows);
  // The tables, with the budgets in their header, and the plots.
  std::ostringstream header;
  header << "# macrodyn study patch-size: system " << base.system << " (" << resolved_system_params(base).describe() << ") L "
         << base.large_side << "\n"
         << "# budgets (same for both methods): " << o.pairs << " training pairs per cell, autoencoder "
         << o.ae_snapshots << " snapshots x " << o.ae_epochs << " epochs (shared by the seeds), SDE " << o.epochs
         << " epochs, batch " << o.batch << ", lr " << study_lr(base, o) << ", training seeds "
         << join_numbers(o.seeds) << "\n"
         << "# truth: " << base.truth_runs << " runs x " << base.truth_sweeps << " sweeps per m0, "
         << base.truth_m0.size() << " m0 values; rel_error = mean over m0 of sum_t (mean_pred - mean_true)^2 / "
         << "sum_t mean_true^2 (all variables, model coordinates); eq_* = ensemble statistics over the last half\n"
         << "# command: " << o.command_line << "\n";
  const std::string csv = o.out + "/patch-size.csv";
  {
    std::ofstream f(csv);
    f << header.str() << kColumns << "\n";
    for (const auto& r : rows) f << row_line(r) << "\n";
  }
  const std::string summary_csv = o.out + "/patch-size-summary.csv";
  {
    std::ofstream f(summary_csv);
    f << header.str() << "# per cell over the training seeds: mean, sample sd, min, max, median\n"
      << "p,K,method,seeds,rel_error_mean,rel_error_sd,rel_error_min,rel_error_max,rel_error_m_mean,rel_error_m_sd,"
         "std_ratio_m_mean,std_ratio_m_sd,std_ratio_m_min,std_ratio_m_max,rel_error_median,std_ratio_m_median\n";
    for (const auto& r : summary) {
      char b[512];
      std::snprintf(b, sizeof b, "%d,%lld,%s,%d,%.4g,%.3g,%.4g,%.4g,%.4g,%.3g,%.4g,%.3g,%.4g,%.4g,%.4g,%.4g", r.p,
                    static_cast<long long>(r.K), r.method.c_str(), r.seeds, r.rel_error.mean, r.rel_error.sd,
                    r.rel_error.min, r.rel_error.max, r.rel_error_m.mean, r.rel_error_m.sd, r.std_ratio_m.mean,
                    r.std_ratio_m.sd, r.std_ratio_m.min, r.std_ratio_m.max, r.rel_error.median,
                    r.std_ratio_m.median);
      f << b << "\n";
    }
  }
  plot_summary(base, o, summary);
  plot_bands(base, o, [&](int p, const std::string& method) { return seed_dir(o.out + "/p" + std::to_string(p), method, o.seeds.front()); });
  // The suspect cells, in one file the report shows first.
  {
    std::ofstream f(o.out + "/warnings.txt");
    for (const auto& w : warnings) f << w << "\n";
  }
  if (!warnings.empty()) {
    say("warning: " + std::to_string(warnings.size()) + " suspect result(s), listed in " + o.out + "/warnings.txt:");
    for (const auto& w : warnings) say("  " + w);
  }
  say("wrote " + csv + ", " + summary_csv + " and the plots in " + o.out);
  return rows;
}

}  // namespace macrodyn::jobs
