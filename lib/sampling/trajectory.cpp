#include "sampling/trajectory.hpp"

#include <cstring>

using namespace macrodyn::systems;

namespace macrodyn::sampling {

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
  for (std::uint64_t k = 0; k <= spec.sweeps; ++k) {
    double dt = 0.0;
    if (k > 0) {
      if (spec.dynamics == Dynamics::continuous_time) {
        const double frame = system.frame_time();
        dt = frame > 0 ? evolver.run_for(frame, rng) : evolver.run_events(system.events_per_sweep(n), rng);
      } else {
        evolver.heatbath_sweep(rng);
        dt = 1.0;
      }
    }
    out.durations[k] = dt;
    evolver.observables(out.observables + k * d);
    if (out.states) std::memcpy(out.states + k * bytes, evolver.box(), static_cast<std::size_t>(bytes));
  }
}

}  // namespace macrodyn::sampling
