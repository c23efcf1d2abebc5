#include "core/geometry.hpp"

namespace macrodyn {

namespace {
template <bool Extract>
void copy_box(std::int8_t* lattice, int dim, int L, const Coord& o, int w, std::int8_t* box) {
  std::int64_t k = 0;
  if (dim == 2) {
    for (int x = 0; x < w; ++x) {
      const std::int64_t row = static_cast<std::int64_t>((o[0] + x) % L) * L;
      for (int y = 0; y < w; ++y, ++k) {
        const std::int64_t i = row + (o[1] + y) % L;
        if (Extract) box[k] = lattice[i]; else lattice[i] = box[k];
      }
    }
  } else {
    for (int x = 0; x < w; ++x)
      for (int y = 0; y < w; ++y) {
        const std::int64_t row =
            (static_cast<std::int64_t>((o[0] + x) % L) * L + (o[1] + y) % L) * L;
        for (int z = 0; z < w; ++z, ++k) {
          const std::int64_t i = row + (o[2] + z) % L;
          if (Extract) box[k] = lattice[i]; else lattice[i] = box[k];
        }
      }
  }
}
}  // namespace

void extract_box(const std::int8_t* lattice, int dim, int L, const Coord& o, int w, std::int8_t* box) {
  copy_box<true>(const_cast<std::int8_t*>(lattice), dim, L, o, w, box);
}
void insert_box(std::int8_t* lattice, int dim, int L, const Coord& o, int w, const std::int8_t* box) {
  copy_box<false>(lattice, dim, L, o, w, const_cast<std::int8_t*>(box));
}

}  // namespace macrodyn
