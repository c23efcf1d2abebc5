#pragma once
// Team decomposition (docs/design.md §6.2), pure geometry: a team of ranks holds one side-L
// lattice split on a Cartesian grid of ranks, every rank a block of whole patches.
// Ranks are numbered row-major over the rank grid (first axis slowest), the order
// MPI_Cart_create gives with reorder = 0, so a team communicator needs no Cartesian
// topology to agree with it. Patch indices are those of Tiling (row-major).
#include <array>
#include <cstdint>
#include <vector>

#include "core/geometry.hpp"

namespace macrodyn {

// A rank's part of the lattice: sites origin[d] <= x[d] < origin[d] + extent[d].
// Unused trailing axes have origin 0 and extent 1.
struct Block {
  Coord origin{0, 0, 0};
  Coord extent{1, 1, 1};
  std::int64_t sites() const {
    return static_cast<std::int64_t>(extent[0]) * extent[1] * extent[2];
  }
};

struct Decomposition {
  int dim = 2;
  int L = 0;  // lattice side
  int p = 0;  // patch side (p divides L); 1 makes every rank grid that divides L valid
  std::array<int, 3> ranks_per_axis{1, 1, 1};  // unused trailing axes are 1

  // The most cubic rank grid (least block surface, ties broken toward more ranks on the
  // first axes, as MPI_Dims_create does) of `team_size` ranks whose counts per axis
  // divide L / p. Throws InputError naming team.size when there is none.
  static Decomposition choose(int dim, int L, int p, int team_size);
  // A given rank grid; throws InputError naming team.size unless every count divides
  // L / p.
  static Decomposition with_grid(int dim, int L, int p, const std::array<int, 3>& ranks_per_axis);

  int team_size() const { return ranks_per_axis[0] * ranks_per_axis[1] * ranks_per_axis[2]; }
  // Block side along axis d (the same for every rank).
  int extent(int d) const { return L / ranks_per_axis[d]; }
  std::int64_t block_sites() const;

  // Grid coordinates of a rank, and the rank at grid coordinates (wrapped periodically,
  // so c may be off the grid by any amount).
  Coord rank_coords(int rank) const;
  int rank_at(const Coord& c) const;

  Block block(int rank) const;
  // Rank that owns a global site (coordinates in [0, L)).
  int owner(const Coord& site) const;

  Tiling tiling() const { return Tiling{dim, L, p}; }
  // Global indices of the patches a rank owns, increasing.
  std::vector<std::int64_t> patches(int rank) const;
  std::int64_t patches_per_rank() const;
  int patch_owner(std::int64_t patch_index) const;
};

// The smallest team (at most max_ranks) with a valid rank grid whose ranks each hold
// at most max_sites_per_rank sites. Throws InputError naming team.size when none does.
int smallest_team_size(int dim, int L, int p, std::int64_t max_sites_per_rank, int max_ranks);

}  // namespace macrodyn
