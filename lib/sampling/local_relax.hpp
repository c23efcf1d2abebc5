#pragma once
// LOCALRELAX (docs/design.md §1.3, §6.3): short microscopic dynamics in overlapping windows of
// side w at stride s (default w/2) that heal the blocky interfaces left by UPSAMPLE.
//
// Windows run in colour phases: per axis, window a gets colour a mod 2 (when the number
// of windows per axis is odd, the last one gets colour 2), so windows of one colour
// never overlap. A `frozen` halo is read from a copy of the lattice taken when the
// phase starts, hence the result does not depend on the order of windows within a
// phase, nor on who processes them. (The reference visits windows sequentially in
// raster order; colour phases reorder the updates, which is statistically benign.)
#include <cstdint>
#include <vector>

#include "systems/system.hpp"

namespace macrodyn::sampling {

struct RelaxSpec {
  int window = 16;
  int stride = 8;
  std::uint64_t events = 0;  // per window; 0 = one sweep of the window (System::events_per_sweep)
  Boundary boundary = Boundary::periodic;
  // Window origins are offset + a * stride (mod L) along every axis: the alloy's windows
  // straddle the tile seams (offset 8 for tiles of 16), in teams too (mpi/team_relax.hpp).
  int offset = 0;
};

struct RelaxWindow {
  Coord origin;
  std::uint32_t id;  // raster index over all windows: the RNG sub-stream
};

// Windows of each colour phase for a side-L lattice, phases in lexicographic colour
// order, windows of a phase in raster order.
std::vector<std::vector<RelaxWindow>> relax_phases(int dim, int L, int stride, int offset = 0);

// Relaxes x (side L) in place. Numbers come from WorkItem{seed, relax, level, item,
// sub = window id}. `stage_copy` is scratch of L^D sites (used for `frozen`).
void local_relax(const systems::System& system, systems::Evolver& evolver, std::int8_t* x, int L,
                 const RelaxSpec& spec, std::uint64_t seed, std::uint32_t level,
                 std::uint64_t item, std::vector<std::int8_t>& stage_copy);

// Same, processing the windows of each phase in the given permutation of phase order
// (tests: the result must not depend on it).
void local_relax_in_order(const systems::System& system, systems::Evolver& evolver, std::int8_t* x, int L,
                          const RelaxSpec& spec, std::uint64_t seed, std::uint32_t level,
                          std::uint64_t item, std::vector<std::int8_t>& stage_copy,
                          bool reverse_within_phase);

}  // namespace macrodyn::sampling
