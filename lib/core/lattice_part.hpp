#pragma once
// The part of a lattice one rank holds, and the sums a team makes over its parts
// (docs/design.md §6.3). The few steps of a system that read the whole lattice (the alloy's
// equimolar relabelling, the placing of its vacancies, its patch choice) are written once
// against these: on one rank the part is the whole lattice and the sums are the rank's own
// values (SoloSums); a team's ranks sum over the team (mpi/team_sums.hpp). lib/ makes no
// MPI call.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/decomposition.hpp"

namespace macrodyn {

// A block of a side-L lattice in `dim` dimensions: block.extent voxels of one byte,
// row-major (first axis slowest), as a team's blocks are (core/decomposition.hpp).
template <class T>
struct LatticePartOf {
  T* data = nullptr;
  int dim = 3;
  int L = 0;
  Block block;

  static LatticePartOf whole(T* data, int dim, int L) {
    LatticePartOf part{data, dim, L, Block{}};
    for (int d = 0; d < dim; ++d) part.block.extent[d] = L;
    return part;
  }
  // A read-only view of a writable part.
  template <class U>
  LatticePartOf(const LatticePartOf<U>& other) : data(other.data), dim(other.dim), L(other.L), block(other.block) {}
  LatticePartOf() = default;
  LatticePartOf(T* d, int dim_, int L_, const Block& b) : data(d), dim(dim_), L(L_), block(b) {}

  bool is_whole() const { return block.sites() == ipow(L, dim); }
  // Whether the part holds the voxel at global coordinates c (each in [0, L)).
  bool holds(const Coord& c) const {
    for (int d = 0; d < dim; ++d)
      if (c[d] < block.origin[d] || c[d] >= block.origin[d] + block.extent[d]) return false;
    return true;
  }
  // Index into data of the voxel at global coordinates c (which the part holds).
  std::int64_t local(const Coord& c) const {
    std::int64_t i = 0;
    for (int d = 0; d < dim; ++d) i = i * block.extent[d] + (c[d] - block.origin[d]);
    return i;
  }
  // Global coordinates of a global voxel index (row-major over the side-L lattice).
  Coord coords_of(std::int64_t v) const {
    Coord c{0, 0, 0};
    for (int d = dim - 1; d >= 0; --d, v /= L) c[d] = static_cast<int>(v % L);
    return c;
  }
  std::int64_t index_of(const Coord& c) const {
    std::int64_t v = 0;
    for (int d = 0; d < dim; ++d) v = v * L + c[d];
    return v;
  }
};
using LatticePart = LatticePartOf<std::int8_t>;
using ConstLatticePart = LatticePartOf<const std::int8_t>;

class TeamSums {
 public:
  virtual ~TeamSums() = default;
  // values[0..n) replaced by their sum over the team's ranks, on every rank.
  virtual void sum(std::int64_t* values, std::size_t n) const = 0;
  // Every rank's values, concatenated in rank order, on every rank.
  virtual std::vector<std::int64_t> gather(const std::vector<std::int64_t>& mine) const = 0;
};

// One rank: the part is the whole lattice.
class SoloSums final : public TeamSums {
 public:
  void sum(std::int64_t*, std::size_t) const override {}
  std::vector<std::int64_t> gather(const std::vector<std::int64_t>& mine) const override { return mine; }
};

// How many voxels of the lattice hold each of `values` (counts[i] for values[i]), on every rank.
std::vector<std::int64_t> count_holding(const ConstLatticePart& x, const std::vector<std::int8_t>& values,
                                        const TeamSums& team);

// The global indices of the voxels that hold `value`, increasing, on every rank. For
// sparse values (the alloy's vacancies: one voxel in 2048).
std::vector<std::int64_t> voxels_holding(const ConstLatticePart& x, std::int8_t value, const TeamSums& team);

// The global index of the n-th voxel holding `value` in voxel order (n from 0, below the
// lattice's count), for each n of `nths`, on every rank. Three sums: per row of the
// lattice (L^(dim-1) counts), per part of the rows asked for, and the answers; the lattice
// is never gathered.
std::vector<std::int64_t> nth_voxels_holding(const ConstLatticePart& x, std::int8_t value,
                                             const std::vector<std::int64_t>& nths, const TeamSums& team);

}  // namespace macrodyn
