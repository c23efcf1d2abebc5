#pragma once
// Ground truth as a model sees it (docs/design.md §1.10, §8.3.5 and §8.4.5):
// z = (z*, phi_hat) of every ground-truth frame of a /trajectories group, on the model's
// own patch tiling, in model coordinates. Read by evaluate (and shared between the models
// of a study cell through TruthCache).
//
// Coordinates. The SDE lives in model coordinates z_model = (z - offset) / scale and
// t_model = t_physical / time_unit (model.json). Relative errors and MMD^2 are computed in
// model coordinates (as the reference does for the normalised latents); equilibrium
// statistics, plots and predict's CSV are in physical coordinates (the scale of the
// observables, so that <m> can be compared with the [sim] numbers).
//
// No torch header here (docs/design.md §2.3): the encoder is reached through learn/exported.hpp.
#include <cstdint>
#include <string>
#include <vector>

#include "jobs/model_info.hpp"
#include "systems/system.hpp"

namespace macrodyn::learn {
class ExportedEncoder;
}

namespace macrodyn::jobs {

// [n, d] row-major, in place: physical -> model coordinates and back.
void to_model_coordinates(const ModelInfo& info, std::vector<double>& z);
void to_physical_coordinates(const ModelInfo& info, std::vector<double>& z);

// Ground truth in a model's coordinates.
struct TruthMacrostates {
  std::int64_t runs = 0, frames = 0;
  int dim = 0;                     // d_z of the model
  std::vector<double> z;           // [runs, frames, d_z], model coordinates
  std::vector<double> durations;   // [runs, frames], physical (durations[., 0] = 0)
  std::vector<double> initial;     // [runs, q]: each run's initial condition (/trajectories/initial)
  std::vector<std::string> initial_columns;  // its q names (System::initial_condition_names: m0 for spins)
  bool from_states = false;        // recomputed from /trajectories/states, else the stored observables
};

// The checks a truth file must pass for a model, cheap (attributes only): it opens, has
// /trajectories with committed runs, the same system, L and observable names as the model,
// and the states when they are needed (see truth_macrostates). Throws InputError for a
// mismatch between the two inputs (naming both files) and FileError for an unusable file.
// Whether a model's truth must keep its states: a learned closure is encoded from them,
// and patch observables that are not tiling-invariant (System::tiling_invariant) depend
// on the model's tiling (K patches) and are recomputed from them.
bool truth_states_needed(bool closure, std::int64_t K, const systems::System& system);

void check_truth_for_model(const ModelInfo& info, const std::string& model_dir, const std::string& truth_path);

// For every committed truth run and frame, z = (z*, phi_hat) on the model's tiling (patch
// p, K = (L/p)^D, row-major patch I = a*(L/p) + b):
//  * z* = macro_observables(system, x, L, p, periodic), the mean over the K patches of g
//    computed on each patch as a torus (docs/design.md §1.6: the same phi as the training pairs);
//  * phi_hat = the mean over the K patches of the encoder's codes;
// then normalised with the model's offset / scale. The states are read and encoded in
// blocks of consecutive frames (64 MB of states, across run boundaries), never all at once.
//
// The states are used whenever the file has them. Without them (simulate stores them only
// with a closure), the stored /trajectories/observables (whole-lattice values) are used
// when they equal that definition on every tiling: no closure, and K = 1 or every
// prescribed observable is the magnetisation m (a site average: Curie–Weiss); otherwise
// FileError naming the truth file. `encoder` must be given iff the model has a closure. z* is
// computed on `threads` threads (0 = all cores); the result does not depend on it.
TruthMacrostates truth_macrostates(const ModelInfo& info, const std::string& model_dir, const std::string& truth_path,
                                   const learn::ExportedEncoder* encoder, int threads = 1, bool progress = false);

struct TruthCache {
  std::string key;  // model patch, normalisation and encoder file the macrostates were made with
  TruthMacrostates truth;
};

}  // namespace macrodyn::jobs
