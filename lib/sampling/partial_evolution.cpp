#include "sampling/partial_evolution.hpp"

#include <cstring>

using namespace macrodyn::systems;

namespace macrodyn::sampling {

void macro_observables(const System& system, const std::int8_t* x, int L, int p,
                       Boundary boundary, double* phi) {
  const int d = system.num_observables();
  const Tiling tiling{system.dim(), L, p};
  std::vector<double> g(static_cast<std::size_t>(d));
  for (int k = 0; k < d; ++k) phi[k] = 0.0;
  for (std::int64_t I = 0; I < tiling.patches(); ++I) {
    system.patch_observables(x, L, tiling.origin(I), p, boundary, g.data());
    for (int k = 0; k < d; ++k) phi[k] += g[k];
  }
  for (int k = 0; k < d; ++k) phi[k] /= static_cast<double>(tiling.patches());
}

void partial_evolution(const System& system, Evolver& evolver, const std::int8_t* x, int L,
                       const PartialSpec& spec, std::uint64_t seed, std::int64_t snapshot_id,
                       bool keep_states, std::vector<PairRecord>& out) {
  const int dim = system.dim();
  const int d = system.num_observables();
  const Tiling tiling{dim, L, spec.patch};
  const std::int64_t patch_sites = ipow(spec.patch, dim);
  const std::uint64_t events = spec.events ? spec.events : system.events_per_sweep(patch_sites);
  const std::int64_t patch_bytes = patch_sites * system.state_layout().voxel_bytes();

  std::vector<double> phi(static_cast<std::size_t>(d));
  macro_observables(system, x, L, spec.patch, spec.boundary, phi.data());

  std::vector<std::int64_t> chosen;
  double weight = 1.0;
  if (spec.pairs == PairsMode::one) {
    Rng pick = patch_choice_rng(seed, snapshot_id);
    const System::PatchChoice choice =
        system.choose_patch(ConstLatticePart::whole(x, dim, L), spec.patch, pick, SoloSums{});
    chosen.push_back(choice.index);
    weight = choice.weight;
  } else {
    for (std::int64_t I = 0; I < tiling.patches(); ++I) chosen.push_back(I);
  }

  out.resize(chosen.size());
  for (std::size_t k = 0; k < chosen.size(); ++k) {
    const std::int64_t I = chosen[k];
    const Coord o = tiling.origin(I);
    PairRecord& rec = out[k];
    rec.snapshot_id = snapshot_id;
    rec.patch_index = static_cast<std::int32_t>(I);
    rec.weight = weight;
    rec.z_star = phi;
    rec.g_before.resize(static_cast<std::size_t>(d));
    rec.g_after.resize(static_cast<std::size_t>(d));
    // x is both the lattice and the stage copy: the rest of the snapshot stays frozen.
    evolver.load(x, L, o, spec.patch, spec.boundary, x);
    evolver.observables(rec.g_before.data());
    if (keep_states) rec.patch_before.assign(evolver.box(), evolver.box() + patch_bytes);
    Rng rng({seed, Purpose::partial_evolution, 0, static_cast<std::uint64_t>(snapshot_id),
             static_cast<std::uint32_t>(I)});
    rec.dt = evolver.run_events(events, rng);
    evolver.observables(rec.g_after.data());
    if (keep_states) rec.patch_after.assign(evolver.box(), evolver.box() + patch_bytes);
  }
}

}  // namespace macrodyn::sampling
