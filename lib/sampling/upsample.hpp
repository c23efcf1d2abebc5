#pragma once
// UPSAMPLE: every site becomes an m x m (x m) block of equal sites (magnification, not
// tiling), so the magnetisation is kept exactly.
#include <array>
#include <cstdint>

namespace macrodyn {

// src has side Ls, dst side Ls * m; both row-major in `dim` dimensions.
void upsample_blocks(const std::int8_t* src, int dim, int Ls, int m, std::int8_t* dst);

// The same for a block that need not be square (a team rank's block, docs/design.md §6.3), in
// place: buf holds the block of extents[0] x .. x extents[dim-1] sites (row-major) at its
// start and must have room for m^dim times as many; on return it holds the upsampled
// block of extents[d] * m per axis. Works from the end backwards, so no second buffer.
void upsample_blocks_in_place(std::int8_t* buf, int dim, const std::array<int, 3>& extents_before, int m);

}  // namespace macrodyn
