#pragma once
// Full-system runs: frame k is the state after k sweeps (frame 0 = initial state);
// duration[k] is the physical time of the sweep that led to frame k (duration[0] = 0).
// A continuous-time sweep is side^D events; a heat-bath frame has duration 1 (sweep).
// Thinned frames (stride > 1, method notes §4: every sweep to 999, then every 10th): frames
// after sweeps 0, 1, ..., dense - 1 and then dense, dense + stride, ... up to `sweeps`;
// duration[k] is then the time since the previous frame. The dynamics draws the same
// numbers whatever is kept, so a thinned run's frames are the dense run's at those sweeps.
#include <cstdint>

#include "systems/initial_state.hpp"
#include "core/dynamics.hpp"
#include "systems/system.hpp"

namespace macrodyn::sampling {


struct TrajectorySpec {
  int side = 16;
  std::uint64_t sweeps = 200;  // frames = sweeps + 1 (stride 1)
  Dynamics dynamics = Dynamics::continuous_time;
  systems::InitialKind initial = systems::InitialKind::random_m0;
  systems::InitialCondition condition = systems::unset_condition();  // read when initial == given_m0
  std::uint64_t dense = 0;   // with stride > 1: sweeps before the thinned frames
  std::uint64_t stride = 1;  // sweeps between frames after `dense`
};

// Frames of a run (sweeps + 1 with stride 1), and whether the state after `sweep` sweeps is one.
std::int64_t frame_count(std::uint64_t sweeps, std::uint64_t dense, std::uint64_t stride);
inline std::int64_t frame_count(const TrajectorySpec& s) { return frame_count(s.sweeps, s.dense, s.stride); }
bool is_frame(std::uint64_t sweep, std::uint64_t dense, std::uint64_t stride);

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
