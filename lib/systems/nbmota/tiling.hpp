#pragma once
// The alloy's upsampling steps and patch choice (method notes §6; docs/design.md §8.7), on
// a rank's part of the lattice with sums over the team (core/lattice_part.hpp): a team of
// any number of ranks gives the bits of one rank holding the whole lattice, which is what
// the serial pipeline runs.
#include <cstdint>

#include "core/lattice_part.hpp"
#include "core/rng.hpp"
#include "systems/system.hpp"

namespace macrodyn::systems::nbmota {

// Steps 1 to 3 after tiling a side-Ls state to side x.L: every tile a frame of the small
// runs time-matched to the drawn one (the small state itself when the frames are not
// trajectories: pool null), cyclically shifted by 2 U{0 .. Ls/2 - 1} voxels per axis (even
// shifts keep the BCC sites), then the composition relabelled to exactly equimolar (Nb
// against Mo, then Mo against Ta). Every rank draws every tile's frame and shift and
// writes the voxels of its part.
void complete_tiling(const LatticePart& x, int Ls, const std::uint8_t* small, Rng& rng,
                     const System::FramePool* pool, const TeamSums& team);

// Step 5 (after the relax): the i-th vacancy (voxel order) moved to the centre of tile i by
// a swap, when there is one vacancy per tile of side Ls.
void place_vacancies(const LatticePart& x, int Ls, const TeamSums& team);

// The notes' choice of the evolved tile: a vacancy drawn uniformly, its side-p tile I
// evolved, with q_I = (vacancies in I) / (all vacancies) and weight 1 / (K q_I); uniform
// with weight 1 when there is no vacancy.
System::PatchChoice choose_vacancy_tile(const ConstLatticePart& x, int p, Rng& rng, const TeamSums& team);

}  // namespace macrodyn::systems::nbmota
