#pragma once
// The resolved configuration of a job: every key of the INI file, typed. Parsing lives
// in apps/ (Boost.Program_options); validation lives here so that tests and every
// subcommand share one set of rules.
#include <cstdint>
#include <string>
#include <vector>

#include "core/boundary.hpp"
#include "systems/initial_state.hpp"
#include "sampling/hierarchy.hpp"
#include "sampling/partial_evolution.hpp"
#include "sampling/trajectory.hpp"
#include "systems/params.hpp"

namespace macrodyn::jobs {

struct Config {
  // [system]
  std::string system = "ising2d";
  // The system's own keys as given (system.<key>, in the order given); make_system
  // resolves them against the keys the system declares, with defaults for the rest.
  systems::SystemParams system_params;
  // [small]
  int small_side = 0;  // 0 = partial.patch (the paper's protocol L_s = p)
  std::int64_t small_runs = 20;
  std::int64_t small_sweeps = 20;
  // Thinned frames (method notes §4): every sweep before small.dense_sweeps, then every
  // small.frame_stride-th (sampling/trajectory.hpp); stride 1 keeps every sweep.
  std::int64_t small_dense_sweeps = 0;
  std::int64_t small_frame_stride = 1;
  Dynamics small_dynamics = Dynamics::continuous_time;
  systems::InitialKind small_init = systems::InitialKind::random_m0;
  double small_m0 = 0.0;
  // [large]
  int large_side = 32;
  std::int64_t snapshots = 6000;
  bool random_configs = true;
  // [upsample]
  int factor = 2;
  int relax_window = 16;
  int relax_stride = 0;             // 0 = window / 2
  int relax_offset = 0;             // window origins offset + a * stride
  std::uint64_t relax_events = 0;   // 0 = one window sweep
  std::uint64_t relax_last_events = 0;  // at the last level; 0 = relax_events
  Boundary relax_boundary = Boundary::periodic;
  // [partial]
  int patch = 16;
  Boundary partial_boundary = Boundary::periodic;
  sampling::PairsMode pairs = sampling::PairsMode::one;
  std::uint64_t partial_events = 0;  // 0 = one patch sweep
  // [closure]
  std::string closure = "autoencoder";  // "autoencoder" or "none"
  // [truth]
  // The defaults are what a verdict needs (jobs/verdict.hpp): groups of at least 30
  // runs from fixed initial conditions, past the transient in the later half.
  std::int64_t truth_runs = 64;
  std::int64_t truth_sweeps = 100;
  Dynamics truth_dynamics = Dynamics::continuous_time;
  systems::InitialKind truth_init = systems::InitialKind::given_m0;
  // With truth.init = m0: `runs` runs per initial condition (systems/initial_state.hpp).
  std::vector<systems::InitialCondition> truth_m0{systems::condition_of(-0.5), systems::condition_of(0.0),
                                                  systems::condition_of(0.5)};
  // [verdict]: macrodyn run judges its model against the truth runs
  std::int64_t verdict_ensemble = 64;  // predicted paths per truth run
  // [output]
  std::string output = "macrodyn.h5";
  bool overwrite = false;
  // [team], [stream], [learn]: macrodyn run (docs/design.md §6)
  int team_size = 0;                         // 0 = smallest team whose ranks hold <= team_max_sites
  std::int64_t team_max_sites = 1LL << 26;
  int stream_batch = 256;                    // rows per message
  int stream_credits = 4;                    // unacknowledged messages per sender
  double stream_timeout = 600;               // seconds without a word from a peer
  std::string stream_save;                   // streamed dataset (HDF5); "" = not kept
  int stream_sync_rounds = 4;                // rounds between sync points (checkpoints, stops)
  int learn_ranks = 1;
  std::string learn_out = "macrodyn-model";
  std::int64_t learn_ae_snapshots = 2000;    // 0 = large.snapshots
  int learn_ae_epochs = 3;
  int learn_closure_dim = 2;
  std::string learn_method = "kscaled";
  std::string learn_diffusion = "full";
  double learn_lr = 1e-3;
  int learn_batch = 1024;
  std::int64_t learn_steps = 6000;
  std::int64_t learn_steps_per_epoch = 100;  // plateau scheduler epoch
  int learn_steps_per_batch = 1;             // SDE steps per received stream message
  std::int64_t learn_buffer = 1LL << 20;     // replay buffer rows
  std::string learn_buffer_kind = "fifo";
  std::int64_t learn_min_fill = 256;         // rows before the first step; normalisation from these
  std::string learn_device = "auto";
  int learn_threads = 1;
  double learn_checkpoint_every = 600;       // seconds between learner checkpoints
  // [run]
  std::uint64_t seed = 1;
  int threads = 0;  // 0 = all cores
  bool progress = true;

  // The resolved INI text (stored in every output file).
  std::string ini_text;
  // The --config file it was read from ("" = none): an input no output may overwrite.
  std::string config_file;

  int resolved_small_side() const { return small_side ? small_side : patch; }
  // Frames per small run (small.sweeps + 1 unless thinned).
  std::int64_t small_frames() const;
  int resolved_stride() const { return relax_stride ? relax_stride : relax_window / 2; }
  bool has_closure() const { return closure != "none"; }
  int resolved_threads() const;
};

// calibrate: generate's pipeline without an output file, its last level kept whole
// (large.snapshots = --snapshots).
enum class Job { generate, simulate, run, calibrate };

// Throws InputError with one sentence naming the option when the configuration is
// impossible for `job` (checked before any work, including the output path).
void validate(const Config& c, Job job);

// The [system] keys other than name of a resolved INI text as stored in every dataset's
// root attribute `config`, as written there (not resolved).
systems::SystemParams system_params_in_ini(const std::string& ini);
// c.system_params resolved by its system (every key it declares; InputError for a key
// it does not declare); for a system outside the registry, the values given.
systems::SystemParams resolved_system_params(const Config& c);

// Level sides of the hierarchical upsampling, small side first, large side last.
std::vector<int> upsampling_sides(const Config& c);
// The small runs' trajectory (side, sweeps, dynamics, start, frame schedule).
sampling::TrajectorySpec small_trajectory(const Config& c);
// The hierarchy generate builds (sides, factor, relax, seed, small frames per run); run's
// teams and calibrate build the same.
sampling::HierarchySpec hierarchy_spec(const Config& c);
// Uniformly-random-magnetisation snapshots added after the upsampled ones (ids
// snapshots .. snapshots + random_snapshots - 1): large.snapshots of them when
// large.random_configs is on and the large system is upsampled, else none.
std::int64_t random_snapshots(const Config& c);

}  // namespace macrodyn::jobs
