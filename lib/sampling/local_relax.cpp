#include "sampling/local_relax.hpp"

#include <algorithm>
#include <cstring>

using namespace macrodyn::systems;

namespace macrodyn::sampling {

namespace {
int colour_of(int a, int per_axis) {
  if (per_axis % 2 == 1 && per_axis > 1 && a == per_axis - 1) return 2;
  return a % 2;
}
}  // namespace

std::vector<std::vector<RelaxWindow>> relax_phases(int dim, int L, int stride, int offset) {
  const int per_axis = L / stride;
  const int colours = per_axis == 1 ? 1 : (per_axis % 2 == 0 ? 2 : 3);
  std::vector<std::vector<RelaxWindow>> phases(static_cast<std::size_t>(ipow(colours, dim)));
  const std::int64_t total = ipow(per_axis, dim);
  for (std::int64_t id = 0; id < total; ++id) {
    Coord a{0, 0, 0};
    std::int64_t r = id;
    for (int d = dim - 1; d >= 0; --d) {
      a[d] = static_cast<int>(r % per_axis);
      r /= per_axis;
    }
    std::int64_t phase = 0;
    Coord origin{0, 0, 0};
    for (int d = 0; d < dim; ++d) {
      phase = phase * colours + colour_of(a[d], per_axis);
      origin[d] = (a[d] * stride + offset) % L;
    }
    phases[phase].push_back(RelaxWindow{origin, static_cast<std::uint32_t>(id)});
  }
  return phases;
}

void local_relax_in_order(const System& system, Evolver& evolver, std::int8_t* x, int L,
                          const RelaxSpec& spec, std::uint64_t seed, std::uint32_t level,
                          std::uint64_t item, std::vector<std::int8_t>& stage_copy,
                          bool reverse_within_phase) {
  if (spec.window == 0) return;  // upsample.window = 0: no relax (docs/design.md §1.3)
  const int dim = system.dim();
  const std::int64_t n = ipow(L, dim) * system.state_layout().voxel_bytes();  // bytes
  const std::uint64_t events = spec.events ? spec.events : system.events_per_sweep(ipow(spec.window, dim));
  auto phases = relax_phases(dim, L, spec.stride, spec.offset);
  for (auto& phase : phases) {
    if (reverse_within_phase) std::reverse(phase.begin(), phase.end());
    const std::int8_t* frozen = nullptr;
    if (spec.boundary == Boundary::frozen) {
      stage_copy.resize(static_cast<std::size_t>(n));
      std::memcpy(stage_copy.data(), x, static_cast<std::size_t>(n));
      frozen = stage_copy.data();
    }
    for (const RelaxWindow& win : phase) {
      evolver.load(x, L, win.origin, spec.window, spec.boundary, frozen);
      Rng rng({seed, Purpose::relax, level, item, win.id});
      evolver.run_events(events, rng);
      evolver.store(x, L, win.origin);
    }
  }
}

void local_relax(const System& system, Evolver& evolver, std::int8_t* x, int L,
                 const RelaxSpec& spec, std::uint64_t seed, std::uint32_t level,
                 std::uint64_t item, std::vector<std::int8_t>& stage_copy) {
  local_relax_in_order(system, evolver, x, L, spec, seed, level, item, stage_copy, false);
}

}  // namespace macrodyn::sampling
