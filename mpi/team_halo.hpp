#pragma once
// Halo of a rank's block (docs/design.md §6.2): copies of the neighbours' sites in a ring of
// width `lo` below and `hi` above the block on every axis, corners included, wrapped
// periodically over the whole lattice. The ring is kept apart from the block (3^D - 1
// slabs, faces, edges and corners), so a rank never holds a second copy of its block:
// a box that reaches past the block (a relax window, a frozen patch and its ring) is
// read row by row from the block and the slabs.
//
// Block coordinates: 0 <= b[d] < extent[d] is the block; -lo <= b[d] < 0 and
// extent[d] <= b[d] < extent[d] + hi are the ring. Both widths must not exceed the
// block extent, so every slab comes from one neighbour's block.
#include <mpi.h>

#include <array>
#include <cstdint>
#include <vector>

#include "mpi/team_grid.hpp"

namespace macrodyn::mpi {

template <class T>
class Halo {
 public:
  // Sizes the slabs (allocates only when they grow).
  void configure(const TeamGrid& grid, int lo, int hi);

  // Fills the slabs from the neighbours' current blocks. Collective over the team
  // (nonblocking point-to-point on tags 0..26 of grid.comm).
  void exchange(const T* block);

  // Copies the box [o, o + n) (block coordinates, may reach into the ring) into `box`
  // (row-major), or `box` back into it. Writing into the ring changes only this rank's
  // copy: sending those sites to their owner is the caller's business.
  void read_box(const T* block, const Coord& o, const Coord& n, T* box) const;
  void write_box(T* block, const Coord& o, const Coord& n, const T* box);

  int lo() const { return lo_; }
  int hi() const { return hi_; }

 private:
  using C3 = std::array<int, 3>;  // internal axes: 2D is padded with a leading axis of extent 1
  static constexpr int kRegions = 27;
  C3 internal(const Coord& c, int pad) const;
  int region_extent(int axis, int type) const;
  // Calls f(site pointer, offset in box, run length) for each contiguous run of the box.
  template <class F>
  void for_each_run(T* block, const C3& o, const C3& n, F&& f) const;

  TeamGrid grid_;
  int lo_ = 0, hi_ = 0;
  C3 E_{1, 1, 1}, lo3_{0, 0, 0}, hi3_{0, 0, 0};
  std::array<std::int64_t, kRegions> offset_{}, size_{};
  std::array<int, kRegions> from_{}, to_{};  // neighbour that fills a slab / that this rank fills
  mutable std::vector<T> slabs_;
  std::vector<T> send_;
  std::vector<MPI_Request> requests_;
};

extern template class Halo<std::int8_t>;
extern template class Halo<std::int32_t>;

}  // namespace macrodyn::mpi
