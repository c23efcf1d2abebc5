#include "jobs/fss_study.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/format.hpp"
#include "core/geometry.hpp"
#include "core/stop.hpp"
#include "jobs/calibrate.hpp"
#include "jobs/equilibrium.hpp"
#include "jobs/fss_analysis.hpp"
#include "jobs/jobs.hpp"
#include "jobs/model_dir.hpp"
#include "jobs/predict.hpp"
#include "jobs/study_model.hpp"
#include "jobs/study_recipe.hpp"
#include "jobs/train.hpp"
#include "learn/exported.hpp"
#include "macro/plot.hpp"
#include "systems/system.hpp"

using namespace macrodyn::systems;

namespace macrodyn::jobs {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
const double kNan = std::numeric_limits<double>::quiet_NaN();

struct Cell {
  int L = 0;
  double T = 0;
  std::int64_t K = 1;
  std::string dir;
};

std::vector<Cell> cells_of(const Config& base, const FssOptions& o) {
  const auto system = make_system(base.system, base.system_params);
  std::vector<Cell> cells;
  auto add = [&](int L, double T) {
    for (const auto& c : cells)
      if (c.L == L && c.T == T) return;
    cells.push_back({L, T, Tiling{system->dim(), L, base.patch}.patches(), o.out + "/L" + std::to_string(L) + "-T" + shortest(T)});
  };
  for (double T : o.temperatures)
    for (int L : o.sides) add(L, T);
  for (const auto& [L, T] : o.extra_cells) add(L, T);
  return cells;
}

// The cell's configuration: base at side L and temperature T, upsampled from the small
// side by base's factor, or else by the least factor whose powers reach L (3 for 48).
Config cell_config(const Config& base, const Cell& cell) {
  Config c = base;
  c.large_side = cell.L;
  c.system_params.set("T", cell.T);
  const int Ls = c.resolved_small_side();
  auto reaches = [&](int f) {
    if (f < 2) return false;
    long s = Ls;
    while (s < cell.L) s *= f;
    return s == cell.L;
  };
  if (cell.L > Ls && !reaches(c.factor))
    for (int f = 2; f <= cell.L / std::max(Ls, 1); ++f)
      if (reaches(f)) {
        c.factor = f;
        break;
      }
  c.output = cell.dir + "/data.h5";
  c.overwrite = true;
  return c;
}

const double kTuned[][3] = {  // L, T, factor: issue 16's table of the authors' hand-tuned factors
    {32, 2.25, 2.5}, {32, 2.26, 2.5}, {32, 2.27, 2.2}, {32, 2.28, 2.2}, {32, 2.29, 2.0},
    {48, 2.25, 6.0}, {48, 2.26, 6.0}, {48, 2.27, 5.4}, {48, 2.28, 5.0}, {48, 2.29, 4.5},
    {64, 2.25, 10},  {64, 2.26, 9},   {64, 2.27, 10},  {64, 2.28, 8},   {64, 2.29, 7},
    {128, 2.27, 32}};

// The factor a setting gives a cell; 0 when it has none (tuned outside the table). A
// measured factor is read from the cell's calibration at training time; here it is a
// marker (-1).
double factor_of(const std::string& setting, const Cell& cell) {
  if (cell.K == 1) return 1.0;  // one patch is the whole lattice: every setting is 1
  if (setting == "K") return static_cast<double>(cell.K);
  if (setting == "measured" || setting == "stationary") return -1.0;
  return tuned_loss_factor(cell.L, cell.T);
}

// A cell whose K is 1 trains one model per seed for every setting.
std::string model_dir(const Cell& cell, const std::string& setting, std::uint64_t seed) {
  return cell.dir + "/" + (cell.K == 1 ? std::string("K") : setting) + "-s" + std::to_string(seed);
}

std::string study_options(const Config& base, const FssOptions& o) {
  std::ostringstream r;
  r << "--ae-epochs = " << o.ae_epochs << "\n--epochs = " << o.epochs << "\n--batch = " << o.batch
    << "\n--lr = " << shortest(o.lr > 0 ? o.lr : make_system(base.system, base.system_params)->reference_training().lr)
    << "\n--eps = " << shortest(o.eps) << "\n--train-seeds (the first trains the autoencoder) = " << o.seeds.front()
    << "\n--calibrate-snapshots = " << o.calibrate_snapshots << "\n--calibrate-replicas = " << o.calibrate_replicas
    << "\n--truth-runs = " << o.truth_runs << "\n--truth-sweeps = " << o.truth_sweeps
    << "\n--truth-thermalise = " << o.truth_thermalise << "\n--starts = " << o.starts << "\n--copies = " << o.copies
    << "\n--steps = " << o.steps << "\n--burn = " << shortest(o.burn) << "\n--bins = " << o.bins
    << "\n--first cell = L" << cells_of(base, o).front().L << "-T" << shortest(cells_of(base, o).front().T) << "\n";
  return r.str();
}

// A stationary law as a model's stationary.txt keeps it: the estimates on one line, the
// histogram on the next.
std::string law_text(const StationaryLaw& s, double factor, double seconds) {
  std::ostringstream f;
  f.precision(10);
  f << factor;
  for (const Estimate* e : {&s.abs_m, &s.m2, &s.m4, &s.chi_prime, &s.binder}) f << "," << e->value << "," << e->se;
  f << "," << s.trajectories << "," << s.diverged << "," << s.drift_z << "," << seconds << "\n";
  for (std::size_t b = 0; b < s.histogram.size(); ++b) f << (b ? "," : "") << s.histogram[b];
  f << "\n";
  return f.str();
}

bool read_numbers(std::istream& in, std::vector<double>& v) {
  std::string line;
  if (!std::getline(in, line)) return false;
  v.clear();
  std::stringstream ss(line);
  for (std::string tok; std::getline(ss, tok, ',');) {
    char* end = nullptr;
    const double x = std::strtod(tok.c_str(), &end);
    if (end == tok.c_str() || *end != '\0') return false;
    v.push_back(x);
  }
  return true;
}

struct ModelLaw {
  double factor = 0;
  StationaryLaw law;
  double seconds = 0;
};

bool read_law(const std::string& path, int bins, ModelLaw& m) {
  std::ifstream in(path);
  if (!in) return false;
  std::vector<double> v, h;
  if (!read_numbers(in, v) || v.size() != 15 || !read_numbers(in, h) || h.size() != static_cast<std::size_t>(bins))
    throw FileError(path + " is not a rollout summary of this study; delete it to redo the rollout");
  m.factor = v[0];
  std::size_t k = 1;
  for (Estimate* e : {&m.law.abs_m, &m.law.m2, &m.law.m4, &m.law.chi_prime, &m.law.binder}) {
    e->value = v[k++];
    e->se = v[k++];
  }
  m.law.trajectories = static_cast<std::int64_t>(v[11]);
  m.law.diverged = static_cast<std::int64_t>(v[12]);
  m.law.drift_z = v[13];
  m.seconds = v[14];
  m.law.histogram = h;
  return true;
}

// truth.txt: the equilibrium CSV row, then the histogram.
bool read_truth(const std::string& path, int bins, EquilibriumRow& r) {
  std::ifstream in(path);
  if (!in) return false;
  std::vector<double> v, h;
  if (!read_numbers(in, v) || v.size() != 20 || !read_numbers(in, h) || h.size() != static_cast<std::size_t>(bins))
    throw FileError(path + " is not a truth row of this study; delete it to redo the truth");
  r.L = static_cast<int>(v[0]);
  r.T = v[1];
  r.samples = static_cast<std::int64_t>(v[2]);
  std::size_t k = 3;
  for (Estimate* e : {&r.abs_m, &r.m2, &r.m4, &r.e, &r.chi_prime, &r.chi, &r.binder, &r.dbinder_dt}) {
    e->value = v[k++];
    e->se = v[k++];
  }
  r.cluster_fraction = v[19];
  r.abs_m_histogram = h;
  return true;
}

// The rollouts' starts: `n` states of the dataset's pairs (z before), spread evenly over
// them, as the notes start from training latents (physical coordinates, one per line).
void write_starts(const std::string& path, const LatentSet& set, int n) {
  const std::int64_t pairs = set.size(), d = set.dim();
  if (pairs < 1) throw InputError(path + ": the dataset has no pairs to start the rollouts from");
  std::ostringstream f;
  f.precision(9);
  for (int i = 0; i < n; ++i) {
    const std::int64_t j = std::min<std::int64_t>(pairs - 1, static_cast<std::int64_t>((i + 0.5) * static_cast<double>(pairs) / n));
    for (std::int64_t k = 0; k < d; ++k) f << (k ? "," : "") << set.z0[static_cast<std::size_t>(j * d + k)];
    f << "\n";
  }
  write_file_atomically(path, f.str());
}

std::vector<std::vector<double>> read_starts(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::vector<double>> z;
  std::vector<double> v;
  while (read_numbers(in, v)) z.push_back(v);
  if (z.empty()) throw FileError(path + " holds no rollout starts; delete it to pick them again");
  return z;
}

// Per setting (and "truth"): cell index -> estimate over seeds.
struct CellStats {
  Estimate abs_m{kNan, kNan}, chi{kNan, kNan}, U{kNan, kNan};
  double factor = 0;
  int seeds = 0;
  std::vector<double> histogram;
};

}  // namespace

double tuned_loss_factor(int L, double T) {
  if (L == 16) return 1.0;
  for (const auto& row : kTuned)
    if (static_cast<int>(row[0]) == L && std::fabs(row[1] - T) < 1e-9) return row[2];
  return 0.0;
}

void validate(const Config& base, const FssOptions& o) {
  if (o.out.empty()) throw InputError("--out must name the study directory");
  if (o.sides.empty() && o.extra_cells.empty()) throw InputError("--sides must name at least one side");
  if (!o.sides.empty() && o.temperatures.empty()) throw InputError("--temperatures must name at least one temperature");
  for (double T : o.temperatures)
    if (!(T > 0) || !std::isfinite(T)) throw InputError("--temperatures: " + shortest(T) + " is not a positive temperature");
  if (o.factors.empty()) throw InputError("--factors needs at least one of K, measured, stationary, tuned");
  for (const auto& f : o.factors)
    if (f != "K" && f != "measured" && f != "stationary" && f != "tuned")
      throw InputError("--factors: '" + f + "' is not one of K, measured, stationary, tuned");
  if (o.seeds.empty()) throw InputError("--train-seeds needs at least one seed");
  if (o.epochs < 1 || o.ae_epochs < 1) throw InputError("--epochs and --ae-epochs must be at least 1");
  if (o.batch < 1) throw InputError("--batch must be at least 1");
  if (!(o.lr >= 0)) throw InputError("--lr must be positive (or 0 for the system's reference value)");
  if (!(o.eps > 0)) throw InputError("--eps must be positive");
  if (o.calibrate_snapshots < 2 || o.calibrate_replicas < 2)
    throw InputError("--calibrate-snapshots and --calibrate-replicas must be at least 2");
  if (o.starts < 2 || o.copies < 1) throw InputError("--starts must be at least 2 and --copies at least 1");
  if (o.steps < 16) throw InputError("--steps must be at least 16");
  if (!(o.burn >= 0 && o.burn < 0.9)) throw InputError("--burn must be in [0, 0.9)");
  if (o.bins < 2) throw InputError("--bins must be at least 2");
  if (o.binder_degree < 1 || o.binder_degree > 3) throw InputError("--binder-degree must be 1, 2 or 3");
  if (!(o.max_hours >= 0)) throw InputError("--max-hours must be >= 0 (0: no cap)");
  const double values = static_cast<double>(o.starts) * o.copies * (o.steps + 1.0) * 8;
  if (values > 4e8) throw InputError("--starts x --copies x --steps is too large for one rollout (at most 5e7 points)");
  EquilibriumSpec spec;
  spec.runs = o.truth_runs;
  spec.sweeps = o.truth_sweeps;
  spec.thermalise = o.truth_thermalise;
  spec.threads = o.threads;
  for (const Cell& cell : cells_of(base, o)) {
    Config c = cell_config(base, cell);
    validate(c, Job::generate);
    Config cal = c;
    cal.snapshots = o.calibrate_snapshots;
    validate(cal, Job::calibrate);
    const auto system = make_system(c.system, c.system_params);
    check_equilibrium_spec(spec, system->dim(), cell.L);
    if (!system->make_equilibrium_sampler(cell.L)) throw InputError("study fss needs the truth: " + system->why_no_equilibrium_sampler());
    if (c.snapshots < 2) throw InputError("large.snapshots must be at least 2");
  }
}

std::vector<std::string> fss_study(const Config& base, const FssOptions& o,
                                   const std::function<std::string(const Config&)>& ini_of) {
  // The cells' directories first: generate's validation asks for its output's directory.
  if (!o.out.empty() && !o.sides.empty() == !o.temperatures.empty())
    for (const Cell& cell : cells_of(base, o)) fs::create_directories(cell.dir);
  validate(base, o);
  const std::vector<std::string> unread{"learn", "stream", "team", "verdict", "truth"};
  check_recipe(o.out, study_recipe(base, ini_of, study_options(base, o), unread), !o.cached_only, "a study", unread);
  const auto cells = cells_of(base, o);
  const auto started = Clock::now();
  bool capped = false;
  auto may_start = [&](const std::string& what) {
    if (o.cached_only) return false;
    if (!capped && o.max_hours > 0 &&
        std::chrono::duration<double>(Clock::now() - started).count() > o.max_hours * 3600) {
      capped = true;
      study_say("the cap of " + shortest(o.max_hours) + " h is reached before " + what +
                "; tabulating what is finished (rerun to go on)");
    }
    return !capped;
  };
  std::vector<std::string> warnings;

  // 1. The truth of every cell (it is cheap against the models, and the reference for all).
  EquilibriumSpec spec;
  spec.runs = o.truth_runs;
  spec.sweeps = o.truth_sweeps;
  spec.thermalise = o.truth_thermalise;
  spec.seed = base.seed;
  spec.threads = o.threads;
  spec.progress = base.progress;
  spec.histogram_bins = o.bins;
  std::map<std::size_t, EquilibriumRow> truth;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const Cell& cell = cells[i];
    fs::create_directories(cell.dir);
    EquilibriumRow r;
    const std::string path = cell.dir + "/truth.txt";
    if (!read_truth(path, o.bins, r)) {
      if (!may_start("the truth at L = " + std::to_string(cell.L))) continue;
      study_say("truth: L = " + std::to_string(cell.L) + ", T = " + shortest(cell.T));
      const auto system = make_system(base.system, cell_config(base, cell).system_params);
      r = measure_equilibrium(*system, cell.L, cell.T, spec);
      std::ostringstream f;
      f.precision(10);
      f << equilibrium_csv_row(r) << "\n";
      for (std::size_t b = 0; b < r.abs_m_histogram.size(); ++b) f << (b ? "," : "") << r.abs_m_histogram[b];
      f << "\n";
      write_file_atomically(path, f.str());
      read_truth(path, o.bins, r);  // as a rerun reads it
    }
    truth[i] = r;
  }

  // 2. Models, seed by seed over every cell, so that a capped study has all cells.
  const std::string global_first = model_dir(cells.front(), o.factors.front(), o.seeds.front());
  std::map<std::size_t, SharedLatents> shared;
  std::map<std::tuple<std::size_t, std::string, std::uint64_t>, ModelLaw> laws;
  const auto ref = make_system(base.system, base.system_params)->reference_training();
  for (std::uint64_t seed : o.seeds)
    for (std::size_t i = 0; i < cells.size(); ++i) {
      const Cell& cell = cells[i];
      const Config c = cell_config(base, cell);
      for (const std::string& setting : o.factors) {
        const double factor = factor_of(setting, cell);
        if (factor == 0) continue;  // tuned outside the table
        const std::string dir = model_dir(cell, setting, seed);
        const std::string what = "L = " + std::to_string(cell.L) + ", T = " + shortest(cell.T) + ", " +
                                 (cell.K == 1 ? std::string("c = 1") : setting) + ", seed " + std::to_string(seed);
        ModelLaw m;
        if (read_law(dir + "/stationary.txt", o.bins, m)) {
          laws[{i, setting, seed}] = m;
          continue;
        }
        if (!may_start(what)) continue;
        const auto t0 = Clock::now();
        // The cell's data and, for a measured factor, its calibration.
        if (!stage_done(cell.dir + "/data.h5.done")) {
          study_say(what + ": data (" + std::to_string(c.snapshots) + " snapshots of side " + std::to_string(cell.L) + ")");
          Config g = c;
          g.ini_text = ini_of(g);
          generate(g);
          mark_stage_done(cell.dir + "/data.h5.done");
        }
        const std::string calibration = cell.dir + "/calibrate.csv";
        if (factor < 0 && !fs::exists(calibration)) {
          study_say(what + ": calibration (" + std::to_string(o.calibrate_snapshots) + " snapshots x " +
                    std::to_string(o.calibrate_replicas) + " replicas)");
          Config g = c;
          g.snapshots = o.calibrate_snapshots;
          CalibrateSpec cs;
          cs.snapshots = o.calibrate_snapshots;
          cs.replicas = o.calibrate_replicas;
          cs.threads = o.threads;
          const Calibration cal = calibrate(g, cs);
          write_file_atomically(calibration, calibration_csv(cal.rows, cal.names, "macrodyn study fss: " + o.command_line));
          for (const auto& row : cal.rows) study_say(what + ": " + calibration_verdict(row));
        }
        TrainOptions t;
        t.dataset = c.output;
        t.out = dir;
        t.method = "kscaled";
        t.loss_factor = factor > 0 && setting != "K" ? factor : 0.0;
        t.loss_factor_measured = factor < 0;
        if (t.loss_factor_measured) t.calibration = calibration;
        if (setting == "stationary") t.measured_factor = "c_stationary";
        t.diffusion = ref.diffusion;
        t.eps = o.eps;
        t.lr = o.lr > 0 ? o.lr : ref.lr;
        t.epochs = o.epochs;
        t.batch = o.batch;
        t.val_fraction = 0;
        t.closure_dim = c.has_closure() ? c.learn_closure_dim : 0;
        t.ae_epochs = o.ae_epochs;
        t.seed = seed;
        t.device = o.device;
        t.threads = o.threads;
        t.resume = true;
        t.overwrite = true;
        t.progress = base.progress;
        t.latent_cache = cell.dir + "/latent.h5";
        // One autoencoder for every cell: it only ever sees patches of the patch side.
        if (t.closure_dim > 0 && dir != global_first) t.encoder_from = global_first;
        auto& sh = shared.try_emplace(i, SharedLatents{model_dir(cell, o.factors.front(), o.seeds.front()), nullptr}).first->second;
        train_study_model(t, sh, what);
        const std::string starts = cell.dir + "/starts.csv";
        if (!fs::exists(starts)) {
          if (!sh.latents) {
            TrainOptions first = t;
            first.out = sh.first;
            sh.latents = std::make_unique<PreparedLatents>(prepare_latents(first));
          }
          write_starts(starts, sh.latents->set, o.starts);
        }
        // The rollouts and their stationary law.
        study_say(what + ": rollouts (" + std::to_string(o.starts * o.copies) + " x " + std::to_string(o.steps) + " steps)");
        const ModelInfo info = read_model_dir(dir);
        const learn::ExportedSde sde = load_sde(dir, info, check_device(o.device));
        PredictOptions po;
        po.model_dir = dir;
        po.z0 = read_starts(starts);
        po.steps = o.steps;
        po.ensemble = o.copies;
        po.seed = 1000 + seed;
        const PredictionResult res = predict_with(info, sde_functions(sde), po);
        const auto system = make_system(c.system, c.system_params);
        m.factor = info.loss_factor;
        m.law = stationary_law(res.trajectories, res.states * res.ensemble, o.steps + 1, info.dim(), 0,
                               static_cast<double>(ipow(cell.L, system->dim())), cell.T, o.burn, o.bins);
        m.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
        write_file_atomically(dir + "/stationary.txt", law_text(m.law, m.factor, m.seconds));
        read_law(dir + "/stationary.txt", o.bins, m);
        char line[256];
        std::snprintf(line, sizeof line, "c = %.4g: <|m|> %.4f +- %.4f (truth %.4f), chi' %.4g +- %.2g (truth %.4g), U %.4f", m.factor,
                      m.law.abs_m.value, m.law.abs_m.se, truth.count(i) ? truth[i].abs_m.value : kNan, m.law.chi_prime.value,
                      m.law.chi_prime.se, truth.count(i) ? truth[i].chi_prime.value : kNan, m.law.binder.value);
        study_say(what + ": " + line);
        laws[{i, setting, seed}] = m;
        check_stop("study fss up to " + what + " (rerun to resume)");
      }
    }

  // 3. Tables: per model, per cell and setting over the seeds, beside the truth.
  std::map<std::string, std::map<std::size_t, CellStats>> stats;  // setting -> cell -> stats
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (truth.count(i)) {
      CellStats& t = stats["truth"][i];
      t.abs_m = truth[i].abs_m;
      t.chi = truth[i].chi_prime;
      t.U = truth[i].binder;
      t.histogram = truth[i].abs_m_histogram;
    }
    for (const auto& setting : o.factors) {
      std::vector<Estimate> a, x, u;
      CellStats s;
      for (std::uint64_t seed : o.seeds) {
        const auto it = laws.find({i, setting, seed});
        if (it == laws.end()) continue;
        const auto& law = it->second.law;
        const std::string who = "L = " + std::to_string(cells[i].L) + ", T = " + shortest(cells[i].T) + ", " + setting +
                                ", seed " + std::to_string(seed) + ": ";
        if (law.diverged > 0)
          warnings.push_back(who + std::to_string(law.diverged) + " rollout(s) diverged and are left out");
        if (std::fabs(law.drift_z) > 4)
          warnings.push_back(who + "<|m|> still drifts between the second and the last quarter of the rollouts (" +
                             shortest(law.drift_z) + " standard errors): lengthen --steps");
        if (law.trajectories < 2) continue;
        a.push_back(law.abs_m);
        x.push_back(law.chi_prime);
        u.push_back(law.binder);
        s.factor = it->second.factor;
        if (s.histogram.empty()) s.histogram.assign(law.histogram.size(), 0.0);
        for (std::size_t b = 0; b < law.histogram.size(); ++b) s.histogram[b] += law.histogram[b];
      }
      if (a.empty()) continue;
      s.seeds = static_cast<int>(a.size());
      for (auto& h : s.histogram) h /= s.seeds;
      s.abs_m = over_seeds(a);
      s.chi = over_seeds(x);
      s.U = over_seeds(u);
      stats[setting][i] = s;
    }
  }
  const std::string header = "# macrodyn study fss: system " + base.system + ", patch " + std::to_string(base.patch) +
                             "; SDE " + std::to_string(o.epochs) + " epochs; rollouts " + std::to_string(o.starts) +
                             " starts x " + std::to_string(o.copies) + ", " + std::to_string(o.steps) +
                             " steps, the last " + shortest(1 - o.burn) + " kept; truth: " + std::to_string(o.truth_runs) +
                             " chains x " + std::to_string(o.truth_sweeps) + " measurements\n# command: " + o.command_line + "\n";
  auto fmt = [](const Estimate& e) {
    char b[64];
    std::snprintf(b, sizeof b, "%.6g,%.3g", e.value, e.se);
    return std::string(b);
  };
  {
    std::ostringstream f;
    f << header << "L,T,K,setting,factor,seed,abs_m,abs_m_se,chi_prime,chi_prime_se,U,U_se,trajectories,diverged,drift_z,seconds\n";
    for (const auto& [key, m] : laws) {
      const Cell& cell = cells[std::get<0>(key)];
      f << cell.L << "," << shortest(cell.T) << "," << cell.K << "," << std::get<1>(key) << "," << shortest(m.factor) << ","
        << std::get<2>(key) << "," << fmt(m.law.abs_m) << "," << fmt(m.law.chi_prime) << "," << fmt(m.law.binder) << ","
        << m.law.trajectories << "," << m.law.diverged << "," << shortest(m.law.drift_z) << "," << std::llround(m.seconds) << "\n";
    }
    write_file_atomically(o.out + "/fss-models.csv", f.str());
  }
  auto z_of = [](const Estimate& a, const Estimate& b) { return (a.value - b.value) / std::hypot(a.se, b.se); };
  {
    std::ostringstream f;
    f << header << "# per cell and setting: the mean over seeds (error: the larger of the seeds' spread / sqrt(seeds) and their own "
                   "errors / sqrt(seeds)); z: (model - truth) / combined error\n"
      << "L,T,K,setting,factor,seeds,abs_m,abs_m_se,chi_prime,chi_prime_se,U,U_se,truth_abs_m,truth_abs_m_se,truth_chi_prime,"
         "truth_chi_prime_se,truth_U,truth_U_se,z_abs_m,z_chi_prime,z_U\n";
    for (const auto& [setting, per] : stats) {
      if (setting == "truth") continue;
      for (const auto& [i, s] : per) {
        const Cell& cell = cells[i];
        const CellStats t = stats["truth"].count(i) ? stats["truth"][i] : CellStats{};
        char z[96];
        std::snprintf(z, sizeof z, "%.2f,%.2f,%.2f", z_of(s.abs_m, t.abs_m), z_of(s.chi, t.chi), z_of(s.U, t.U));
        f << cell.L << "," << shortest(cell.T) << "," << cell.K << "," << setting << "," << shortest(s.factor) << ","
          << s.seeds << "," << fmt(s.abs_m) << "," << fmt(s.chi) << "," << fmt(s.U) << "," << fmt(t.abs_m) << ","
          << fmt(t.chi) << "," << fmt(t.U) << "," << z << "\n";
      }
    }
    write_file_atomically(o.out + "/fss-cells.csv", f.str());
  }

  // 4. Exponents: the same fit on the same sides for the truth and each setting.
  struct Exponent {
    std::string setting, quantity, sides;
    Estimate model, truth;
    double theory = 0;
  };
  std::vector<Exponent> exponents;
  auto decisive = [&](const Exponent& e) { return std::hypot(e.model.se, e.truth.se) <= 0.25 * std::fabs(e.theory); };
  auto sides_at = [&](const std::map<std::size_t, CellStats>& per, double T) {
    std::vector<std::size_t> at;
    for (const auto& [i, s] : per)
      if (cells[i].T == T) at.push_back(i);
    std::sort(at.begin(), at.end(), [&](std::size_t a, std::size_t b) { return cells[a].L < cells[b].L; });
    return at;
  };
  std::set<double> temps;
  for (const auto& cell : cells) temps.insert(cell.T);
  // |dU/dT| at T_c per side from U(T) fitted over the temperatures of that side.
  auto dudt = [&](const std::map<std::size_t, CellStats>& per, std::vector<double>& L, std::vector<Estimate>& d) {
    std::map<int, std::vector<std::size_t>> by_side;
    for (const auto& [i, s] : per) by_side[cells[i].L].push_back(i);
    for (const auto& [side, idx] : by_side) {
      if (idx.size() < 2) continue;
      std::vector<double> T, U, se;
      for (std::size_t i : idx) {
        T.push_back(cells[i].T);
        U.push_back(per.at(i).U.value);
        se.push_back(per.at(i).U.se);
      }
      const PolyFit fit = fit_polynomial(T, U, se, std::min<int>(o.binder_degree, static_cast<int>(idx.size()) - 1));
      L.push_back(side);
      d.push_back({std::fabs(fit.slope_at(kIsingTc)), fit.slope_se_at(kIsingTc)});
    }
  };
  for (const auto& setting : o.factors) {
    if (!stats.count(setting)) continue;
    const auto& per = stats[setting];
    const auto& tper = stats["truth"];
    // The sides both have at the slope temperature.
    std::vector<double> L;
    std::vector<Estimate> ma, mc, ta, tc;
    for (std::size_t i : sides_at(per, o.slope_temperature)) {
      if (!tper.count(i)) continue;
      L.push_back(cells[i].L);
      ma.push_back(per.at(i).abs_m);
      mc.push_back(per.at(i).chi);
      ta.push_back(tper.at(i).abs_m);
      tc.push_back(tper.at(i).chi);
    }
    std::string sides;
    for (double l : L) sides += (sides.empty() ? "" : " ") + shortest(l);
    if (L.size() >= 2) {
      exponents.push_back({setting, "<|m|> ~ L^(-beta/nu)", sides, loglog_slope(L, ma), loglog_slope(L, ta), -0.125});
      exponents.push_back({setting, "chi' ~ L^(gamma/nu)", sides, loglog_slope(L, mc), loglog_slope(L, tc), 1.75});
    }
    // dU/dT: sides with at least two temperatures in both.
    std::map<std::size_t, CellStats> mboth, tboth;
    for (const auto& [i, s] : per)
      if (tper.count(i)) {
        mboth[i] = s;
        tboth[i] = tper.at(i);
      }
    std::vector<double> Lm, Lt;
    std::vector<Estimate> dm, dt;
    dudt(mboth, Lm, dm);
    dudt(tboth, Lt, dt);
    if (Lm.size() >= 2) {
      std::string s2;
      for (double l : Lm) s2 += (s2.empty() ? "" : " ") + shortest(l);
      exponents.push_back({setting, "|dU/dT| at T_c ~ L^(1/nu)", s2, loglog_slope(Lm, dm), loglog_slope(Lt, dt), 1.0});
    }
  }
  std::vector<std::string> verdict;
  {
    std::ostringstream f;
    f << header << "# slopes of weighted least-squares lines in log-log (errors: formal, from the points' errors); z = (model - truth) / combined error\n"
      << "# decisive: the combined error is at most a quarter of the theory's exponent (a 2-error test can tell an exponent "
         "half wrong)\n"
      << "setting,quantity,sides,slope,slope_se,truth_slope,truth_slope_se,theory,z,within_2se,decisive\n";
    for (const auto& e : exponents) {
      const double z = z_of(e.model, e.truth);
      char b[256];
      std::snprintf(b, sizeof b, "%s,%s,%s,%.4f,%.4f,%.4f,%.4f,%s,%.2f,%s,%s", e.setting.c_str(), e.quantity.c_str(),
                    e.sides.c_str(), e.model.value, e.model.se, e.truth.value, e.truth.se, shortest(e.theory).c_str(), z,
                    std::fabs(z) <= 2 ? "yes" : "no", decisive(e) ? "yes" : "no");
      f << b << "\n";
    }
    write_file_atomically(o.out + "/exponents.csv", f.str());
  }
  for (const auto& setting : o.factors) {
    int n = 0, pass = 0, undecided = 0;
    std::string detail;
    for (const auto& e : exponents) {
      if (e.setting != setting) continue;
      const double z = z_of(e.model, e.truth);
      ++n;
      pass += std::fabs(z) <= 2;
      undecided += std::fabs(z) <= 2 && !decisive(e);
      char b[200];
      std::snprintf(b, sizeof b, "%s%s %.3f +- %.3f against the truth's %.3f +- %.3f (z = %.1f)", detail.empty() ? "" : "; ",
                    e.quantity.c_str(), e.model.value, e.model.se, e.truth.value, e.truth.se, z);
      detail += b;
    }
    if (n == 0) verdict.push_back("c = " + setting + ": no exponent (fewer than two sides finished at T = " + shortest(o.slope_temperature) + ")");
    else
      verdict.push_back("c = " + setting + ": " + std::to_string(pass) + " of " + std::to_string(n) +
                        " exponents within 2 combined standard errors of the truth's" +
                        (pass < n       ? " (does NOT reproduce the finite-size scaling): "
                         : undecided > 0 ? " (but " + std::to_string(undecided) +
                                               " with errors too wide to tell; more seeds or longer rollouts): "
                                         : " (reproduces the finite-size scaling): ") +
                        detail);
  }
  if (capped) verdict.push_back("capped at " + shortest(o.max_hours) + " h: not every model is finished (rerun to go on)");

  // Binder crossings of consecutive sides.
  {
    std::ostringstream f;
    f << header << "setting,L_a,L_b,T_cross,T_cross_se\n";
    for (const auto& [setting, per] : stats) {
      std::map<int, std::map<double, Estimate>> U;
      for (const auto& [i, s] : per) U[cells[i].L][cells[i].T] = s.U;
      for (auto a = U.begin(); a != U.end(); ++a) {
        const auto b = std::next(a);
        if (b == U.end()) break;
        std::vector<double> T;
        std::vector<Estimate> ua, ub;
        for (const auto& [t, e] : a->second)
          if (b->second.count(t)) {
            T.push_back(t);
            ua.push_back(e);
            ub.push_back(b->second.at(t));
          }
        if (T.size() < 2) continue;
        const Estimate x = binder_crossing(T, ua, ub, std::min<int>(o.binder_degree, static_cast<int>(T.size()) - 1));
        f << setting << "," << a->first << "," << b->first << "," << shortest(x.value) << "," << shortest(x.se) << "\n";
      }
    }
    write_file_atomically(o.out + "/binder-crossings.csv", f.str());
  }
  {
    std::string v;
    for (const auto& line : verdict) v += line + "\n";
    write_file_atomically(o.out + "/verdict.txt", v);
    std::string w;
    for (const auto& line : warnings) w += line + "\n";
    write_file_atomically(o.out + "/warnings.txt", w);
  }
  for (const auto& line : verdict) study_say(line);
  if (!warnings.empty())
    study_say("warning: " + std::to_string(warnings.size()) + " suspect result(s), listed in " + o.out + "/warnings.txt");

  // 5. Plots.
  auto series = [&](const std::string& setting, double T, auto value) {
    macro::XySeries s{setting == "truth" ? "truth (equilibrium)" : "c = " + setting, {}, {}, {}, {}};
    if (!stats.count(setting)) return s;
    for (std::size_t i : sides_at(stats[setting], T)) {
      const Estimate e = value(stats[setting][i]);
      s.x.push_back(cells[i].L);
      s.y.push_back(e.value);
      s.lo.push_back(e.value - e.se);
      s.hi.push_back(e.value + e.se);
    }
    return s;
  };
  std::vector<std::string> plotted{"truth"};
  for (const auto& s : o.factors) plotted.push_back(s);
  for (const auto& [file, label, getter] :
       {std::tuple<std::string, std::string, Estimate (*)(const CellStats&)>{
            "abs-m.png", "<|m|>", [](const CellStats& s) { return s.abs_m; }},
        {"chi.png", "chi' = (N/T)(<m^2> - <|m|>^2)", [](const CellStats& s) { return s.chi; }}}) {
    std::vector<macro::XySeries> all;
    for (const auto& s : plotted) {
      auto x = series(s, o.slope_temperature, getter);
      if (!x.x.empty()) all.push_back(x);
    }
    if (!all.empty())
      macro::plot_xy(o.out + "/" + file, label + " against L at T = " + shortest(o.slope_temperature), "L", label, true,
                     true, all);
  }
  for (const auto& setting : o.factors) {
    if (!stats.count(setting)) continue;
    std::vector<macro::XySeries> binder, collapse, hist;
    for (const std::string& who : {std::string("truth"), setting}) {
      std::map<int, std::vector<std::size_t>> by_side;
      for (const auto& [i, s] : stats[who]) by_side[cells[i].L].push_back(i);
      const std::string tag = who == "truth" ? "truth" : "c = " + setting;
      for (auto& [side, idx] : by_side) {
        std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return cells[a].T < cells[b].T; });
        macro::XySeries b{tag + ", L = " + std::to_string(side), {}, {}, {}, {}}, c = b;
        for (std::size_t i : idx) {
          const auto& s = stats[who][i];
          b.x.push_back(cells[i].T);
          b.y.push_back(s.U.value);
          b.lo.push_back(s.U.value - s.U.se);
          b.hi.push_back(s.U.value + s.U.se);
          const double scale = std::pow(static_cast<double>(side), 0.125);
          c.x.push_back((cells[i].T - kIsingTc) * side);
          c.y.push_back(s.abs_m.value * scale);
          c.lo.push_back((s.abs_m.value - s.abs_m.se) * scale);
          c.hi.push_back((s.abs_m.value + s.abs_m.se) * scale);
          if (cells[i].T == o.slope_temperature && !s.histogram.empty()) {
            macro::XySeries h{tag + ", L = " + std::to_string(side), {}, {}, {}, {}};
            for (std::size_t k = 0; k < s.histogram.size(); ++k) {
              h.x.push_back((k + 0.5) / static_cast<double>(s.histogram.size()));
              h.y.push_back(s.histogram[k] * static_cast<double>(s.histogram.size()));
            }
            hist.push_back(h);
          }
        }
        binder.push_back(b);
        collapse.push_back(c);
      }
    }
    macro::plot_xy(o.out + "/binder-" + setting + ".png", "Binder cumulant U(T): truth and c = " + setting, "T", "U",
                   false, false, binder, {{true, kIsingTc, "T_c"}});
    macro::plot_xy(o.out + "/collapse-" + setting + ".png",
                   "collapse <|m|> L^(1/8) against (T - T_c) L: truth and c = " + setting, "(T - T_c) L",
                   "<|m|> L^(1/8)", false, false, collapse);
    if (!hist.empty())
      macro::plot_xy(o.out + "/histograms-" + setting + ".png",
                     "|m| at T = " + shortest(o.slope_temperature) + ": truth and c = " + setting, "|m|", "density",
                     false, false, hist);
  }
  return verdict;
}

}  // namespace macrodyn::jobs
