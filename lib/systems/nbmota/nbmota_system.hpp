#pragma once
// The NbMoTa alloy as a System (docs/design.md §8.7; method notes §6): equimolar BCC Nb, Mo,
// Ta with vacancies on a periodic voxel grid (systems/nbmota/lattice.hpp), evolved by vacancy
// KMC with the neural barrier network (kmc.hpp, barrier_model.hpp), observed through the six
// short-range-order parameters (sro.hpp).
//
// How the hooks say it:
//  - state layout: uint8 codes vacancy, Nb, Mo, Ta; the voxels that are no BCC site hold 255
//    and never change (site_mask);
//  - an event is one vacancy hop; a box (a tile, a window) is evolved as its own torus, the
//    reference's choice (`periodic` is the only boundary);
//  - initial states: start = 0, the shipped 1024-atom dump (data/nbmota) with the vacancy in
//    place of the Mo at the origin, tiled to the side asked for with a vacancy at each copy's
//    origin; start = 1 (or a random initial kind), a random equimolar arrangement with one
//    vacancy per 1024 sites (at least one) at random sites;
//  - upsampling: tiling, then after_upsampling fills each tile with a time-matched small
//    frame shifted by random even offsets and relabels atoms to exactly equimolar; after the
//    relax, after_relax moves one vacancy to each tile's centre (nbmota/tiling.hpp, on a
//    rank's part of the lattice: teams split the alloy, with halos of the barrier network's
//    reach);
//  - the observables stay raw (no normalisation, as the notes); the time unit is the mean
//    duration of the training pairs (per temperature for a model conditioned on T).
// The barrier network and the start are text keys naming files (system.barrier_model,
// system.start_dump; the shipped ones by default).
#include <memory>
#include <vector>

#include "systems/system.hpp"

namespace macrodyn::systems {

std::vector<ParamSpec> nbmota_param_specs();
std::unique_ptr<System> make_nbmota(const SystemParams& params);

}  // namespace macrodyn::systems
