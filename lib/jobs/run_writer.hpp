#pragma once
// Runs of a system written to one group (/small or /trajectories): per run, frames
// with durations, observables, the initial condition (/initial, one column per value the
// system names, listed in the group's `initial_columns`), and the states when asked. Shared by generate
// (small runs, whose frames it keeps as the upsampling pool) and simulate (truth).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "io/dataset.hpp"
#include "jobs/config.hpp"
#include "sampling/trajectory.hpp"
#include "systems/system.hpp"

namespace macrodyn::jobs {

struct RunsSpec {
  std::string group;                                 // "/small" or "/trajectories"
  io::GroupInfo info;
  int side = 0;
  std::int64_t sweeps = 0;
  std::int64_t frames = 0;                           // per run; 0 = sweeps + 1 (every sweep)
  std::int64_t runs = 0;
  std::function<sampling::TrajectorySpec(std::int64_t run)> spec_of;
  Purpose purpose = Purpose::small_dynamics;          // dynamics stream of the runs
  std::uint64_t seed = 0;
  bool store_states = false;                         // write the states to the file
  bool keep_all_states = false;                      // return every run's states
  int threads = 1;
  bool progress = true;
  std::string what;                                  // for progress and stop messages
  std::int64_t frames_per_run() const { return frames > 0 ? frames : sweeps + 1; }
};

// The pieces, for callers that spread the runs over processes (macrodyn run's truth):
// the group and its tables; one run, keyed by its index r (the same bits wherever it is
// simulated); and a block of finished runs [first, first + rows), appended and committed.
struct RunBlock {
  std::uint64_t first = 0, rows = 0;
  const std::int8_t* states = nullptr;  // [rows, frames, side^D], read when spec.store_states
  const double* durations = nullptr;    // [rows, frames]
  const double* observables = nullptr;  // [rows, frames, d*]
  const double* initial = nullptr;      // [rows, q]: q = System::initial_condition_names().size()
};
void create_run_tables(const systems::System& system, const RunsSpec& spec, io::DatasetWriter& out);
void simulate_run(const systems::System& system, systems::Evolver& evolver, const RunsSpec& spec, std::int64_t r,
                  std::int8_t* scratch, std::int8_t* states, double* durations, double* observables, double* initial);
void append_runs(const systems::System& system, const RunsSpec& spec, const RunBlock& block, io::DatasetWriter& out);

// The truth runs of a configuration (truth.* keys, large.side), as `macrodyn simulate`
// writes them; `c` must outlive the spec (spec_of reads truth.m0).
RunsSpec truth_runs_spec(const Config& c, const systems::System& system);

// Runs them in blocks over `evolvers` (one per thread), appending and committing each
// block. Returns all runs' states [runs, frames, side^D] if keep_all_states, else {}.
// The small runs of a configuration in memory, as generate computes them (the same keys,
// so the same frames): small.runs x (small.sweeps + 1) frames, run-major. For the jobs
// that need the pool but write no dataset of it (run's simulators, calibrate).
std::vector<std::int8_t> small_pool(const Config& c, const systems::System& system,
                                    std::vector<std::unique_ptr<systems::Evolver>>& evolvers);

std::vector<std::int8_t> run_and_write(const systems::System& system,
                                       std::vector<std::unique_ptr<systems::Evolver>>& evolvers,
                                       const RunsSpec& spec, io::DatasetWriter& out);

}  // namespace macrodyn::jobs
