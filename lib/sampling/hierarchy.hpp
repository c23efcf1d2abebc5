#pragma once
// Hierarchical upsampling (docs/design.md §1.3): from a pool of side-s configurations build
// side-(s*m) ones by drawing with replacement, UPSAMPLE x m, LOCALRELAX; repeat level
// by level until the large side. Level l's snapshot j depends only on (seed, l, j) and
// the previous pool, so levels can be built by any number of threads.
#include <cstdint>
#include <vector>

#include "sampling/local_relax.hpp"
#include "systems/system.hpp"

namespace macrodyn::sampling {

struct HierarchySpec {
  std::vector<int> sides;  // sides[0] = small side, sides.back() = large side
  int factor = 2;
  RelaxSpec relax;         // window is clamped to the level side; stride 0 = window / 2
  std::uint64_t seed = 0;
  // Frames per small run in the level-1 pool (run-major), so that a system may draw
  // time-matched frames (System::FramePool); 0 = not trajectories.
  std::int64_t frames_per_run = 0;
  // Events per window at the last level when > 0 (method notes §4: 32 at L = 128), else
  // relax.events there too.
  std::uint64_t last_events = 0;
};

// The relax spec actually used at a level of side `side`.
RelaxSpec relax_at_side(const RelaxSpec& relax, int side);
// The relax spec of level `level` (1 .. sides.size() - 1): relax_at_side, with last_events
// at the last level.
RelaxSpec relax_at_level(const HierarchySpec& spec, int level);

// Builds snapshot j of level `level` (>= 1) from `pool` (pool_count configurations of
// side sides[level - 1]) into out (sides[level]^D sites). The source is drawn from
// WorkItem{seed, draw, level, j}; relaxation uses WorkItem{seed, relax, level, j, window}.
void build_level_snapshot(const systems::System& system, systems::Evolver& evolver, const HierarchySpec& spec, int level,
                          const std::int8_t* pool, std::int64_t pool_count, std::int64_t j,
                          std::int8_t* out, std::vector<std::int8_t>& stage_copy);

// When the small side equals the large side nothing is upsampled: snapshots are pool
// frames drawn without replacement. Returns the first `count` entries of a random
// permutation of [0, pool_count) (WorkItem{seed, draw, 0, 0}).
std::vector<std::int64_t> draw_without_replacement(std::int64_t pool_count, std::int64_t count,
                                                   std::uint64_t seed);

}  // namespace macrodyn::sampling
