#include "mpi/team_grid.hpp"

#include <cstring>
#include <stdexcept>
#include <string>

#include "mpi/check.hpp"

namespace macrodyn::mpi {

TeamGrid make_team_grid(MPI_Comm comm, const Decomposition& dec) {
  TeamGrid g;
  g.comm = comm;
  int size = 0;
  check_mpi(MPI_Comm_rank(comm, &g.rank), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(comm, &size), "MPI_Comm_size");
  if (size != dec.team_size())
    throw std::invalid_argument("team grid: the communicator has " + std::to_string(size) +
                                " ranks but the decomposition needs " + std::to_string(dec.team_size()));
  g.dec = dec;
  g.coords = dec.rank_coords(g.rank);
  g.block = dec.block(g.rank);
  return g;
}

namespace {

// Calls f(lattice_offset, block_offset, run_length) for every row (last axis) of the
// block: rows of the block are contiguous runs of the lattice.
template <class F>
void for_each_block_row(const TeamGrid& grid, F&& f) {
  const int dim = grid.dim();
  const std::int64_t L = grid.dec.L;
  const Block& b = grid.block;
  if (dim == 1) {
    f(b.origin[0], 0, b.extent[0]);
    return;
  }
  if (dim == 2) {
    for (int x = 0; x < b.extent[0]; ++x)
      f((b.origin[0] + x) * L + b.origin[1], static_cast<std::int64_t>(x) * b.extent[1], b.extent[1]);
    return;
  }
  for (int x = 0; x < b.extent[0]; ++x)
    for (int y = 0; y < b.extent[1]; ++y)
      f(((b.origin[0] + x) * L + b.origin[1] + y) * L + b.origin[2],
        (static_cast<std::int64_t>(x) * b.extent[1] + y) * b.extent[2], b.extent[2]);
}

}  // namespace

void copy_block_out(const std::int8_t* lattice, const TeamGrid& grid, std::int8_t* block) {
  for_each_block_row(grid, [&](std::int64_t i, std::int64_t k, std::int64_t n) {
    std::memcpy(block + k, lattice + i, static_cast<std::size_t>(n));
  });
}

void copy_block_in(std::int8_t* lattice, const TeamGrid& grid, const std::int8_t* block) {
  for_each_block_row(grid, [&](std::int64_t i, std::int64_t k, std::int64_t n) {
    std::memcpy(lattice + i, block + k, static_cast<std::size_t>(n));
  });
}

std::vector<std::int8_t> gather_lattice(const TeamGrid& grid, const std::int8_t* block) {
  const std::int64_t nb = grid.block.sites();
  const int count = mpi_count(nb, "gather_lattice");
  std::vector<std::int8_t> all;
  if (grid.rank == 0) all.resize(static_cast<std::size_t>(nb * grid.size()));
  check_mpi(MPI_Gather(block, count, MPI_INT8_T, all.data(), count, MPI_INT8_T, 0, grid.comm), "MPI_Gather");
  if (grid.rank != 0) return {};
  std::vector<std::int8_t> lattice(static_cast<std::size_t>(ipow(grid.dec.L, grid.dim())));
  for (int r = 0; r < grid.size(); ++r) {
    TeamGrid other = grid;
    other.rank = r;
    other.coords = grid.dec.rank_coords(r);
    other.block = grid.dec.block(r);
    copy_block_in(lattice.data(), other, all.data() + r * nb);
  }
  return lattice;
}

}  // namespace macrodyn::mpi
