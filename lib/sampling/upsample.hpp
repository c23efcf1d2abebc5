#pragma once
// UPSAMPLE by the system's rule (System::upsampling_rule): block magnification, every
// site an m x m (x m) block of equal sites, so site averages such as the magnetisation
// are kept exactly; or tiling, m^D periodic copies of the small state, which keeps every
// intensive observable of a periodic state (bond fractions included).
#include <array>
#include <cstdint>

#include "systems/system.hpp"

namespace macrodyn::sampling {

// src has side Ls, dst side Ls * m, by `rule`.
void upsample(systems::System::UpsamplingRule rule, const std::int8_t* src, int dim, int Ls, int m, std::int8_t* dst);

// Tiling: dst(x) = src(x mod Ls).
void upsample_tiles(const std::int8_t* src, int dim, int Ls, int m, std::int8_t* dst);

// src has side Ls, dst side Ls * m; both row-major in `dim` dimensions.
void upsample_blocks(const std::int8_t* src, int dim, int Ls, int m, std::int8_t* dst);

// The same for a block that need not be square (a team rank's block, docs/design.md §6.3), in
// place: buf holds the block of extents[0] x .. x extents[dim-1] sites (row-major) at its
// start and must have room for m^dim times as many; on return it holds the upsampled
// block of extents[d] * m per axis. Works from the end backwards, so no second buffer.
void upsample_blocks_in_place(std::int8_t* buf, int dim, const std::array<int, 3>& extents_before, int m);

}  // namespace macrodyn::sampling
