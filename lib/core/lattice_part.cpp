#include "core/lattice_part.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace macrodyn {

namespace {

// Calls f(global coordinates, local index) for every voxel of the part, in voxel order.
template <class T, class F>
void for_each_voxel(const LatticePartOf<T>& x, F&& f) {
  const Coord& o = x.block.origin;
  const Coord& n = x.block.extent;
  std::int64_t i = 0;
  for (int a = 0; a < n[0]; ++a)
    for (int b = 0; b < n[1]; ++b)
      for (int c = 0; c < n[2]; ++c, ++i) f(Coord{o[0] + a, o[1] + b, o[2] + c}, i);
}

}  // namespace

std::vector<std::int64_t> count_holding(const ConstLatticePart& x, const std::vector<std::int8_t>& values,
                                        const TeamSums& team) {
  std::vector<std::int64_t> counts(values.size(), 0);
  const std::int64_t n = x.block.sites();
  for (std::size_t k = 0; k < values.size(); ++k) counts[k] = std::count(x.data, x.data + n, values[k]);
  team.sum(counts.data(), counts.size());
  return counts;
}

std::vector<std::int64_t> voxels_holding(const ConstLatticePart& x, std::int8_t value, const TeamSums& team) {
  std::vector<std::int64_t> mine;
  for_each_voxel(x, [&](const Coord& c, std::int64_t i) {
    if (x.data[i] == value) mine.push_back(x.index_of(c));
  });
  std::vector<std::int64_t> all = team.gather(mine);
  std::sort(all.begin(), all.end());
  return all;
}

std::vector<std::int64_t> nth_voxels_holding(const ConstLatticePart& x, std::int8_t value,
                                             const std::vector<std::int64_t>& nths, const TeamSums& team) {
  const int dim = x.dim, last = dim - 1, L = x.L;
  if (nths.empty()) return {};
  // 1. Counts per row (all axes but the last fixed), summed over the ranks holding a
  //    piece of each row.
  const std::int64_t rows = ipow(L, dim - 1);
  std::vector<std::int64_t> per_row(static_cast<std::size_t>(rows), 0);
  for_each_voxel(x, [&](const Coord& c, std::int64_t i) {
    if (x.data[i] == value) ++per_row[static_cast<std::size_t>(x.index_of(c) / L)];
  });
  team.sum(per_row.data(), per_row.size());
  std::vector<std::int64_t> before(static_cast<std::size_t>(rows) + 1, 0);  // holders in rows < r
  for (std::int64_t r = 0; r < rows; ++r) before[static_cast<std::size_t>(r) + 1] = before[static_cast<std::size_t>(r)] + per_row[static_cast<std::size_t>(r)];
  const std::size_t m = nths.size();
  std::vector<std::int64_t> row(m), in_row(m);
  for (std::size_t k = 0; k < m; ++k) {
    if (nths[k] < 0 || nths[k] >= before.back())
      throw std::out_of_range("nth_voxels_holding: position " + std::to_string(nths[k]) + " of " +
                              std::to_string(before.back()));
    row[k] = static_cast<std::int64_t>(std::upper_bound(before.begin(), before.end(), nths[k]) - before.begin()) - 1;
    in_row[k] = nths[k] - before[static_cast<std::size_t>(row[k])];
  }
  // 2. Counts per piece of each asked row: the rows are split along the last axis into
  //    L / extent pieces, in order.
  const int piece_side = x.block.extent[last], pieces = L / piece_side;
  const int my_piece = x.block.origin[last] / piece_side;
  std::vector<std::int64_t> per_piece(m * static_cast<std::size_t>(pieces), 0);
  auto row_origin = [&](std::int64_t r) {
    Coord c = x.coords_of(r * L);  // the row's first voxel
    return c;
  };
  for (std::size_t k = 0; k < m; ++k) {
    Coord c = row_origin(row[k]);
    c[last] = x.block.origin[last];
    if (!x.holds(c)) continue;
    const std::int64_t at = x.local(c);
    per_piece[k * static_cast<std::size_t>(pieces) + static_cast<std::size_t>(my_piece)] =
        std::count(x.data + at, x.data + at + piece_side, value);
  }
  team.sum(per_piece.data(), per_piece.size());
  // 3. The rank holding the piece finds the voxel; the others add 0.
  std::vector<std::int64_t> found(m, 0);
  for (std::size_t k = 0; k < m; ++k) {
    std::int64_t left = in_row[k];
    int piece = 0;
    while (left >= per_piece[k * static_cast<std::size_t>(pieces) + static_cast<std::size_t>(piece)])
      left -= per_piece[k * static_cast<std::size_t>(pieces) + static_cast<std::size_t>(piece++)];
    if (piece != my_piece) continue;
    Coord c = row_origin(row[k]);
    c[last] = x.block.origin[last];
    if (!x.holds(c)) continue;
    const std::int8_t* p = x.data + x.local(c);
    for (int z = 0; z < piece_side; ++z)
      if (p[z] == value && left-- == 0) {
        c[last] = x.block.origin[last] + z;
        found[k] = x.index_of(c);
        break;
      }
  }
  team.sum(found.data(), found.size());
  return found;
}

}  // namespace macrodyn
