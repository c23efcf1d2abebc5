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

// Copy a side-w box with origin o (wrapping mod L) out of / into a side-L lattice.
void extract_box(const std::int8_t* lattice, int dim, int L, const Coord& o, int w, std::int8_t* box);
void insert_box(std::int8_t* lattice, int dim, int L, const Coord& o, int w, const std::int8_t* box);

}  // namespace macrodyn
