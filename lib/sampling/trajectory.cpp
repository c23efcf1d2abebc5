#include "sampling/trajectory.hpp"

#include <cstring>

using namespace macrodyn::systems;

namespace macrodyn::sampling {

std::int64_t frame_count(std::uint64_t sweeps, std::uint64_t dense, std::uint64_t stride) {
  if (stride <= 1 || dense > sweeps) return static_cast<std::int64_t>(sweeps) + 1;
  return static_cast<std::int64_t>(dense + (sweeps - dense) / stride + 1);
}

bool is_frame(std::uint64_t sweep, std::uint64_t dense, std::uint64_t stride) {
  return stride <= 1 || sweep < dense || (sweep - dense) % stride == 0;
}

void run_trajectory(const System& system, Evolver& evolver, const TrajectorySpec& spec,
                    std::uint64_t seed, Purpose dynamics_purpose, std::uint64_t item,
                    std::int8_t* scratch, TrajectoryOut& out) {
  const int D = system.dim();
  const std::int64_t n = ipow(spec.side, D), bytes = n * system.state_layout().voxel_bytes();
  const int d = system.num_observables();
  // Small and truth runs draw their initial states from different levels of the stream.
  const std::uint32_t init_level = dynamics_purpose == Purpose::truth_dynamics ? 1 : 0;
  Rng init_rng({seed, Purpose::initial_state, init_level, item, 0});
  out.condition = spec.condition;
  system.initial_state(scratch, n, spec.initial, out.condition, init_rng);
  evolver.load(scratch, spec.side, Coord{0, 0, 0}, spec.side, Boundary::periodic, nullptr);

  Rng rng({seed, dynamics_purpose, 0, item, 0});
  double dt = 0.0;  // since the last frame
  std::int64_t k = 0;
  for (std::uint64_t sweep = 0; sweep <= spec.sweeps; ++sweep) {
    if (sweep > 0) {
      if (spec.dynamics == Dynamics::continuous_time) {
        const double frame = system.frame_time();
        dt += frame > 0 ? evolver.run_for(frame, rng) : evolver.run_events(system.events_per_sweep(n), rng);
      } else {
        evolver.heatbath_sweep(rng);
        dt += 1.0;
      }
    }
    if (!is_frame(sweep, spec.dense, spec.stride)) continue;
    out.durations[k] = dt;
    dt = 0.0;
    evolver.observables(out.observables + k * d);
    if (out.states) std::memcpy(out.states + k * bytes, evolver.box(), static_cast<std::size_t>(bytes));
    ++k;
  }
}

}  // namespace macrodyn::sampling
