#include "core/geometry.hpp"

#include <cstring>

namespace macrodyn {

void extract_box(const std::int8_t* lattice, int dim, int L, const Coord& o, int w, std::int8_t* box, int voxel_bytes) {
  if (voxel_bytes == 1) {
    for_each_box_site(dim, L, o, w, [&](std::int64_t i, std::int64_t k) { box[k] = lattice[i]; });
    return;
  }
  const auto vb = static_cast<std::size_t>(voxel_bytes);
  for_each_box_site(dim, L, o, w, [&](std::int64_t i, std::int64_t k) {
    std::memcpy(box + static_cast<std::size_t>(k) * vb, lattice + static_cast<std::size_t>(i) * vb, vb);
  });
}

void insert_box(std::int8_t* lattice, int dim, int L, const Coord& o, int w, const std::int8_t* box) {
  for_each_box_site(dim, L, o, w, [&](std::int64_t i, std::int64_t k) { lattice[i] = box[k]; });
}

std::int64_t sum_box(const std::int8_t* lattice, int dim, int L, const Coord& o, int w) {
  std::int64_t sum = 0;
  for_each_box_site(dim, L, o, w, [&](std::int64_t i, std::int64_t) { sum += lattice[i]; });
  return sum;
}

}  // namespace macrodyn
