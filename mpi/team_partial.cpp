#include "mpi/team_partial.hpp"

#include <algorithm>
#include <stdexcept>

#include "mpi/check.hpp"

using namespace macrodyn::sampling;
using namespace macrodyn::systems;

namespace macrodyn::mpi {

namespace {
// Patch indices per step of the phi gather: team rank 0 holds the g of this many
// patches at a time (1 MB for d* = 2), whatever K is.
constexpr std::int64_t kPhiChunk = std::int64_t{1} << 16;
}  // namespace

TeamPartial::TeamPartial(const TeamGrid& grid, const System& system, const PartialSpec& spec)
    : grid_(grid), system_(&system), spec_(spec), d_(system.num_observables()), sums_(grid.comm) {
  if (grid.dec.p != spec.patch)
    throw std::invalid_argument("TeamPartial: the decomposition's patch side differs from partial.patch");
  if (spec.boundary == Boundary::global && grid.size() > 1)
    throw std::invalid_argument("TeamPartial: a `global` boundary couples the patch to the whole lattice");
  const int dim = grid.dim(), p = spec.patch;
  per_axis_ = grid.dec.L / p;
  count_ = 1;
  for (int d = 0; d < dim; ++d) {
    n_[d] = grid.block.extent[d] / p;
    q0_[d] = grid.block.origin[d] / p;
    count_ *= n_[d];
  }
  const bool frozen = spec.boundary == Boundary::frozen;
  // `frozen` patches read a ring as wide as the interaction range; `periodic` ones
  // only their own block.
  ring_ = frozen ? system.interaction_range() : 0;
  halo_.configure(grid, ring_, ring_);
  origin_in_tile_ = Coord{ring_, ring_, ring_};
  tile_.resize(static_cast<std::size_t>(ipow(p + 2 * ring_, dim)));
  const std::int64_t K = grid.dec.tiling().patches();
  g_mine_.resize(static_cast<std::size_t>(std::min(count_, kPhiChunk) * d_));
  phi_.resize(static_cast<std::size_t>(d_));
  if (grid.rank == 0) {
    g_chunk_.resize(static_cast<std::size_t>(std::min(K, kPhiChunk) * d_));
    counts_.resize(static_cast<std::size_t>(grid.size()));
    displs_.resize(counts_.size());
    cursor_.resize(counts_.size());
  }
}

std::int64_t TeamPartial::patch_index(std::int64_t k) const {
  const int dim = grid_.dim();
  Coord q{0, 0, 0};
  for (int d = dim - 1; d >= 0; --d) {
    q[d] = q0_[d] + static_cast<int>(k % n_[d]);
    k /= n_[d];
  }
  std::int64_t I = 0;
  for (int d = 0; d < dim; ++d) I = I * per_axis_ + q[d];
  return I;
}

Coord TeamPartial::patch_origin(std::int64_t k) const {
  Coord o{0, 0, 0};
  for (int d = grid_.dim() - 1; d >= 0; --d) {
    o[d] = static_cast<int>(k % n_[d]) * spec_.patch;
    k /= n_[d];
  }
  return o;
}

int TeamPartial::load_tile(const std::int8_t* block, std::int64_t k) {
  const int p = spec_.patch;
  const Coord o = patch_origin(k);
  if (spec_.boundary == Boundary::frozen) {
    const int r = ring_, s = p + 2 * r;
    halo_.read_box(block, Coord{o[0] - r, o[1] - r, o[2] - r}, Coord{s, s, s}, tile_.data());
    return s;
  }
  halo_.read_box(block, o, Coord{p, p, p}, tile_.data());  // inside the block: no ring needed
  return p;
}

void TeamPartial::macro_observables(const std::int8_t* block, double* phi) {
  if (spec_.boundary == Boundary::frozen) halo_.exchange(block);
  const std::int64_t K = grid_.dec.tiling().patches();
  const bool root = grid_.rank == 0;
  if (root)
    for (int c = 0; c < d_; ++c) phi[c] = 0.0;
  // Chunks of patch indices [a, b): every rank's patches in it (a run of its own,
  // increasing) go to team rank 0, which adds them in patch-index order, as
  // macro_observables does.
  std::int64_t k = 0;
  for (std::int64_t a = 0; a < K; a += kPhiChunk) {
    const std::int64_t b = std::min(K, a + kPhiChunk);
    const std::int64_t k0 = k;
    for (; k < count_ && patch_index(k) < b; ++k) {
      const int side = load_tile(block, k);
      system_->patch_observables(tile_.data(), side, origin_in_tile_, spec_.patch, spec_.boundary,
                                 g_mine_.data() + (k - k0) * d_);
    }
    if (root) {
      std::fill(counts_.begin(), counts_.end(), 0);
      for (std::int64_t I = a; I < b; ++I) counts_[static_cast<std::size_t>(grid_.dec.patch_owner(I))] += d_;
      for (std::size_t r = 1; r < counts_.size(); ++r) displs_[r] = displs_[r - 1] + counts_[r - 1];
    }
    check_mpi(MPI_Gatherv(g_mine_.data(), mpi_count((k - k0) * d_, "patch observables"), MPI_DOUBLE, g_chunk_.data(),
                          counts_.data(), displs_.data(), MPI_DOUBLE, 0, grid_.comm),
              "MPI_Gatherv");
    if (root) {
      std::copy(displs_.begin(), displs_.end(), cursor_.begin());
      for (std::int64_t I = a; I < b; ++I) {
        int& at = cursor_[static_cast<std::size_t>(grid_.dec.patch_owner(I))];
        const double* g = g_chunk_.data() + at;
        at += d_;
        for (int c = 0; c < d_; ++c) phi[c] += g[c];
      }
    }
  }
  if (root)
    for (int c = 0; c < d_; ++c) phi[c] /= static_cast<double>(K);
  check_mpi(MPI_Bcast(phi, d_, MPI_DOUBLE, 0, grid_.comm), "MPI_Bcast");
}

void TeamPartial::chosen(const std::int8_t* block, std::uint64_t seed, std::int64_t snapshot_id, std::int64_t& first,
                         std::int64_t& last) {
  first = 0;
  last = count_;
  weight_ = 1.0;
  if (spec_.pairs != PairsMode::one) return;
  Rng pick = patch_choice_rng(seed, snapshot_id);
  const System::PatchChoice choice =
      system_->choose_patch(ConstLatticePart{block, grid_.dim(), grid_.dec.L, grid_.block}, spec_.patch, pick, sums_);
  weight_ = choice.weight;
  auto I = choice.index;
  // Its lattice patch coordinates, then its place among this rank's patches (if here).
  Coord q{0, 0, 0};
  for (int d = grid_.dim() - 1; d >= 0; --d) {
    q[d] = static_cast<int>(I % per_axis_);
    I /= per_axis_;
  }
  std::int64_t k = 0;
  for (int d = 0; d < grid_.dim(); ++d) {
    const int local = q[d] - q0_[d];
    if (local < 0 || local >= n_[d]) {
      last = 0;
      return;
    }
    k = k * n_[d] + local;
  }
  first = k;
  last = k + 1;
}

void TeamPartial::evolve(Evolver& evolver, const std::int8_t* block, std::int64_t k, std::uint64_t seed,
                         std::int64_t snapshot_id, bool keep_states, PairRecord& rec) {
  const std::int64_t patch_sites = ipow(spec_.patch, grid_.dim());
  const std::uint64_t events = spec_.events ? spec_.events : system_->events_per_sweep(patch_sites);
  const std::int64_t I = patch_index(k);
  rec.snapshot_id = snapshot_id;
  rec.patch_index = static_cast<std::int32_t>(I);
  rec.weight = weight_;
  rec.z_star = phi_;  // reuses the record's storage
  rec.g_before.resize(static_cast<std::size_t>(d_));
  rec.g_after.resize(static_cast<std::size_t>(d_));
  const int side = load_tile(block, k);
  // The tile is its own stage copy: for `frozen` its ring is the frozen snapshot.
  evolver.load(tile_.data(), side, origin_in_tile_, spec_.patch, spec_.boundary, tile_.data());
  evolver.observables(rec.g_before.data());
  if (keep_states)
    rec.patch_before.assign(evolver.box(), evolver.box() + patch_sites);
  else
    rec.patch_before.clear();
  Rng rng({seed, Purpose::partial_evolution, 0, static_cast<std::uint64_t>(snapshot_id), static_cast<std::uint32_t>(I)});
  rec.dt = evolver.run_events(events, rng);
  evolver.observables(rec.g_after.data());
  if (keep_states)
    rec.patch_after.assign(evolver.box(), evolver.box() + patch_sites);
  else
    rec.patch_after.clear();
}

void TeamPartial::run(Evolver& evolver, const std::int8_t* block, std::uint64_t seed, std::int64_t snapshot_id,
                      bool keep_states, std::vector<PairRecord>& out) {
  macro_observables(block, phi_.data());  // also leaves the frozen ring exchanged
  std::int64_t first = 0, last = 0;
  chosen(block, seed, snapshot_id, first, last);
  out.resize(static_cast<std::size_t>(last - first));
  for (std::int64_t k = first; k < last; ++k)
    evolve(evolver, block, k, seed, snapshot_id, keep_states, out[static_cast<std::size_t>(k - first)]);
}

void TeamPartial::run(Evolver& evolver, const std::int8_t* block, std::uint64_t seed, std::int64_t snapshot_id,
                      bool keep_states, std::size_t chunk, const RecordSink& each) {
  if (chunk < 1) throw std::invalid_argument("TeamPartial::run: chunk must be at least 1");
  macro_observables(block, phi_.data());
  std::int64_t first = 0, last = 0;
  chosen(block, seed, snapshot_id, first, last);
  const auto most = static_cast<std::int64_t>(chunk);
  if (static_cast<std::int64_t>(chunk_.size()) < std::min(most, last - first))
    chunk_.resize(static_cast<std::size_t>(std::min(most, last - first)));
  for (std::int64_t k = first; k < last;) {
    const std::int64_t n = std::min(most, last - k);
    for (std::int64_t i = 0; i < n; ++i)
      evolve(evolver, block, k + i, seed, snapshot_id, keep_states, chunk_[static_cast<std::size_t>(i)]);
    each(chunk_.data(), static_cast<std::size_t>(n));
    k += n;
  }
}

}  // namespace macrodyn::mpi
