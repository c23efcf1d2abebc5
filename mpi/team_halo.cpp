#include "mpi/team_halo.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <stdexcept>
#include <string>

#include "mpi/check.hpp"

namespace macrodyn::mpi {

namespace {
constexpr int kBlockRegion = 13;  // types (1, 1, 1): the block itself
int region_of(int t0, int t1, int t2) { return (t0 * 3 + t1) * 3 + t2; }
}  // namespace

template <class T>
typename Halo<T>::C3 Halo<T>::internal(const Coord& c, int pad) const {
  if (grid_.dim() == 3) return C3{c[0], c[1], c[2]};
  return C3{pad, c[0], c[1]};
}

template <class T>
int Halo<T>::region_extent(int axis, int type) const {
  return type == 0 ? lo3_[axis] : type == 1 ? E_[axis] : hi3_[axis];
}

template <class T>
void Halo<T>::configure(const TeamGrid& grid, int lo, int hi) {
  grid_ = grid;
  lo_ = lo;
  hi_ = hi;
  for (int d = 0; d < grid.dim(); ++d)
    if (lo < 0 || hi < 0 || lo > grid.block.extent[d] || hi > grid.block.extent[d])
      throw std::invalid_argument("halo: ring widths " + std::to_string(lo) + " / " + std::to_string(hi) +
                                  " exceed the block extent " + std::to_string(grid.block.extent[d]));
  E_ = internal(grid.block.extent, 1);
  const bool d3 = grid.dim() == 3;
  lo3_ = {d3 ? lo : 0, lo, lo};
  hi3_ = {d3 ? hi : 0, hi, hi};
  std::int64_t total = 0;
  for (int t0 = 0; t0 < 3; ++t0)
    for (int t1 = 0; t1 < 3; ++t1)
      for (int t2 = 0; t2 < 3; ++t2) {
        const int t = region_of(t0, t1, t2);
        const std::int64_t n = t == kBlockRegion ? 0
                                                 : static_cast<std::int64_t>(region_extent(0, t0)) *
                                                       region_extent(1, t1) * region_extent(2, t2);
        offset_[t] = total;
        size_[t] = n;
        total += n;
        // The slab of types t lies at grid offset (t - 1) from this rank.
        const C3 delta{t0 - 1, t1 - 1, t2 - 1};
        const Coord off = d3 ? Coord{delta[0], delta[1], delta[2]} : Coord{delta[1], delta[2], 0};
        from_[t] = grid.neighbour(off);
        to_[t] = grid.neighbour(Coord{-off[0], -off[1], -off[2]});
      }
  slabs_.resize(static_cast<std::size_t>(total));
  send_.resize(static_cast<std::size_t>(total));
  requests_.reserve(2 * kRegions);
}

template <class T>
template <class F>
void Halo<T>::for_each_run(T* block, const C3& o, const C3& n, F&& f) const {
  // Per axis a coordinate b falls in type 0 (below), 1 (block) or 2 (above); l is its
  // coordinate inside that region.
  auto split = [this](int axis, int b, int& type, int& l) {
    if (b < 0) {
      type = 0;
      l = b + lo3_[axis];
    } else if (b < E_[axis]) {
      type = 1;
      l = b;
    } else {
      type = 2;
      l = b - E_[axis];
    }
  };
  for (int i0 = 0; i0 < n[0]; ++i0) {
    int t0, l0;
    split(0, o[0] + i0, t0, l0);
    for (int i1 = 0; i1 < n[1]; ++i1) {
      int t1, l1;
      split(1, o[1] + i1, t1, l1);
      const std::int64_t row = (static_cast<std::int64_t>(i0) * n[1] + i1) * n[2];
      const int end = o[2] + n[2];
      for (int b2 = o[2]; b2 < end;) {
        int t2, l2;
        split(2, b2, t2, l2);
        const int stop = t2 == 0 ? std::min(end, 0) : t2 == 1 ? std::min(end, E_[2]) : end;
        const int t = region_of(t0, t1, t2);
        assert(l0 >= 0 && l0 < region_extent(0, t0) && l1 >= 0 && l1 < region_extent(1, t1));
        assert(l2 >= 0 && l2 + (stop - b2) <= region_extent(2, t2));
        T* base = t == kBlockRegion ? block : slabs_.data() + offset_[t];
        const std::int64_t s1 = region_extent(1, t1), s2 = region_extent(2, t2);
        f(base + (static_cast<std::int64_t>(l0) * s1 + l1) * s2 + l2, row + (b2 - o[2]), stop - b2);
        b2 = stop;
      }
    }
  }
}

template <class T>
void Halo<T>::read_box(const T* block, const Coord& o, const Coord& n, T* box) const {
  for_each_run(const_cast<T*>(block), internal(o, 0), internal(n, 1),
               [box](const T* site, std::int64_t k, int len) {
                 std::memcpy(box + k, site, static_cast<std::size_t>(len) * sizeof(T));
               });
}

template <class T>
void Halo<T>::write_box(T* block, const Coord& o, const Coord& n, const T* box) {
  for_each_run(block, internal(o, 0), internal(n, 1), [box](T* site, std::int64_t k, int len) {
    std::memcpy(site, box + k, static_cast<std::size_t>(len) * sizeof(T));
  });
}

template <class T>
void Halo<T>::exchange(const T* block) {
  requests_.clear();
  for (int t = 0; t < kRegions; ++t) {
    if (size_[t] == 0) continue;
    requests_.emplace_back();
    check_mpi(MPI_Irecv(slabs_.data() + offset_[t], mpi_count(size_[t] * sizeof(T), "halo exchange"), MPI_BYTE,
                        from_[t], t, grid_.comm, &requests_.back()),
              "MPI_Irecv");
  }
  for (int t0 = 0; t0 < 3; ++t0)
    for (int t1 = 0; t1 < 3; ++t1)
      for (int t2 = 0; t2 < 3; ++t2) {
        const int t = region_of(t0, t1, t2);
        if (size_[t] == 0) continue;
        // The neighbour to_[t] fills its slab t from this block: the last lo layers
        // (type 0), the whole extent (1) or the first hi layers (2) of each axis.
        const int types[3] = {t0, t1, t2};
        C3 o, n;
        for (int a = 0; a < 3; ++a) {
          o[a] = types[a] == 0 ? E_[a] - lo3_[a] : 0;
          n[a] = region_extent(a, types[a]);
        }
        T* out = send_.data() + offset_[t];
        for_each_run(const_cast<T*>(block), o, n, [out](const T* site, std::int64_t k, int len) {
          std::memcpy(out + k, site, static_cast<std::size_t>(len) * sizeof(T));
        });
        requests_.emplace_back();
        check_mpi(MPI_Isend(out, mpi_count(size_[t] * sizeof(T), "halo exchange"), MPI_BYTE, to_[t], t, grid_.comm,
                            &requests_.back()),
                  "MPI_Isend");
      }
  check_mpi(MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
}

template class Halo<std::int8_t>;
template class Halo<std::int32_t>;

}  // namespace macrodyn::mpi
