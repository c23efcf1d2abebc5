#pragma once
// Distributed partial evolution (docs/design.md §1.5, §6.3), record for record equal to the
// serial partial_evolution: every patch is evolved against the frozen snapshot by the
// rank that owns it, with WorkItem{seed, partial_evolution, 0, snapshot, patch}.
// z* = phi(x_t) needs the whole team: the per-patch g are gathered to team rank 0 in
// patch-index order, summed there in double exactly as macro_observables does, and
// broadcast, so z* is bitwise the serial value. With pairs = one the patch is the
// system's choice (System::choose_patch on this rank's block, summed over the team), so
// a choice that reads the snapshot (the alloy's vacancies) is the serial one too. The gather goes in chunks of patch
// indices, so no rank holds the g of all K patches (16 bytes each: 16 MB for K = 2^20).
//
// Memory is O(block + chunk): a rank's patches are enumerated from its block geometry
// (not listed), and the chunked run() hands records over in reused chunks, so a
// 2^20-patch lattice does not cost 2^19 PairRecords (about 240 bytes each, with their
// heap vectors) per rank.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "mpi/team_grid.hpp"
#include "mpi/team_halo.hpp"
#include "mpi/team_sums.hpp"
#include "sampling/partial_evolution.hpp"
#include "systems/system.hpp"

namespace macrodyn::mpi {

// Receives records[0..n) of one chunk; the records are overwritten by the next chunk.
using RecordSink = std::function<void(const sampling::PairRecord* records, std::size_t n)>;

class TeamPartial {
 public:
  // grid: the large lattice (grid.dec.p is the patch side and must equal spec.patch).
  TeamPartial(const TeamGrid& grid, const systems::System& system, const sampling::PartialSpec& spec);

  // phi(x) of the team's lattice on every rank. Collective.
  void macro_observables(const std::int8_t* block, double* phi);

  // Records of the patches this rank evolves, in increasing patch index: every patch it
  // owns (pairs = all) or the chosen patch if it owns it (pairs = one; the other ranks
  // get none). Collective (phi).
  void run(systems::Evolver& evolver, const std::int8_t* block, std::uint64_t seed, std::int64_t snapshot_id,
           bool keep_states, std::vector<sampling::PairRecord>& out);

  // The same records, handed to `each` in chunks of at most `chunk` records, in
  // increasing patch index (not called when this rank evolves none). Collective (phi).
  void run(systems::Evolver& evolver, const std::int8_t* block, std::uint64_t seed, std::int64_t snapshot_id,
           bool keep_states, std::size_t chunk, const RecordSink& each);

  // Patches this rank owns, and the global index / block-coordinate origin of its k-th
  // (increasing index: row-major over the block's patches).
  std::int64_t patch_count() const { return count_; }
  std::int64_t patch_index(std::int64_t k) const;
  Coord patch_origin(std::int64_t k) const;

 private:
  // Range [first, last) of this rank's patches that this snapshot evolves, and the
  // weight of their records (weight_). Collective for a choice that reads the snapshot.
  void chosen(const std::int8_t* block, std::uint64_t seed, std::int64_t snapshot_id, std::int64_t& first,
              std::int64_t& last);
  // Evolves this rank's k-th patch into rec (phi_ must be current).
  void evolve(systems::Evolver& evolver, const std::int8_t* block, std::int64_t k, std::uint64_t seed,
              std::int64_t snapshot_id, bool keep_states, sampling::PairRecord& rec);
  // Copies patch k of this rank (with its ring for `frozen`) into tile_ and returns the
  // tile side; the patch origin in the tile is `origin_in_tile_`.
  int load_tile(const std::int8_t* block, std::int64_t k);

  TeamGrid grid_;
  const systems::System* system_;
  sampling::PartialSpec spec_;
  int d_ = 0;
  int per_axis_ = 0;            // patches per axis of the lattice
  Coord n_{1, 1, 1};            // patches per axis of the block
  Coord q0_{0, 0, 0};           // lattice patch coordinates of the block's first patch
  std::int64_t count_ = 0;      // patches this rank owns
  Coord origin_in_tile_{0, 0, 0};
  int ring_ = 0;  // `frozen`: the ring read around a patch, the system's interaction range
  CommSums sums_;
  double weight_ = 1.0;  // of the records of the current snapshot
  Halo<std::int8_t> halo_;
  std::vector<std::int8_t> tile_;
  std::vector<double> g_mine_, g_chunk_, phi_;
  std::vector<int> counts_, displs_, cursor_;  // team rank 0: per rank, for one chunk
  std::vector<sampling::PairRecord> chunk_;              // reused by the chunked run
};

}  // namespace macrodyn::mpi
