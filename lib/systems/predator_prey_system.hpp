#pragma once
// The stochastic predator-prey SPDE as a System (docs/design.md §8.6): the fields u
// (prey) and v (predator) as a float32 state of two channels per cell, advanced by the
// kernel of systems/predator_prey.hpp. Registered twice, like the Ising model:
// predator_prey on a 1-D grid (the paper's experiment) and predator_prey2d.
//
// What differs from a spin system, and how the System hooks say it:
//  - state layout: field, channels (u, v), float32, 8 bytes per cell;
//  - an event is one Euler-Maruyama step of every cell of the box (events_per_sweep = 1)
//    and takes dt of physical time; time stays physical (TimeUnit::physical);
//  - boundaries: the grid's own edges are zero flux (ghost = edge value) whatever the
//    box; a patch or window reads a frozen one-cell halo from the stage copy
//    (Boundary::frozen); an isolated torus has no meaning here (no `periodic` patches);
//  - the noise of a cell is keyed by (seed, purpose, level, item, step, global cell)
//    (NoiseKey), the step counting from the box's load plus 2^20 x the stream's sub
//    slot: a partial step of a patch equals the full-grid step of its cells, and the
//    whole grid, stepped from the same state, gives the bits of the serial stepper and of
//    the PETSc solver on any number of ranks (a run of the evolvers starts from its stored
//    float32 frame 0, simulate's solver from the double initial state: §6.9);
//  - upsampling: linear interpolation on cell centres;
//  - initial states u = m + k cos(10 pi x), v = 1 - m - k cos(10 pi x) (x the cell centre
//    along the first grid axis), (m, k) drawn from [m_min, m_max] x [k_min, k_max];
//  - observables: the means of u and v, by fixed-point sums (core/fixed_point_sum.hpp),
//    so that they do not depend on how a grid is split.
#include <memory>
#include <vector>

#include "systems/predator_prey.hpp"
#include "systems/system.hpp"

namespace macrodyn::systems {

std::vector<ParamSpec> predator_prey_param_specs();
// dim 1 or 2.
std::unique_ptr<System> make_predator_prey(int dim, const SystemParams& params);

// The kernel's parameters of a side-L grid (cells per axis) of the system's keys, and the
// scheme a distributed solver steps with (system.scheme; the evolvers are explicit).
fields::PredatorPreyParams predator_prey_params(int dim, const SystemParams& params, int L);
fields::FieldScheme predator_prey_scheme(const SystemParams& params);

// The (m, k) a run starts from: drawn from [m_min, m_max] x [k_min, k_max] with `rng`
// (m first) for InitialKind::random_m0, else c's values with a NaN k the middle of its
// range; written back into c. The System's initial_state and the distributed solver
// (mpi/fields/field_truth.hpp) both resolve a condition here, so they start alike.
void resolve_predator_prey_condition(const SystemParams& params, InitialKind kind, InitialCondition& c, Rng& rng);

}  // namespace macrodyn::systems
