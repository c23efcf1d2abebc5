// macrodyn evaluate / predict: ensembles of the learned SDE against ground truth and from
// given macrostates (see evaluate.hpp for the protocol and the coordinates).
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
#include <stdexcept>
#include <thread>

#include "core/error.hpp"
#include "core/geometry.hpp"
#include "core/parallel.hpp"
#include "core/progress.hpp"
#include "core/stop.hpp"
#include "io/dataset.hpp"
#include "learn/exported.hpp"
#include "learn/sde.hpp"
#include "macro/metrics.hpp"
#include "macro/plot.hpp"
#include "sampling/partial_evolution.hpp"
#include "systems/system.hpp"

namespace macrodyn {

namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kBlockBytes = 64u << 20;  // states read and encoded per block
constexpr double kMmdBudget = 2e8;                 // kernel evaluations for the automatic stride

int resolve_threads(int t) {
  if (t > 0) return t;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw ? static_cast<int>(hw) : 1;
}

// Shortest decimal text that reads back as the same double (m0 labels and file names).
std::string shortest(double v) {
  if (std::isnan(v)) return "nan";
  char b[40];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(b, sizeof b, "%.*g", prec, v);
    if (std::strtod(b, nullptr) == v) break;
  }
  return b;
}

std::string num(double v) {
  if (std::isnan(v)) return "nan";
  char b[40];
  std::snprintf(b, sizeof b, "%.10g", v);
  return b;
}

std::string short3(double v) {
  char b[40];
  std::snprintf(b, sizeof b, "%.3g", v);
  return b;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

void say(const EvaluateOptions& o, const std::string& line) {
  if (o.log) o.log(line);
}

// Stored whole-lattice observables equal the patch-averaged phi on every tiling when the
// model has one patch or each observable is the magnetisation (a plain site average).
bool stored_observables_usable(const ModelInfo& info) {
  if (info.closure_dim != 0) return false;
  if (info.K == 1) return true;
  for (std::int64_t i = 0; i < info.z_star_dim; ++i)
    if (info.variables[static_cast<std::size_t>(i)] != "m") return false;
  return true;
}

// T and h from the [system] section of the truth file's resolved INI text (NaN if absent).
void truth_parameters(const std::string& ini, double& T, double& h) {
  T = h = std::numeric_limits<double>::quiet_NaN();
  std::istringstream in(ini);
  std::string line, section;
  while (std::getline(in, line)) {
    const auto hash = line.find_first_of("#;");
    if (hash != std::string::npos) line.erase(hash);
    const auto b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    line = line.substr(b, line.find_last_not_of(" \t\r") - b + 1);
    if (line.front() == '[') {
      section = line;
      continue;
    }
    const auto eq = line.find('=');
    if (section != "[system]" || eq == std::string::npos) continue;
    std::string key = line.substr(0, eq);
    key.erase(key.find_last_not_of(" \t") + 1);
    const std::string value = line.substr(eq + 1);
    if (key == "T") T = std::strtod(value.c_str(), nullptr);
    if (key == "h") h = std::strtod(value.c_str(), nullptr);
  }
}

void check_model_files(const ModelInfo& info, const std::string& dir) {
  for (const char* f : {"drift.pt", "diffusion.pt"})
    if (!fs::exists(dir + "/" + f))
      throw FileError(dir + "/" + f + " does not exist: the model directory is incomplete (macrodyn train writes it).");
  if (info.closure_dim > 0) {
    if (info.encoder.empty())
      throw FileError(dir + "/model.json has a closure of dimension " + std::to_string(info.closure_dim) +
                      " but names no encoder file.");
    if (!fs::exists(dir + "/" + info.encoder))
      throw FileError(dir + "/" + info.encoder + " does not exist: the model directory is incomplete.");
  }
  for (std::size_t i = 0; i < info.scale.size(); ++i)
    if (!(std::isfinite(info.scale[i]) && info.scale[i] != 0 && std::isfinite(info.offset[i])))
      throw FileError(dir + "/model.json: the normalisation of " + info.variables[i] + " is not finite and non-zero.");
  if (!(std::isfinite(info.time_unit) && info.time_unit > 0))
    throw FileError(dir + "/model.json: time_unit must be finite and positive, not " + num(info.time_unit) + ".");
}

ModelInfo read_model_dir(const std::string& dir) {
  if (dir.empty()) throw InputError("--model is required (a model directory written by macrodyn train).");
  if (!fs::is_directory(dir)) throw InputError("--model " + dir + " is not a directory.");
  ModelInfo info = read_model_info(dir);
  check_model_files(info, dir);
  return info;
}

std::string check_device(const std::string& device) {
  try {
    return learn::resolve_device(device);
  } catch (const std::invalid_argument& e) {
    throw InputError(e.what());
  }
}

void make_dir(const std::string& dir, const char* option) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir))
    throw InputError(std::string(option) + " " + dir + " cannot be created: " + (ec ? ec.message() : "not a directory") + ".");
}

void make_parent_dir(const std::string& file, const char* option) {
  const fs::path parent = fs::path(file).parent_path();
  if (!parent.empty()) make_dir(parent.string(), option);
  if (fs::is_directory(file)) throw InputError(std::string(option) + " " + file + " is a directory, not a file.");
}

macro::SdeFunctions sde_functions(const learn::ExportedSde& sde) {
  return macro::SdeFunctions{sde.dim(), [&sde](const float* z, std::int64_t B, float* drift, float* sigma) {
                               sde.eval(z, B, drift, sigma);
                             }};
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

std::string time_label(const ModelInfo& info) {
  if (info.time_unit_kind == "physical") return "time (Glauber time units)";
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", info.time_unit);
  return std::string("time (model units: 1 = ") + b + " physical time)";
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Coordinates

void to_model_coordinates(const ModelInfo& info, std::vector<double>& z) {
  const std::size_t d = info.variables.size();
  for (std::size_t i = 0; i < z.size(); ++i) z[i] = (z[i] - info.offset[i % d]) / info.scale[i % d];
}

void to_physical_coordinates(const ModelInfo& info, std::vector<double>& z) {
  const std::size_t d = info.variables.size();
  for (std::size_t i = 0; i < z.size(); ++i) z[i] = z[i] * info.scale[i % d] + info.offset[i % d];
}

// ---------------------------------------------------------------------------------------
// Truth

void check_truth_for_model(const ModelInfo& info, const std::string& model_dir, const std::string& truth_path) {
  const std::string model_json = model_dir + "/model.json";
  if (truth_path.empty()) throw InputError("--truth is required (a file written by macrodyn simulate).");
  if (!fs::exists(truth_path)) throw FileError(truth_path + " does not exist.");
  io::DatasetReader r(truth_path);
  if (!r.has("/trajectories"))
    throw FileError(truth_path + " has no /trajectories group: ground truth is written by macrodyn simulate.");
  r.require("/trajectories/durations");
  r.require("/trajectories/m0");
  const std::uint64_t runs = r.rows_committed("/trajectories");
  if (runs == 0) throw FileError(truth_path + " has no committed runs in /trajectories.");
  const auto dshape = r.shape("/trajectories/durations");
  if (dshape.size() != 2 || dshape[1] < 2)
    throw FileError(truth_path + ": /trajectories/durations must be [runs, frames] with at least 2 frames.");
  const std::string system = r.attr_string("/", "system");
  if (system != info.system)
    throw InputError("the model " + model_json + " is of the system " + info.system + " but the truth " + truth_path +
                     " holds " + system + " runs.");
  const std::int64_t L = r.attr_int("/trajectories", "L");
  if (L != info.L)
    throw InputError("the model " + model_json + " is defined on side L = " + std::to_string(info.L) + " but the truth " +
                     truth_path + " holds runs of side L = " + std::to_string(L) + "; evaluate on truth of the same side.");
  const auto sys = make_system(info.system, SystemParams{info.T, info.h});
  if (info.patch < 1 || L % info.patch != 0)
    throw FileError(model_json + ": patch " + std::to_string(info.patch) + " does not divide L = " + std::to_string(L) + ".");
  if (info.closure_dim > 0 && sys->dim() != 2)
    throw FileError(model_json + ": a learned closure needs a 2D system, " + info.system + " is " +
                    std::to_string(sys->dim()) + "D.");
  const auto names = r.attr_strings("/trajectories", "observables");
  const std::vector<std::string> zstar(info.variables.begin(), info.variables.begin() + info.z_star_dim);
  if (names != zstar || names != sys->observable_names())
    throw InputError("the prescribed variables of " + model_json + " (" + join(zstar, ", ") + ") are not the observables of " +
                     truth_path + " (" + join(names, ", ") + ").");
  if (r.has("/trajectories/states") || !stored_observables_usable(info)) {
    if (!r.has("/trajectories/states"))
      throw FileError(truth_path + " has no /trajectories/states, which this model needs (" +
                      (info.closure_dim > 0 ? std::string("its closure is encoded from the states")
                                            : "its observables are recomputed on its patch tiling") +
                      "): run macrodyn simulate with closure.kind = autoencoder.");
    const auto s = r.shape("/trajectories/states");
    if (s.size() != static_cast<std::size_t>(2 + sys->dim()) || s[1] != dshape[1])
      throw FileError(truth_path + ": /trajectories/states does not have the shape [runs, frames, L^D].");
    for (std::size_t k = 2; k < s.size(); ++k)
      if (s[k] != static_cast<std::uint64_t>(L)) throw FileError(truth_path + ": /trajectories/states is not of side L.");
  } else {
    const auto s = r.shape("/trajectories/observables");
    if (s.size() != 3 || s[1] != dshape[1] || s[2] != static_cast<std::uint64_t>(info.z_star_dim))
      throw FileError(truth_path + ": /trajectories/observables does not have the shape [runs, frames, d*].");
  }
}

TruthMacrostates truth_macrostates(const ModelInfo& info, const std::string& model_dir, const std::string& truth_path,
                                   const learn::ExportedEncoder* encoder, int threads, bool progress) {
  check_truth_for_model(info, model_dir, truth_path);
  if ((info.closure_dim > 0) != (encoder != nullptr))
    throw std::invalid_argument("truth_macrostates: an encoder must be given exactly when the model has a closure");
  io::DatasetReader r(truth_path);
  const auto sys = make_system(info.system, SystemParams{info.T, info.h});
  const int D = sys->dim(), ds = static_cast<int>(info.z_star_dim), dc = static_cast<int>(info.closure_dim), d = ds + dc;
  const int L = static_cast<int>(info.L), p = static_cast<int>(info.patch);
  threads = resolve_threads(threads);

  TruthMacrostates t;
  t.runs = static_cast<std::int64_t>(r.rows_committed("/trajectories"));
  t.frames = static_cast<std::int64_t>(r.shape("/trajectories/durations")[1]);
  t.dim = d;
  const auto runs = static_cast<std::uint64_t>(t.runs);
  t.durations.resize(static_cast<std::size_t>(t.runs * t.frames));
  t.m0.resize(static_cast<std::size_t>(t.runs));
  r.read_rows("/trajectories/durations", 0, runs, io::DType::f64, t.durations.data());
  r.read_rows("/trajectories/m0", 0, runs, io::DType::f64, t.m0.data());
  t.z.assign(static_cast<std::size_t>(t.runs * t.frames * d), 0.0);

  if (!r.has("/trajectories/states")) {
    // Only reached when stored_observables_usable (check_truth_for_model): d == ds and
    // the stored rows are the macrostates.
    r.read_rows("/trajectories/observables", 0, runs, io::DType::f64, t.z.data());
  } else {
    t.from_states = true;
    const Tiling tiling{D, L, p};
    const std::int64_t K = tiling.patches(), sites = ipow(L, D), psites = ipow(p, D);
    // Blocks of consecutive frames, across run boundaries, so that the encoder's fixed-size
    // chunks are full (the block holds a power-of-two number of patches when L is one).
    const std::int64_t total = t.runs * t.frames;
    const std::int64_t block = std::clamp<std::int64_t>(static_cast<std::int64_t>(kBlockBytes) / sites, 1, total);
    std::vector<std::int8_t> x(static_cast<std::size_t>(block * sites));
    std::vector<std::int8_t> patches(dc > 0 ? static_cast<std::size_t>(block * K * psites) : 0);
    std::vector<float> codes(dc > 0 ? static_cast<std::size_t>(block * K * dc) : 0);
    std::vector<double> phi(static_cast<std::size_t>(block * ds));
    Progress prog("evaluate: macrostates of the truth (patch " + std::to_string(p) + ")", total, "frames", progress);
    for (std::int64_t g0 = 0; g0 < total; g0 += block) {
      const std::int64_t nf = std::min(block, total - g0);
      for (std::int64_t g = g0; g < g0 + nf;) {  // one read per run segment
        const std::int64_t run = g / t.frames, f = g % t.frames, n = std::min(t.frames - f, g0 + nf - g);
        std::vector<std::uint64_t> start{static_cast<std::uint64_t>(run), static_cast<std::uint64_t>(f)},
            count{1, static_cast<std::uint64_t>(n)};
        for (int k = 0; k < D; ++k) {
          start.push_back(0);
          count.push_back(static_cast<std::uint64_t>(L));
        }
        r.read_slab("/trajectories/states", start, count, io::DType::i8, x.data() + (g - g0) * sites);
        g += n;
      }
      parallel_for(0, nf, threads, [&](std::int64_t k, int) {
        const std::int8_t* xk = x.data() + k * sites;
        macro_observables(*sys, xk, L, p, Boundary::periodic, phi.data() + k * ds);
        if (dc > 0)
          for (std::int64_t I = 0; I < K; ++I)
            extract_box(xk, D, L, tiling.origin(I), p, patches.data() + (k * K + I) * psites);
      });
      if (dc > 0) encoder->encode(patches.data(), nf * K, codes.data());
      for (std::int64_t k = 0; k < nf; ++k) {
        double* z = t.z.data() + (g0 + k) * d;
        for (int i = 0; i < ds; ++i) z[i] = phi[static_cast<std::size_t>(k * ds + i)];
        for (int c = 0; c < dc; ++c) {
          double s = 0.0;
          for (std::int64_t I = 0; I < K; ++I) s += codes[static_cast<std::size_t>((k * K + I) * dc + c)];
          z[ds + c] = s / static_cast<double>(K);
        }
      }
      prog.update(g0 + nf);
      check_stop("nothing (evaluation writes only at the end)");
    }
  }
  to_model_coordinates(info, t.z);
  return t;
}

// ---------------------------------------------------------------------------------------
// Evaluate

ModelInfo check_evaluate_options(const EvaluateOptions& o) {
  if (o.ensemble < 1) throw InputError("--ensemble must be at least 1, not " + std::to_string(o.ensemble) + ".");
  if (o.threads < 0) throw InputError("--threads must be 0 (all cores) or positive.");
  if (o.mmd_stride < 0) throw InputError("--mmd-stride must be 0 (automatic) or positive.");
  if (o.output_dir.empty()) throw InputError("--output is required (a directory for metrics.csv and the plots).");
  ModelInfo info = read_model_dir(o.model_dir);
  check_device(o.device);
  check_truth_for_model(info, o.model_dir, o.truth_path);
  if (o.plots && std::system("gnuplot --version >/dev/null 2>&1") != 0)
    throw InputError("the plots need the gnuplot program (apt-get install gnuplot-nox); pass --no-plots to skip them.");
  if (fs::exists(o.output_dir) && !fs::is_directory(o.output_dir))
    throw InputError("--output " + o.output_dir + " exists and is not a directory.");
  make_dir(o.output_dir, "--output");
  return info;
}

EvaluationResult evaluate_model(const EvaluateOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  const ModelInfo info = check_evaluate_options(o);
  const std::string device = check_device(o.device);
  {
    io::DatasetReader r(o.truth_path);
    double T, h;
    truth_parameters(r.has_attr("/", "config") ? r.attr_string("/", "config") : "", T, h);
    if ((std::isfinite(T) && std::fabs(T - info.T) > 1e-9 * std::max(1.0, std::fabs(T))) ||
        (std::isfinite(h) && std::fabs(h - info.h) > 1e-9 * std::max(1.0, std::fabs(h))))
      say(o, "warning: the truth " + o.truth_path + " was simulated at T = " + shortest(T) + ", h = " + shortest(h) +
                 ", the model was trained at T = " + shortest(info.T) + ", h = " + shortest(info.h));
  }
  say(o, "model " + o.model_dir + ": " + info.system + ", " + info.method + ", L " + std::to_string(info.L) + ", patch " +
             std::to_string(info.patch) + ", K " + std::to_string(info.K) + ", z = (" + join(info.variables, ", ") +
             "), device " + device);
  learn::set_torch_threads(o.threads);  // the encoder's convolutions
  const learn::ExportedSde sde(o.model_dir, info.dim(), device);
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
  say(o, "rollout: " + std::to_string(R * E) + " trajectories x " + std::to_string(T - 1) + " steps, dt = " +
             shortest(res.delta) + " model units");
  const std::vector<double> pred = macro::euler_maruyama(sde, z0, static_cast<int>(T - 1), res.delta, o.seed);

  // Groups by exact m0.
  std::map<double, std::vector<std::int64_t>> groups;
  for (std::int64_t r = 0; r < R; ++r) groups[truth.m0[static_cast<std::size_t>(r)]].push_back(r);
  if (R > 1 && groups.size() == static_cast<std::size_t>(R))
    say(o, "warning: every truth run has its own m0 (simulated with truth.init = random?): each group's truth "
           "ensemble is a single trajectory");
  std::int64_t largest = 0;
  for (const auto& g : groups) largest = std::max<std::int64_t>(largest, static_cast<std::int64_t>(g.second.size()));
  const double per_time = std::pow(static_cast<double>(largest * (1 + E)), 2.0);
  res.mmd_stride = o.mmd_stride > 0 ? o.mmd_stride
                                    : std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(per_time * T / kMmdBudget)));
  std::vector<std::int64_t> mmd_times;
  for (std::int64_t k = 0; k < T; k += res.mmd_stride) mmd_times.push_back(k);

  for (const auto& [m0, runs] : groups) {
    GroupMetrics g;
    g.m0 = m0;
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
    double s = 0.0;
    for (double v : mmd) s += v;
    g.mmd2 = s / static_cast<double>(mmd.size());

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
  m.m0 = std::numeric_limits<double>::quiet_NaN();
  m.rel_error_per_dim.assign(d, 0.0);
  m.eq_mean_true.assign(d, 0.0);
  m.eq_mean_pred.assign(d, 0.0);
  m.eq_std_true.assign(d, 0.0);
  m.eq_std_pred.assign(d, 0.0);
  for (const auto& g : res.groups) {
    m.runs += g.runs;
    m.rel_error += g.rel_error / n;
    m.mmd2 += g.mmd2 / n;
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
    s << "# macrodyn evaluate: predicted ensembles against ground truth, one row per initial m0, then their mean\n"
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
    s << "m0,runs,rel_error";
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
    for (const auto& g : res.groups) row(shortest(g.m0), g);
    row("mean", m);
    const std::string tmp = res.metrics_csv + ".tmp";
    {
      std::ofstream f(tmp);
      if (!(f << s.str()) || !f.flush()) throw FileError("cannot write " + tmp + ".");
    }
    fs::rename(tmp, res.metrics_csv);
  }

  if (o.plots) {
    for (const auto& g : res.groups) {
      const std::string png = (fs::path(o.output_dir) / ("bands_m0_" + shortest(g.m0) + ".png")).string();
      std::vector<macro::BandSeries> series{
          {"truth (" + std::to_string(g.runs) + " runs)", res.times, g.mean_true, g.std_true},
          {"prediction (" + info.method + ", " + std::to_string(g.runs * E) + " runs)", res.times, g.mean_pred,
           g.std_pred}};
      macro::plot_ensemble_bands(png,
                                 info.system + ", L = " + std::to_string(info.L) + ", patch " + std::to_string(info.patch) +
                                     ", m0 = " + shortest(g.m0) + ": mean +- std, relative error " + short3(g.rel_error),
                                 time_label(info), info.variables, series);
      res.plots.push_back(png);
    }
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return res;
}

// ---------------------------------------------------------------------------------------
// Predict

ModelInfo check_predict_options(const PredictOptions& o) {
  ModelInfo info = read_model_dir(o.model_dir);
  const auto d = static_cast<std::size_t>(info.dim());
  if (o.z0.empty())
    throw InputError("--z0 gives no initial state (the model needs " + std::to_string(d) + " numbers per state: " +
                     join(info.variables, ", ") + ", physical coordinates).");
  for (std::size_t s = 0; s < o.z0.size(); ++s) {
    if (o.z0[s].size() != d)
      throw InputError("--z0: initial state " + std::to_string(s + 1) + " has " + std::to_string(o.z0[s].size()) +
                       " numbers, the model needs " + std::to_string(d) + " (" + join(info.variables, ", ") +
                       ", physical coordinates).");
    for (double v : o.z0[s])
      if (!std::isfinite(v)) throw InputError("--z0 values must be finite.");
  }
  if (o.steps < 1) throw InputError("--steps must be at least 1, not " + std::to_string(o.steps) + ".");
  if (!(std::isfinite(o.dt) && o.dt > 0)) throw InputError("--dt must be finite and positive, not " + num(o.dt) + ".");
  if (o.ensemble < 1) throw InputError("--ensemble must be at least 1, not " + std::to_string(o.ensemble) + ".");
  const double values = static_cast<double>(o.z0.size()) * static_cast<double>(o.ensemble) * (o.steps + 1.0) * d;
  if (values > 4e8)
    throw InputError("--ensemble x --steps x states is too large (" + num(values) +
                     " values held in memory, at most 4e8): split the prediction.");
  check_device(o.device);
  if (o.output_csv.empty()) throw InputError("--output is required (the CSV of ensemble means and stds).");
  make_parent_dir(o.output_csv, "--output");
  if (!o.trajectories_csv.empty()) make_parent_dir(o.trajectories_csv, "--trajectories");
  if (!o.png.empty()) {
    make_parent_dir(o.png, "--png");
    if (std::system("gnuplot --version >/dev/null 2>&1") != 0)
      throw InputError("--png needs the gnuplot program (apt-get install gnuplot-nox).");
  }
  return info;
}

PredictionResult predict(const PredictOptions& o) {
  const ModelInfo info = check_predict_options(o);
  const learn::ExportedSde sde(o.model_dir, info.dim(), check_device(o.device));
  return predict_with(info, sde_functions(sde), o);
}

PredictionResult predict_with(const ModelInfo& info, const macro::SdeFunctions& sde, const PredictOptions& o) {
  const int d = info.dim();
  if (sde.dim != d) throw InputError("predict: the SDE's dimension differs from the model's.");
  std::vector<double> z0p;  // [S, d] physical
  for (const auto& state : o.z0) {
    if (state.size() != static_cast<std::size_t>(d))
      throw InputError("--z0: every initial state needs " + std::to_string(d) + " numbers.");
    z0p.insert(z0p.end(), state.begin(), state.end());
  }
  if (z0p.empty()) throw InputError("--z0 gives no initial state.");
  if (o.ensemble < 1) throw InputError("--ensemble must be at least 1.");
  PredictionResult res;
  res.variables = info.variables;
  res.states = static_cast<std::int64_t>(o.z0.size());
  res.ensemble = o.ensemble;
  const std::int64_t S = res.states, E = o.ensemble, T = o.steps + 1;
  res.times.resize(static_cast<std::size_t>(T));
  for (std::int64_t k = 0; k < T; ++k) res.times[static_cast<std::size_t>(k)] = static_cast<double>(k) * o.dt;

  std::vector<double> z0m = z0p;
  to_model_coordinates(info, z0m);
  std::vector<double> z0(static_cast<std::size_t>(S * E * d));
  for (std::int64_t s = 0; s < S; ++s)
    for (std::int64_t e = 0; e < E; ++e) std::copy_n(z0m.begin() + s * d, d, z0.begin() + (s * E + e) * d);
  res.trajectories = macro::euler_maruyama(sde, z0, o.steps, o.dt, o.seed);
  to_physical_coordinates(info, res.trajectories);
  // Frame 0 exactly as given (the round trip through the normalisation may round).
  for (std::int64_t j = 0; j < S * E; ++j)
    std::copy_n(z0p.begin() + (j / E) * d, d, res.trajectories.begin() + j * T * d);

  res.mean.resize(static_cast<std::size_t>(S * T * d));
  res.stddev.resize(res.mean.size());
  for (std::int64_t s = 0; s < S; ++s) {
    const std::vector<double> ens(res.trajectories.begin() + s * E * T * d, res.trajectories.begin() + (s + 1) * E * T * d);
    const auto m = macro::ensemble_mean(ens, T, d), sd = macro::ensemble_std(ens, T, d);
    std::copy(m.begin(), m.end(), res.mean.begin() + s * T * d);
    std::copy(sd.begin(), sd.end(), res.stddev.begin() + s * T * d);
  }

  auto header = [&](std::ostream& f) {
    f << "# macrodyn predict: model " << o.model_dir << " (" << info.system << ", method " << info.method << ", L "
      << info.L << ", patch " << info.patch << ")\n"
      << "# " << E << " Euler-Maruyama trajectories per initial state, " << o.steps << " steps of dt = " << shortest(o.dt)
      << " model time units (t_physical = t x " << shortest(info.time_unit) << "), seed " << o.seed
      << "; values in physical coordinates\n";
    for (std::int64_t s = 0; s < S; ++s) {
      f << "# state " << s << ": z0 = (";
      for (int i = 0; i < d; ++i) f << (i ? ", " : "") << shortest(z0p[static_cast<std::size_t>(s * d + i)]);
      f << ")\n";
    }
  };
  auto write = [](const std::string& path, const std::string& text) {
    const std::string tmp = path + ".tmp";
    {
      std::ofstream f(tmp);
      if (!(f << text) || !f.flush()) throw FileError("cannot write " + tmp + ".");
    }
    fs::rename(tmp, path);
  };
  if (!o.output_csv.empty()) {
    std::ostringstream f;
    header(f);
    f << "state,t,t_physical";
    for (const auto& v : info.variables) f << "," << v << "_mean," << v << "_std";
    f << "\n";
    for (std::int64_t s = 0; s < S; ++s)
      for (std::int64_t k = 0; k < T; ++k) {
        const double t = res.times[static_cast<std::size_t>(k)];
        f << s << "," << num(t) << "," << num(t * info.time_unit);
        for (int i = 0; i < d; ++i) {
          const auto at = static_cast<std::size_t>((s * T + k) * d + i);
          f << "," << num(res.mean[at]) << "," << num(res.stddev[at]);
        }
        f << "\n";
      }
    write(o.output_csv, f.str());
  }
  if (!o.trajectories_csv.empty()) {
    std::ostringstream f;
    header(f);
    f << "state,member,t,t_physical";
    for (const auto& v : info.variables) f << "," << v;
    f << "\n";
    for (std::int64_t j = 0; j < S * E; ++j)
      for (std::int64_t k = 0; k < T; ++k) {
        const double t = res.times[static_cast<std::size_t>(k)];
        f << j / E << "," << j % E << "," << num(t) << "," << num(t * info.time_unit);
        for (int i = 0; i < d; ++i) f << "," << num(res.trajectories[static_cast<std::size_t>((j * T + k) * d + i)]);
        f << "\n";
      }
    write(o.trajectories_csv, f.str());
  }
  if (!o.png.empty()) {
    std::vector<macro::BandSeries> series;
    for (std::int64_t s = 0; s < S; ++s) {
      std::string label = "z0 = (";
      for (int i = 0; i < d; ++i) label += (i ? ", " : "") + shortest(z0p[static_cast<std::size_t>(s * d + i)]);
      label += ")";
      series.push_back({label, res.times,
                        std::vector<double>(res.mean.begin() + s * T * d, res.mean.begin() + (s + 1) * T * d),
                        std::vector<double>(res.stddev.begin() + s * T * d, res.stddev.begin() + (s + 1) * T * d)});
    }
    macro::plot_ensemble_bands(o.png,
                               info.system + " (" + info.method + ", patch " + std::to_string(info.patch) + "): " +
                                   std::to_string(E) + " trajectories per initial state, mean +- std",
                               time_label(info), info.variables, series);
  }
  return res;
}

}  // namespace macrodyn
