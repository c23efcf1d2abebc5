#pragma once
// Hypercubic lattice geometry: side L in D = 2 or 3 dimensions, row-major sites
// (first coordinate slowest), and the aligned tiling by patches of side p.
#include <array>
#include <cstdint>
#include <vector>

namespace macrodyn {

using Coord = std::array<int, 3>;  // unused trailing entries are 0

inline std::int64_t ipow(std::int64_t b, int e) {
  std::int64_t r = 1;
  while (e-- > 0) r *= b;
  return r;
}

struct Geometry {
  int dim = 2;
  int side = 0;
  std::int64_t sites() const { return ipow(side, dim); }
};

// Aligned tiling of a side-L lattice by patches of side p (p divides L).
// Patch index is row-major over patch coordinates: I = a*d + b in 2D, d = L/p.
struct Tiling {
  int dim = 2;
  int L = 0;
  int p = 0;
  int per_axis() const { return L / p; }
  std::int64_t patches() const { return ipow(per_axis(), dim); }
  Coord origin(std::int64_t index) const {
    Coord o{0, 0, 0};
    const int d = per_axis();
    for (int k = dim - 1; k >= 0; --k) {
      o[k] = static_cast<int>(index % d) * p;
      index /= d;
    }
    return o;
  }
};

// Calls f(lattice_index, box_index) for every site of the side-w box with origin o
// (wrapping mod L) of a side-L lattice, box sites in row-major order.
template <class F>
void for_each_box_site(int dim, int L, const Coord& o, int w, F&& f) {
  std::int64_t k = 0;
  if (dim == 1) {
    for (int x = 0; x < w; ++x, ++k) f((o[0] + x) % L, k);
    return;
  }
  if (dim == 2) {
    for (int x = 0; x < w; ++x) {
      const std::int64_t row = static_cast<std::int64_t>((o[0] + x) % L) * L;
      for (int y = 0; y < w; ++y, ++k) f(row + (o[1] + y) % L, k);
    }
    return;
  }
  for (int x = 0; x < w; ++x)
    for (int y = 0; y < w; ++y) {
      const std::int64_t row = (static_cast<std::int64_t>((o[0] + x) % L) * L + (o[1] + y) % L) * L;
      for (int z = 0; z < w; ++z, ++k) f(row + (o[2] + z) % L, k);
    }
}

// Copy a side-w box with origin o (wrapping mod L) out of / into a side-L lattice
// (extract_box: of voxel_bytes bytes per voxel).
void extract_box(const std::int8_t* lattice, int dim, int L, const Coord& o, int w, std::int8_t* box,
                 int voxel_bytes = 1);
void insert_box(std::int8_t* lattice, int dim, int L, const Coord& o, int w, const std::int8_t* box);
// Sum of the box's sites (e.g. its magnetisation sum).
std::int64_t sum_box(const std::int8_t* lattice, int dim, int L, const Coord& o, int w);

}  // namespace macrodyn
