#pragma once
// Distributed partial evolution (DESIGN §1.3, §3), record for record equal to the
// serial partial_evolution: every patch is evolved against the frozen snapshot by the
// rank that owns it, with WorkItem{seed, partial_evolution, 0, snapshot, patch}.
// z* = phi(x_t) needs the whole team: the per-patch g are gathered to team rank 0 in
// patch-index order, summed there in double exactly as macro_observables does, and
// broadcast, so z* is bitwise the serial value.
#include <cstdint>
#include <vector>

#include "mpi/team_grid.hpp"
#include "mpi/team_halo.hpp"
#include "sampling/partial_evolution.hpp"
#include "systems/system.hpp"

namespace macrodyn::mpi {

class TeamPartial {
 public:
  // grid: the large lattice (grid.dec.p is the patch side and must equal spec.patch).
  TeamPartial(const TeamGrid& grid, const System& system, const PartialSpec& spec);

  // phi(x) of the team's lattice on every rank. Collective.
  void macro_observables(const std::int8_t* block, double* phi);

  // Records of the patches this rank evolves, in increasing patch index: every patch it
  // owns (pairs = all) or the chosen patch if it owns it (pairs = one; the other ranks
  // get none). Collective (phi).
  void run(Evolver& evolver, const std::int8_t* block, std::uint64_t seed, std::int64_t snapshot_id,
           bool keep_states, std::vector<PairRecord>& out);

 private:
  // Copies patch k of this rank (with its ring for `frozen`) into tile_ and returns the
  // tile side; the patch origin in the tile is `origin_in_tile_`.
  int load_tile(const std::int8_t* block, std::size_t k);

  TeamGrid grid_;
  const System* system_;
  PartialSpec spec_;
  int d_ = 0;
  std::vector<std::int64_t> patches_;  // global indices, increasing
  std::vector<Coord> origins_;         // block coordinates of their origins
  Coord origin_in_tile_{0, 0, 0};
  Halo<std::int8_t> halo_;
  std::vector<std::int8_t> tile_;
  std::vector<double> g_mine_, g_all_, phi_;
  std::vector<std::int64_t> gathered_at_;  // team rank 0: position of patch I in g_all_
};

}  // namespace macrodyn::mpi
