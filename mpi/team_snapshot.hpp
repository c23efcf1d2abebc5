#pragma once
// A team's large snapshot (docs/design.md §6.3): built by hierarchical upsampling and partially
// evolved by a team of ranks, each holding only its block, bit-identical to what the
// serial `macrodyn generate` produces for the same snapshot.
//
// Serial generate keeps `snapshots` snapshots per intermediate level; snapshot j of
// level l is drawn from level l - 1 by WorkItem{seed, draw, l, j}. A team instead
// follows snapshot j's chain of ancestors (RNG only, top down) and builds it bottom up:
// small frame -> level 1 -> ... -> level n, relaxing level l with the ancestor's index
// as work item, exactly like serial. Small levels (a block narrower than the relax
// window, or a side the rank grid does not divide) are built replicated with the
// serial functions, every rank keeping its block; from the first distributed level on,
// UPSAMPLE is rank-local and in place in the block buffer and LOCALRELAX runs
// distributed (TeamRelax), so no rank ever holds the whole large lattice. A system that
// upsamples by tiling (the alloy) fills a level from the whole level below: its levels
// are replicated up to the last, which every rank fills block by block from the one below
// (1/f^D of it). The system's completions of a level (after_upsampling, after_relax) and its
// patch choice run on the block with sums over the team (core/lattice_part.hpp).
//
// Supports the systems that say team_splittable (the Ising models, the alloy) on teams
// of any size, one rank included (then the "team" path holds one lattice where the
// serial functions hold two levels); with one rank, other systems (Curie-Weiss) run the
// serial code.
#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/decomposition.hpp"
#include "mpi/team_grid.hpp"
#include "sampling/hierarchy.hpp"
#include "sampling/partial_evolution.hpp"
#include "systems/system.hpp"

namespace macrodyn::mpi {

class CommSums;
class TeamPartial;
class TeamRelax;

class TeamSnapshot {
 public:
  // team: the team's ranks (duplicated; the caller keeps its own). hierarchy.seed must
  // equal seed; snapshots = snapshots per intermediate level (large.snapshots);
  // decomposition: the large lattice (L = hierarchy.sides.back(), p = partial.patch).
  // Throws InputError naming team.size when the system or a boundary cannot be split.
  TeamSnapshot(MPI_Comm team, const systems::System& system, const sampling::HierarchySpec& hierarchy,
               const sampling::PartialSpec& partial, std::uint64_t seed, std::int64_t snapshots,
               const Decomposition& decomposition);
  ~TeamSnapshot();
  TeamSnapshot(const TeamSnapshot&) = delete;
  TeamSnapshot& operator=(const TeamSnapshot&) = delete;

  // Builds upsampled snapshot j (0 <= j < snapshots) into this rank's block. Every rank
  // passes the whole small pool (pool_count frames of side hierarchy.sides[0]).
  // Collective.
  void build(std::int64_t j, const std::int8_t* pool, std::int64_t pool_count);

  // Random-magnetisation snapshot j (j >= snapshots), as generate draws it. Teams of one
  // rank only: its Fisher-Yates shuffle runs over the whole lattice.
  void build_random(std::int64_t j);

  // Partial evolution of the current snapshot (id j): the records of the patches this
  // rank evolves (see TeamPartial::run). Collective.
  void partial_evolution(std::uint64_t seed, std::int64_t j, bool keep_states, std::vector<sampling::PairRecord>& out);

  // The same records, handed to `each` in reused chunks of at most `chunk` records
  // (see TeamPartial::run): memory O(chunk) instead of O(patches per rank), which for
  // pairs = all on a large lattice is about half the block's bytes again. Collective.
  void partial_evolution(std::uint64_t seed, std::int64_t j, bool keep_states, std::size_t chunk,
                         const std::function<void(const sampling::PairRecord*, std::size_t)>& each);

  const std::int8_t* block() const { return block_.data(); }
  std::int8_t* block() { return block_.data(); }
  const Block& block_geometry() const { return grid_.block; }
  const Decomposition& decomposition() const { return grid_.dec; }
  const TeamGrid& grid() const { return grid_; }
  // First level built distributed (levels + 1 when every level is replicated).
  int first_distributed_level() const { return first_distributed_; }

  // The whole lattice on team rank 0 (empty elsewhere), for small lattices only (see
  // gather_lattice in team_grid.hpp). Collective.
  std::vector<std::int8_t> gather_lattice() const;

 private:
  // Level l's block from the whole side-Ls state below it by periodic tiling.
  void tile_block(const std::int8_t* small, int Ls, const TeamGrid& grid);
  // Level l's block just upsampled: the system's completion, the relax, the completion
  // after it (small: the state below when whole on every rank, else null).
  void complete_level(int l, const std::int8_t* small, const systems::System::FramePool* pool);
  void relax_level(int l);
  LatticePart part_at(int l);  // this rank's block at level l

  MPI_Comm comm_ = MPI_COMM_NULL;
  const systems::System* system_;
  sampling::HierarchySpec hierarchy_;
  sampling::PartialSpec partial_;
  std::uint64_t seed_;
  std::int64_t snapshots_;
  bool tiling_;  // the system upsamples by tiling: only the last level is distributed
  std::unique_ptr<CommSums> sums_;
  int levels_ = 0;
  int first_distributed_ = 0;
  int vb_ = 1;  // bytes per voxel (systems/state_layout.hpp): a team of one moves any width
  TeamGrid grid_;  // the large lattice
  std::vector<TeamGrid> grids_;  // per level, where the rank grid divides its side
  std::vector<bool> has_grid_;
  std::unique_ptr<systems::Evolver> evolver_;
  std::vector<std::unique_ptr<TeamRelax>> relax_;  // per level; null where replicated
  std::unique_ptr<TeamPartial> partial_team_;  // null for one rank with a `global` boundary
  std::vector<sampling::PairRecord> records_;             // that case of the chunked partial_evolution
  std::vector<std::int8_t> block_;
  std::vector<std::int8_t> scratch_[2], stage_copy_;  // replicated levels
  std::vector<std::int64_t> chosen_;                  // levels = 0: frames drawn without replacement
  std::int64_t chosen_pool_count_ = -1;
  std::vector<std::int64_t> ancestors_;
};

}  // namespace macrodyn::mpi
