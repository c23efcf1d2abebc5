#include "sampling/upsample.hpp"

#include <cstring>

namespace macrodyn {

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

}  // namespace macrodyn
