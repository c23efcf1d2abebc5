#pragma once
// UPSAMPLE: every site becomes an m x m (x m) block of equal sites (magnification, not
// tiling), so the magnetisation is kept exactly.
#include <cstdint>

namespace macrodyn {

// src has side Ls, dst side Ls * m; both row-major in `dim` dimensions.
void upsample_blocks(const std::int8_t* src, int dim, int Ls, int m, std::int8_t* dst);

}  // namespace macrodyn
