#pragma once
// One level's view of a team (docs/design.md §6.2): the team communicator, this rank's place on
// the rank grid and its block of a side-L lattice. Every upsampling level uses the same
// rank grid, so a rank's block at level l + 1 is its block at level l magnified.
#include <mpi.h>

#include <cstdint>
#include <vector>

#include "core/decomposition.hpp"

namespace macrodyn::mpi {

struct TeamGrid {
  MPI_Comm comm = MPI_COMM_NULL;
  int rank = 0;        // rank in comm = rank on the grid (row-major, docs/design.md §6.2)
  Decomposition dec;   // this level's side; p = 1 below the last level
  Coord coords{0, 0, 0};
  Block block;

  int dim() const { return dec.dim; }
  int size() const { return dec.team_size(); }
  // Rank at grid offset `offset` from this one (periodic).
  int neighbour(const Coord& offset) const {
    return dec.rank_at(Coord{coords[0] + offset[0], coords[1] + offset[1], coords[2] + offset[2]});
  }
};

// Checks that comm has dec.team_size() ranks. Does not take ownership of comm.
TeamGrid make_team_grid(MPI_Comm comm, const Decomposition& dec);

// Copies this rank's block out of (or into) a whole side-dec.L lattice; no MPI.
void copy_block_out(const std::int8_t* lattice, const TeamGrid& grid, std::int8_t* block);
void copy_block_in(std::int8_t* lattice, const TeamGrid& grid, const std::int8_t* block);

// The whole lattice assembled on team rank 0 (empty elsewhere): for small lattices only
// (phase A of macrodyn run streams whole snapshots of side <= 128) and tests; a team must
// never do this with a large lattice.
std::vector<std::int8_t> gather_lattice(const TeamGrid& grid, const std::int8_t* block);

}  // namespace macrodyn::mpi
