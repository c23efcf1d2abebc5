#pragma once
// UPSAMPLE by the system's rule (System::upsampling_rule):
//  - block magnification: every voxel an m x .. x m block of equal voxels, so site
//    averages such as the magnetisation are kept exactly;
//  - tiling: m^D periodic copies of the small state, which keeps every intensive
//    observable of a periodic state (bond fractions included);
//  - linear interpolation (fields): by 2 per axis on cell centres with the edges held,
//    fine[2i+1] = 3/4 c[i] + 1/4 c[i+1], fine[2i] = 1/4 c[i-1] + 3/4 c[i], c[-1] = c[0],
//    c[n] = c[n-1], the tensor product in 2-D (x then y); m = 2^k applies it k times.
//    It keeps the mean of a field up to the edge cells' corrections (docs/design.md §8.6.2).
// States are row-major in 1, 2 or 3 dimensions, voxel_bytes bytes per voxel
// (systems/state_layout.hpp); only the field rule reads the bytes as numbers.
#include <array>
#include <cstdint>

#include "systems/system.hpp"

namespace macrodyn::sampling {

// src has side Ls, dst side Ls * m, by the system's rule and in its state layout.
// std::invalid_argument when the rule cannot take m (linear interpolation: a power of 2).
void upsample(const systems::System& system, const std::int8_t* src, int Ls, int m, std::int8_t* dst);

// One level of the hierarchy's upsampling: upsample by the rule, then the system's
// after_upsampling with the rng keyed (seed, upsample, level, item), so generate and the
// team path of run make the same state.
// `pool`: the small frames src was drawn from (System::FramePool), handed to the system at
// level 1 when they are trajectories (frames_per_run > 0).
void upsample_level(const systems::System& system, const std::int8_t* src, int Ls, int m, std::int8_t* dst,
                    std::uint64_t seed, std::uint32_t level, std::uint64_t item,
                    const systems::System::FramePool& pool = {});

// Tiling: dst(x) = src(x mod Ls).
void upsample_tiles(const std::int8_t* src, int dim, int Ls, int m, std::int8_t* dst, int voxel_bytes = 1);

// Block magnification: dst(x) = src(floor(x / m)).
void upsample_blocks(const std::int8_t* src, int dim, int Ls, int m, std::int8_t* dst, int voxel_bytes = 1);

// Linear interpolation by 2 per axis of `channels` fields stored together per voxel
// (dim 1 or 2), computed in double and rounded to T once (T = float or double).
template <class T>
void upsample_linear2(const T* src, int dim, int Ls, int channels, T* dst);

// Block magnification of a block that need not be square (a team rank's block,
// docs/design.md §6.3), one byte per voxel, in place: buf holds the block of
// extents[0] x .. x extents[dim-1] sites (row-major) at its start and must have room for
// m^dim times as many; on return it holds the upsampled block of extents[d] * m per
// axis. Works from the end backwards, so no second buffer.
void upsample_blocks_in_place(std::int8_t* buf, int dim, const std::array<int, 3>& extents_before, int m);

}  // namespace macrodyn::sampling
