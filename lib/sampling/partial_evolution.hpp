#pragma once
// Partial evolution (docs/design.md §1.5, §1.7): from a snapshot x_t, evolve patch I for one
// patch sweep (p^D events by default) while the rest stays frozen, and record what a
// training pair needs (docs/design.md §5.3). Every patch is evolved against the unchanged x_t,
// so `pairs = all` yields K pairs whose work is independent.
#include <cstdint>
#include <vector>

#include "core/geometry.hpp"
#include "systems/system.hpp"

namespace macrodyn::sampling {

enum class PairsMode { one, all };

struct PartialSpec {
  int patch = 16;
  Boundary boundary = Boundary::periodic;
  PairsMode pairs = PairsMode::one;
  std::uint64_t events = 0;  // 0 = one patch sweep (p^D events)
};

// One pair, d* observables; patch states are p^D sites each (kept only if asked).
// weight: 1 / (K q) of the probability q the patch was chosen with (System::choose_patch;
// 1 for a uniform choice and for pairs = all), the factor of its change in the K-scaled
// target.
struct PairRecord {
  std::int64_t snapshot_id = 0;
  std::int32_t patch_index = 0;
  double dt = 0.0;
  double weight = 1.0;
  std::vector<double> z_star, g_before, g_after;
  std::vector<std::int8_t> patch_before, patch_after;
};

// phi(x) = mean over the K patches of g (computed under `boundary`), size d*.
void macro_observables(const systems::System& system, const std::int8_t* x, int L, int p,
                       Boundary boundary, double* phi);

// The stream of the patch choice of snapshot `snapshot_id` when pairs = one.
inline Rng patch_choice_rng(std::uint64_t seed, std::int64_t snapshot_id) {
  return Rng({seed, Purpose::patch_choice, 0, static_cast<std::uint64_t>(snapshot_id), 0});
}

// The patch a uniform choice (System::choose_patch's default) evolves from snapshot
// `snapshot_id`, without the snapshot: every code path of a uniform system (serial, team,
// the learner counting what it will receive) agrees on it.
inline std::int64_t chosen_patch(std::uint64_t seed, std::int64_t snapshot_id, std::int64_t patches) {
  Rng pick = patch_choice_rng(seed, snapshot_id);
  return static_cast<std::int64_t>(pick.below(static_cast<std::uint64_t>(patches)));
}

// Number of pairs one snapshot yields.
inline std::int64_t pairs_per_snapshot(const PartialSpec& spec, const Tiling& tiling) {
  return spec.pairs == PairsMode::one ? 1 : tiling.patches();
}

// Evolves the snapshot's patch(es) and fills `out` (resized as needed). The patch is
// System::choose_patch with patch_choice_rng(seed, snapshot_id); patch I is evolved with
// WorkItem{seed, partial_evolution, 0, snapshot_id, I}.
void partial_evolution(const systems::System& system, systems::Evolver& evolver, const std::int8_t* x, int L,
                       const PartialSpec& spec, std::uint64_t seed, std::int64_t snapshot_id,
                       bool keep_states, std::vector<PairRecord>& out);

}  // namespace macrodyn::sampling
