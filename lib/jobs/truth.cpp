// Ground truth in a model's coordinates (see truth.hpp): the checks of a truth file
// against a model, and its macrostates on the model's tiling.
#include "jobs/truth.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <stdexcept>

#include "core/boundary.hpp"
#include "core/error.hpp"
#include "core/geometry.hpp"
#include "core/parallel.hpp"
#include "core/progress.hpp"
#include "core/stop.hpp"
#include "io/dataset.hpp"
#include "jobs/latent.hpp"
#include "jobs/model_dir.hpp"
#include "jobs/state_tables.hpp"
#include "learn/exported.hpp"
#include "sampling/partial_evolution.hpp"
#include "systems/system.hpp"

using namespace macrodyn::sampling;
using namespace macrodyn::systems;

namespace macrodyn::jobs {

namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kBlockBytes = 64u << 20;  // states read and encoded per block

bool stored_observables_usable(const ModelInfo& info) {
  return !truth_states_needed(info.closure_dim > 0, info.K, *make_system(info.system, info.params));
}

}  // namespace

// Stored whole-lattice observables equal the patch-averaged phi on every tiling when the
// model has one patch or every observable is tiling-invariant (a plain site average).
bool truth_states_needed(bool closure, std::int64_t K, const System& system) {
  if (closure) return true;
  if (K == 1) return false;
  for (int i = 0; i < system.num_observables(); ++i)
    if (!system.tiling_invariant(i)) return true;
  return false;
}

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

namespace {

// /trajectories/initial [runs, q] with the group's `initial_columns`, which must be the
// system's initial-condition names; files written before that table read their
// /trajectories/m0 [runs] as the one column m0.
void read_initial_conditions(const io::DatasetReader& r, const std::string& truth_path, const System& sys,
                             std::uint64_t runs, TruthMacrostates& t) {
  const bool table = r.has("/trajectories/initial");
  t.initial_columns = table ? r.attr_strings("/trajectories", "initial_columns") : std::vector<std::string>{"m0"};
  if (table)
    r.require_table("/trajectories/initial", {static_cast<std::uint64_t>(t.initial_columns.size())});
  else
    r.require_table("/trajectories/m0", {});
  if (t.initial_columns != sys.initial_condition_names())
    throw FileError(truth_path + ": the truth runs' initial conditions are (" + join(t.initial_columns, ", ") +
                    "), but system " + sys.name() + " names (" + join(sys.initial_condition_names(), ", ") + ").");
  t.initial.resize(static_cast<std::size_t>(runs) * t.initial_columns.size());
  r.read_rows(r.has("/trajectories/initial") ? "/trajectories/initial" : "/trajectories/m0", 0, runs, io::DType::f64,
              t.initial.data());
  for (std::size_t i = 0; i < t.initial.size(); ++i)
    if (!std::isfinite(t.initial[i]))
      throw FileError(truth_path + ": the initial condition of run " + std::to_string(i / t.initial_columns.size()) +
                      " is not a finite number");
}

}  // namespace

void check_truth_for_model(const ModelInfo& info, const std::string& model_dir, const std::string& truth_path) {
  const std::string model_json = model_dir + "/model.json";
  if (truth_path.empty()) throw InputError("--truth is required (a file written by macrodyn simulate).");
  if (!fs::exists(truth_path)) throw FileError(truth_path + " does not exist.");
  io::DatasetReader r(truth_path);
  if (!r.has("/trajectories"))
    throw FileError(truth_path + " has no /trajectories group: ground truth is written by macrodyn simulate.");
  r.require_table("/trajectories/durations", {0});
  if (!r.has("/trajectories/initial") && !r.has("/trajectories/m0"))
    throw FileError(truth_path + " has no /trajectories/initial: the initial condition of every run is needed.");
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
  const auto sys = make_system(info.system, info.params);
  if (info.patch < 1 || L % info.patch != 0)
    throw FileError(model_json + ": patch " + std::to_string(info.patch) + " does not divide L = " + std::to_string(L) + ".");
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
    auto want = state_shape(*sys, static_cast<int>(L));
    want.insert(want.begin(), dshape[1]);
    if (s.size() != want.size() + 1 || !std::equal(want.begin(), want.end(), s.begin() + 1))
      throw FileError(truth_path + ": /trajectories/states does not have the shape [runs, frames, L^D] of side L (" +
                      "and the channels of a field).");
    require_state_type(r, "/trajectories/states", *sys);
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
  const auto sys = make_system(info.system, info.params);
  const int D = sys->dim(), ds = static_cast<int>(info.z_star_dim), dc = static_cast<int>(info.closure_dim), d = ds + dc;
  const int L = static_cast<int>(info.L), p = static_cast<int>(info.patch);
  threads = resolve_threads(threads);

  TruthMacrostates t;
  t.runs = static_cast<std::int64_t>(r.rows_committed("/trajectories"));
  t.frames = static_cast<std::int64_t>(r.shape("/trajectories/durations")[1]);
  t.dim = d;
  const auto runs = static_cast<std::uint64_t>(t.runs);
  t.durations.resize(static_cast<std::size_t>(t.runs * t.frames));
  r.read_rows("/trajectories/durations", 0, runs, io::DType::f64, t.durations.data());
  read_initial_conditions(r, truth_path, *sys, runs, t);
  for (std::int64_t i = 0; i < t.runs; ++i) {
    for (std::int64_t f = 0; f < t.frames; ++f) {
      const double dur = t.durations[static_cast<std::size_t>(i * t.frames + f)];
      if (!(std::isfinite(dur) && dur >= 0))
        throw FileError(truth_path + ": /trajectories/durations of run " + std::to_string(i) + ", frame " +
                        std::to_string(f) + " is " + std::to_string(dur) + ", not a duration");
    }
  }
  t.z.assign(static_cast<std::size_t>(t.runs * t.frames * d), 0.0);

  if (!r.has("/trajectories/states")) {
    // Only reached when stored_observables_usable (check_truth_for_model): d == ds and
    // the stored rows are the macrostates.
    r.read_rows("/trajectories/observables", 0, runs, io::DType::f64, t.z.data());
    for (std::size_t i = 0; i < t.z.size(); ++i)
      if (!std::isfinite(t.z[i]))
        throw FileError(truth_path + ": /trajectories/observables holds a non-finite value (run " +
                        std::to_string(static_cast<std::int64_t>(i) / (t.frames * d)) + ")");
  } else {
    t.from_states = true;
    const std::int64_t sites = ipow(L, D) * sys->state_layout().voxel_bytes();  // bytes per state
    // Blocks of consecutive frames, across run boundaries, so that the encoder's fixed-size
    // chunks are full (the block holds a power-of-two number of patches when L is one).
    const std::int64_t total = t.runs * t.frames;
    const std::int64_t block = std::clamp<std::int64_t>(static_cast<std::int64_t>(kBlockBytes) / sites, 1, total);
    std::vector<std::int8_t> x(static_cast<std::size_t>(block * sites));
    const StateCheck check(*sys, L);
    std::vector<std::int8_t> patches;
    std::vector<float> codes;
    std::vector<double> phi(static_cast<std::size_t>(block * ds)), closure(static_cast<std::size_t>(block * dc));
    Progress prog("evaluate: macrostates of the truth (patch " + std::to_string(p) + ")", total, "frames", progress);
    for (std::int64_t g0 = 0; g0 < total; g0 += block) {
      const std::int64_t nf = std::min(block, total - g0);
      for (std::int64_t g = g0; g < g0 + nf;) {  // one read per run segment
        const std::int64_t run = g / t.frames, f = g % t.frames, n = std::min(t.frames - f, g0 + nf - g);
        std::vector<std::uint64_t> start{static_cast<std::uint64_t>(run), static_cast<std::uint64_t>(f)},
            count{1, static_cast<std::uint64_t>(n)};
        for (const std::uint64_t extent : state_shape(*sys, L)) {  // [L]^D, then a field's channels
          start.push_back(0);
          count.push_back(extent);
        }
        r.read_slab("/trajectories/states", start, count, state_dtype(*sys), x.data() + (g - g0) * sites);
        g += n;
      }
      check_states(check, x.data(), nf, [&](std::int64_t k) {
        return truth_path + ": /trajectories/states run " + std::to_string((g0 + k) / t.frames) + ", frame " +
               std::to_string((g0 + k) % t.frames);
      });
      parallel_for(0, nf, threads, [&](std::int64_t k, int) {
        const std::int8_t* xk = x.data() + k * sites;
        macro_observables(*sys, xk, L, p, Boundary::periodic, phi.data() + k * ds);
      });
      if (dc > 0) snapshot_closure(*encoder, x.data(), nf, L, patches, codes, closure.data());
      for (std::int64_t k = 0; k < nf; ++k) {
        double* z = t.z.data() + (g0 + k) * d;
        for (int i = 0; i < ds; ++i) z[i] = phi[static_cast<std::size_t>(k * ds + i)];
        for (int c = 0; c < dc; ++c) z[ds + c] = closure[static_cast<std::size_t>(k * dc + c)];
      }
      prog.update(g0 + nf);
      check_stop("nothing (evaluation writes only at the end)");
    }
  }
  to_model_coordinates(info, t.z);
  return t;
}

}  // namespace macrodyn::jobs
