#include "mpi/team_partial.hpp"

#include <stdexcept>

#include "mpi/team_check.hpp"

namespace macrodyn::mpi {

TeamPartial::TeamPartial(const TeamGrid& grid, const System& system, const PartialSpec& spec)
    : grid_(grid), system_(&system), spec_(spec), d_(system.num_observables()) {
  if (grid.dec.p != spec.patch)
    throw std::invalid_argument("TeamPartial: the decomposition's patch side differs from partial.patch");
  if (spec.boundary == Boundary::global && grid.size() > 1)
    throw std::invalid_argument("TeamPartial: a `global` boundary couples the patch to the whole lattice");
  const int dim = grid.dim(), p = spec.patch;
  patches_ = grid.dec.patches(grid.rank);
  const Tiling tiling = grid.dec.tiling();
  for (std::int64_t I : patches_) {
    Coord o = tiling.origin(I);
    for (int d = 0; d < dim; ++d) o[d] -= grid.block.origin[d];
    origins_.push_back(o);
  }
  const bool frozen = spec.boundary == Boundary::frozen;
  // `frozen` patches read a one-site ring; `periodic` ones only their own block.
  halo_.configure(grid, frozen ? 1 : 0, frozen ? 1 : 0);
  if (frozen) origin_in_tile_ = Coord{1, 1, 1};
  tile_.resize(static_cast<std::size_t>(ipow(frozen ? p + 2 : p, dim)));
  g_mine_.resize(patches_.size() * static_cast<std::size_t>(d_));
  phi_.resize(static_cast<std::size_t>(d_));
  if (grid.rank == 0) {
    const std::int64_t K = tiling.patches();
    g_all_.resize(static_cast<std::size_t>(K * d_));
    gathered_at_.resize(static_cast<std::size_t>(K));
    const std::int64_t per_rank = grid.dec.patches_per_rank();
    for (int r = 0; r < grid.size(); ++r) {
      const auto theirs = grid.dec.patches(r);
      for (std::size_t k = 0; k < theirs.size(); ++k)
        gathered_at_[static_cast<std::size_t>(theirs[k])] = r * per_rank + static_cast<std::int64_t>(k);
    }
  }
}

int TeamPartial::load_tile(const std::int8_t* block, std::size_t k) {
  const int p = spec_.patch;
  const Coord& o = origins_[k];
  if (spec_.boundary == Boundary::frozen) {
    halo_.read_box(block, Coord{o[0] - 1, o[1] - 1, o[2] - 1}, Coord{p + 2, p + 2, p + 2}, tile_.data());
    return p + 2;
  }
  halo_.read_box(block, o, Coord{p, p, p}, tile_.data());  // inside the block: no ring needed
  return p;
}

void TeamPartial::macro_observables(const std::int8_t* block, double* phi) {
  if (spec_.boundary == Boundary::frozen) halo_.exchange(block);
  for (std::size_t k = 0; k < patches_.size(); ++k) {
    const int side = load_tile(block, k);
    system_->patch_observables(tile_.data(), side, origin_in_tile_, spec_.patch, spec_.boundary,
                               g_mine_.data() + k * static_cast<std::size_t>(d_));
  }
  const int count = mpi_count(static_cast<std::int64_t>(g_mine_.size()), "patch observables");
  check_mpi(MPI_Gather(g_mine_.data(), count, MPI_DOUBLE, g_all_.data(), count, MPI_DOUBLE, 0, grid_.comm),
            "MPI_Gather");
  if (grid_.rank == 0) {
    // Patch-index order, as macro_observables sums them.
    for (int c = 0; c < d_; ++c) phi[c] = 0.0;
    for (std::size_t I = 0; I < gathered_at_.size(); ++I) {
      const double* g = g_all_.data() + gathered_at_[I] * d_;
      for (int c = 0; c < d_; ++c) phi[c] += g[c];
    }
    for (int c = 0; c < d_; ++c) phi[c] /= static_cast<double>(gathered_at_.size());
  }
  check_mpi(MPI_Bcast(phi, d_, MPI_DOUBLE, 0, grid_.comm), "MPI_Bcast");
}

void TeamPartial::run(Evolver& evolver, const std::int8_t* block, std::uint64_t seed, std::int64_t snapshot_id,
                      bool keep_states, std::vector<PairRecord>& out) {
  macro_observables(block, phi_.data());  // also leaves the frozen ring exchanged
  const std::int64_t patch_sites = ipow(spec_.patch, grid_.dim());
  const std::uint64_t events = spec_.events ? spec_.events : static_cast<std::uint64_t>(patch_sites);
  const auto sid = static_cast<std::uint64_t>(snapshot_id);

  // Which of this rank's patches: all, or the chosen one if it is here.
  std::size_t first = 0, last = patches_.size();
  if (spec_.pairs == PairsMode::one) {
    Rng pick({seed, Purpose::patch_choice, 0, sid, 0});
    const auto I = static_cast<std::int64_t>(pick.below(static_cast<std::uint64_t>(grid_.dec.tiling().patches())));
    first = last = 0;
    for (std::size_t k = 0; k < patches_.size(); ++k)
      if (patches_[k] == I) first = k, last = k + 1;
  }
  out.resize(last - first);
  for (std::size_t k = first; k < last; ++k) {
    const std::int64_t I = patches_[k];
    PairRecord& rec = out[k - first];
    rec.snapshot_id = snapshot_id;
    rec.patch_index = static_cast<std::int32_t>(I);
    rec.z_star = phi_;
    rec.g_before.resize(static_cast<std::size_t>(d_));
    rec.g_after.resize(static_cast<std::size_t>(d_));
    const int side = load_tile(block, k);
    // The tile is its own stage copy: for `frozen` its ring is the frozen snapshot.
    evolver.load(tile_.data(), side, origin_in_tile_, spec_.patch, spec_.boundary, tile_.data());
    evolver.observables(rec.g_before.data());
    if (keep_states) rec.patch_before.assign(evolver.box(), evolver.box() + patch_sites);
    Rng rng({seed, Purpose::partial_evolution, 0, sid, static_cast<std::uint32_t>(I)});
    rec.dt = evolver.run_events(events, rng);
    evolver.observables(rec.g_after.data());
    if (keep_states) rec.patch_after.assign(evolver.box(), evolver.box() + patch_sites);
  }
}

}  // namespace macrodyn::mpi
