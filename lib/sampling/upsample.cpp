#include "sampling/upsample.hpp"

#include <cstring>

using namespace macrodyn::systems;

namespace macrodyn::sampling {

void upsample_blocks(const std::int8_t* src, int dim, int Ls, int m, std::int8_t* dst) {
  const std::int64_t L = static_cast<std::int64_t>(Ls) * m;
  if (dim == 2) {
    for (int x = 0; x < Ls; ++x) {
      std::int8_t* row = dst + static_cast<std::int64_t>(x) * m * L;
      for (int y = 0; y < Ls; ++y)
        for (int b = 0; b < m; ++b) row[y * m + b] = src[static_cast<std::int64_t>(x) * Ls + y];
      for (int a = 1; a < m; ++a) std::memcpy(row + a * L, row, static_cast<std::size_t>(L));
    }
    return;
  }
  for (int x = 0; x < Ls; ++x) {
    std::int8_t* plane = dst + static_cast<std::int64_t>(x) * m * L * L;
    for (int y = 0; y < Ls; ++y) {
      std::int8_t* row = plane + static_cast<std::int64_t>(y) * m * L;
      for (int z = 0; z < Ls; ++z)
        for (int b = 0; b < m; ++b)
          row[z * m + b] = src[(static_cast<std::int64_t>(x) * Ls + y) * Ls + z];
      for (int a = 1; a < m; ++a) std::memcpy(row + a * L, row, static_cast<std::size_t>(L));
    }
    for (int a = 1; a < m; ++a)
      std::memcpy(plane + a * L * L, plane, static_cast<std::size_t>(L * L));
  }
}

void upsample_tiles(const std::int8_t* src, int dim, int Ls, int m, std::int8_t* dst) {
  // Rows of the small state repeated m times along the last axis, then whole rows and
  // planes copied: dst(x) = src(x mod Ls).
  const std::int64_t L = static_cast<std::int64_t>(Ls) * m;
  const std::int64_t rows = dim == 2 ? Ls : static_cast<std::int64_t>(Ls) * Ls;
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int64_t x = dim == 2 ? 0 : r / Ls, y = dim == 2 ? r : r % Ls;
    std::int8_t* row = dst + (x * L + y) * L;
    for (int a = 0; a < m; ++a) std::memcpy(row + a * Ls, src + r * Ls, static_cast<std::size_t>(Ls));
  }
  // Copies along the second-to-last axis (rows Ls .. L - 1 of each plane), then planes.
  const std::int64_t planes = dim == 2 ? 1 : Ls;
  for (std::int64_t x = 0; x < planes; ++x) {
    std::int8_t* plane = dst + x * L * L;
    for (int a = 1; a < m; ++a) std::memcpy(plane + a * Ls * L, plane, static_cast<std::size_t>(Ls * L));
  }
  if (dim == 3)
    for (int a = 1; a < m; ++a) std::memcpy(dst + a * Ls * L * L, dst, static_cast<std::size_t>(Ls * L * L));
}

void upsample(System::UpsamplingRule rule, const std::int8_t* src, int dim, int Ls, int m, std::int8_t* dst) {
  if (rule == System::UpsamplingRule::tiling)
    upsample_tiles(src, dim, Ls, m, dst);
  else
    upsample_blocks(src, dim, Ls, m, dst);
}

void upsample_blocks_in_place(std::int8_t* buf, int dim, const std::array<int, 3>& extents_before, int m) {
  // Pad 2D to 3D with a leading axis of extent 1 (factor 1), so rows stay along the
  // last real axis. Destination site (m x, m y, m z) has an index >= source (x, y, z),
  // so walking the source backwards never overwrites a source site not yet read.
  const std::int64_t n0 = dim == 3 ? extents_before[0] : 1;
  const std::int64_t n1 = extents_before[dim == 3 ? 1 : 0];
  const std::int64_t n2 = extents_before[dim == 3 ? 2 : 1];
  const std::int64_t m0 = dim == 3 ? m : 1;
  const std::int64_t N1 = n1 * m, N2 = n2 * m;  // destination extents of the last two axes
  const std::int64_t plane = N1 * N2;
  for (std::int64_t x = n0 - 1; x >= 0; --x) {
    std::int8_t* dplane = buf + x * m0 * plane;
    for (std::int64_t y = n1 - 1; y >= 0; --y) {
      const std::int8_t* srow = buf + (x * n1 + y) * n2;
      std::int8_t* drow = dplane + y * m * N2;
      // drow may start at srow (x = y = 0): expand from the row's end backwards.
      for (std::int64_t z = n2 - 1; z >= 0; --z) {
        const std::int8_t v = srow[z];
        for (int b = m - 1; b >= 0; --b) drow[z * m + b] = v;
      }
      for (int a = 1; a < m; ++a) std::memcpy(drow + a * N2, drow, static_cast<std::size_t>(N2));
    }
    for (std::int64_t a = 1; a < m0; ++a)
      std::memcpy(dplane + a * plane, dplane, static_cast<std::size_t>(plane));
  }
}

}  // namespace macrodyn::sampling
