#pragma once
// The NbMoTa alloy's lattice (docs/design.md §8.7; method notes §6): BCC with a = 3.24 Å on a
// periodic voxel grid of voxel 1.62 Å, side N = 2 x cells; a voxel is a site when its three
// indices are all even or all odd. States are uint8 codes per voxel, row-major [x][y][z]
// (x slowest): the feature cube's indices i, j, l run along x, y, z.
#include <array>
#include <cstdint>

namespace macrodyn::systems::nbmota {

constexpr double kVoxelAngstrom = 1.62;
constexpr double kBoltzmannEvPerK = 8.617333e-5;
constexpr double kAttemptFrequency = 1e13;  // s^-1

// Voxel codes. A vacancy is a site without an atom; a voxel that is no site never changes.
enum Code : std::uint8_t { kVacancy = 0, kNb = 1, kMo = 2, kTa = 3, kNoSite = 255 };
constexpr int kSpecies = 3;  // Nb, Mo, Ta: codes 1..3

// The hop vectors d0 ... d7 to the 8 first neighbours, in voxels.
constexpr std::array<std::array<int, 3>, 8> kHops{{{-1, -1, -1}, {-1, -1, 1}, {-1, 1, -1}, {-1, 1, 1},
                                                   {1, -1, -1}, {1, -1, 1}, {1, 1, -1}, {1, 1, 1}}};

inline bool is_site(int x, int y, int z) { return ((x ^ y) & 1) == 0 && ((y ^ z) & 1) == 0; }

inline int wrap(int i, int N) { return ((i % N) + N) % N; }

inline std::int64_t voxel(int N, int x, int y, int z) {
  return (static_cast<std::int64_t>(wrap(x, N)) * N + wrap(y, N)) * N + wrap(z, N);
}

inline std::array<int, 3> coords(int N, std::int64_t v) {
  return {static_cast<int>(v / (static_cast<std::int64_t>(N) * N)), static_cast<int>((v / N) % N),
          static_cast<int>(v % N)};
}

}  // namespace macrodyn::systems::nbmota
