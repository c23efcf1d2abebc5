#include "systems/nbmota/sro.hpp"

#include "systems/nbmota/lattice.hpp"

namespace macrodyn::systems::nbmota {

void sro(const std::uint8_t* codes, int N, const std::array<int, 3>& o, int n, double* delta) {
  std::int64_t count[4] = {0, 0, 0, 0}, pairs[4][4] = {};
  for (int x = 0; x < n; ++x)
    for (int y = 0; y < n; ++y)
      for (int z = 0; z < n; ++z) {
        const std::uint8_t a = codes[voxel(N, o[0] + x, o[1] + y, o[2] + z)];
        if (a < kNb || a > kTa) continue;
        ++count[a];
        for (const auto& d : kHops) {
          const std::uint8_t b =
              codes[voxel(N, o[0] + wrap(x + d[0], n), o[1] + wrap(y + d[1], n), o[2] + wrap(z + d[2], n))];
          if (b >= kNb && b <= kTa) ++pairs[a][b];
        }
      }
  int k = 0;
  for (int a = kNb; a <= kTa; ++a)
    for (int b = a; b <= kTa; ++b)
      delta[k++] = static_cast<double>(pairs[a][b]) / static_cast<double>(count[a] > 0 ? count[a] : 1) - 8.0 / 3.0;
}

}  // namespace macrodyn::systems::nbmota
