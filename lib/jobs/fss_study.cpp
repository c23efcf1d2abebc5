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
#include <sstream>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/format.hpp"
#include "core/geometry.hpp"
#include "core/stop.hpp"
#include "jobs/calibrate.hpp"
#include "jobs/equilibrium.hpp"
#include "jobs/fss_analysis.hpp"
#include "jobs/fss_tables.hpp"
#include "jobs/jobs.hpp"
#include "jobs/model_dir.hpp"
#include "jobs/predict.hpp"
#include "jobs/study_model.hpp"
#include "jobs/study_recipe.hpp"
#include "jobs/train.hpp"
#include "learn/exported.hpp"
#include "systems/system.hpp"

using namespace macrodyn::systems;

namespace macrodyn::jobs {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
const double kNan = std::numeric_limits<double>::quiet_NaN();


std::vector<FssCell> cells_of(const Config& base, const FssOptions& o) {
  const auto system = make_system(base.system, base.system_params);
  std::vector<FssCell> cells;
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
Config cell_config(const Config& base, const FssCell& cell) {
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
double factor_of(const std::string& setting, const FssCell& cell) {
  if (cell.K == 1) return 1.0;  // one patch is the whole lattice: every setting is 1
  if (setting == "K") return static_cast<double>(cell.K);
  if (setting == "measured" || setting == "stationary") return -1.0;
  return tuned_loss_factor(cell.L, cell.T);
}

// A cell whose K is 1 trains one model per seed for every setting.
std::string model_dir(const FssCell& cell, const std::string& setting, std::uint64_t seed) {
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


bool read_law(const std::string& path, int bins, FssModelLaw& m) {
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
  std::string row;
  std::vector<double> h;
  if (!std::getline(in, row) || !parse_equilibrium_row(row, r) || !read_numbers(in, h) ||
      h.size() != static_cast<std::size_t>(bins))
    throw FileError(path + " is not a truth row of this study; delete it to redo the truth");
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
  for (const FssCell& cell : cells_of(base, o)) {
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
  if (!o.out.empty())
    for (const FssCell& cell : cells_of(base, o)) fs::create_directories(cell.dir);
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
    const FssCell& cell = cells[i];
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
  FssLaws laws;
  const auto ref = make_system(base.system, base.system_params)->reference_training();
  for (std::uint64_t seed : o.seeds)
    for (std::size_t i = 0; i < cells.size(); ++i) {
      const FssCell& cell = cells[i];
      const Config c = cell_config(base, cell);
      for (const std::string& setting : o.factors) {
        const double factor = factor_of(setting, cell);
        if (factor == 0) continue;  // tuned outside the table
        const std::string dir = model_dir(cell, setting, seed);
        const std::string what = "L = " + std::to_string(cell.L) + ", T = " + shortest(cell.T) + ", " +
                                 (cell.K == 1 ? std::string("c = 1") : setting) + ", seed " + std::to_string(seed);
        FssModelLaw m;
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
        if (setting == "stationary") {
          try {  // an undefined drift ratio (too few snapshots) leaves the setting out of this cell
            read_measured_factor(calibration, cell.K, to_string(c.partial_boundary), "c_stationary");
          } catch (const InputError& e) {
            study_say(what + ": left out: " + e.what());
            continue;
          }
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
        for (const auto& z : po.z0)  // a starts file of another model's dimension, or cut short
          if (static_cast<int>(z.size()) != info.dim())
            throw FileError(starts + " holds a start of " + std::to_string(z.size()) + " numbers, not the model's " +
                            std::to_string(info.dim()) + "; delete it to pick the starts again");
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

  return write_fss_tables(base, o, {cells, truth, laws, capped});
}

}  // namespace macrodyn::jobs
