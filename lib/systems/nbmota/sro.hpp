#pragma once
// The alloy's observables (method notes §6): the six short-range-order parameters
//   delta_ab = P_ab / N_a - 8/3,  ab = NbNb, NbMo, NbTa, MoMo, MoTa, TaTa,
// with N_a the atoms of species a (a zero count counts as 1) and P_ab the ordered
// first-neighbour pairs (a, b) over the 8 hop vectors, vacancies excluded; normalised by
// the first species.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace macrodyn::systems::nbmota {

constexpr int kSroParameters = 6;
inline std::vector<std::string> sro_names() { return {"NbNb", "NbMo", "NbTa", "MoMo", "MoTa", "TaTa"}; }

// delta of the side-n box with origin o of the periodic side-N grid `codes`, wrapping inside
// the box (the whole grid: o = 0, n = N; a tile: its own torus, as the model is trained).
void sro(const std::uint8_t* codes, int N, const std::array<int, 3>& o, int n, double* delta);

}  // namespace macrodyn::systems::nbmota
