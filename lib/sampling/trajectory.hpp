#pragma once
// Full-system runs: frame k is the state after k sweeps (frame 0 = initial state);
// duration[k] is the physical time of the sweep that led to frame k (duration[0] = 0).
// A continuous-time sweep is side^D events; a heat-bath frame has duration 1 (sweep).
#include <cstdint>

#include "systems/initial_state.hpp"
#include "core/dynamics.hpp"
#include "systems/system.hpp"

namespace macrodyn::sampling {


struct TrajectorySpec {
  int side = 16;
  std::uint64_t sweeps = 200;  // frames = sweeps + 1
  Dynamics dynamics = Dynamics::continuous_time;
  systems::InitialKind initial = systems::InitialKind::random_m0;
  systems::InitialCondition condition = systems::unset_condition();  // read when initial == given_m0
};

struct TrajectoryOut {
  std::int8_t* states = nullptr;  // [frames, side^D] or null (not kept)
  double* durations = nullptr;    // [frames]
  double* observables = nullptr;  // [frames, d*] of the whole lattice (periodic)
  systems::InitialCondition condition{};  // the initial condition used
};

// The run's numbers come from two streams keyed by `item`: Purpose::initial_state and
// `dynamics_purpose` (small_dynamics or truth_dynamics).
void run_trajectory(const systems::System& system, systems::Evolver& evolver, const TrajectorySpec& spec,
                    std::uint64_t seed, Purpose dynamics_purpose, std::uint64_t item,
                    std::int8_t* scratch, TrajectoryOut& out);

}  // namespace macrodyn::sampling
