#include "mpi/team_snapshot.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "core/error.hpp"
#include "mpi/check.hpp"
#include "mpi/team_partial.hpp"
#include "mpi/team_relax.hpp"
#include "mpi/team_sums.hpp"
#include "systems/initial_state.hpp"
#include "sampling/local_relax.hpp"
#include "sampling/upsample.hpp"

using namespace macrodyn::sampling;
using namespace macrodyn::systems;

namespace macrodyn::mpi {

namespace {

// Why the team path cannot split this lattice ("" when it can), completing "team.size = N
// ...": a team of several ranks refuses then, and one rank takes the serial path instead.
std::string why_not_split(const System& system, const HierarchySpec& h, const PartialSpec& partial,
                          const Decomposition& dec) {
  if (system.state_layout().voxel_bytes() != 1)
    return "splits the lattice over ranks, whose halos move one byte per voxel; system " + system.name() +
           " has " + std::to_string(system.state_layout().voxel_bytes()) + "-byte voxels; use team.size = 1";
  if (!system.team_splittable())
    return "splits the lattice over ranks, which system " + system.name() +
           " does not allow; use team.size = 1";
  // Halos are as wide as the interaction range: a block must hold a whole ring.
  const int range = system.interaction_range();
  for (int d = 0; d < dec.dim; ++d)
    if (dec.extent(d) < range)
      return "gives blocks " + std::to_string(dec.extent(d)) + " sites wide, narrower than the " +
             std::to_string(range) + "-site interaction range of system " + system.name() +
             "; use a smaller team.size";
  if (system.upsampling_rule() == System::UpsamplingRule::linear_interpolation)
    return "upsamples blocks of the lattice, which linear interpolation does not allow (system " + system.name() +
           "); use team.size = 1";
  if (partial.boundary == Boundary::global || h.relax.boundary == Boundary::global)
    return "splits the lattice over ranks, but a `global` boundary couples a patch or window to the whole "
           "lattice; use team.size = 1";
  return "";
}

void validate(int size, const System& system, const HierarchySpec& h, const PartialSpec& partial,
              std::uint64_t seed, std::int64_t snapshots, const Decomposition& dec) {
  if (size != dec.team_size())
    throw std::invalid_argument("TeamSnapshot: the team has " + std::to_string(size) +
                                " ranks but the decomposition " + std::to_string(dec.team_size()));
  if (h.sides.empty() || dec.dim != system.dim() || dec.L != h.sides.back() || dec.p != partial.patch)
    throw std::invalid_argument("TeamSnapshot: the decomposition does not match the system, sides or patch");
  if (h.seed != seed) throw std::invalid_argument("TeamSnapshot: hierarchy.seed differs from the seed");
  if (snapshots < 1) throw std::invalid_argument("TeamSnapshot: snapshots must be at least 1");
  if (size == 1) return;
  const std::string why = why_not_split(system, h, partial, dec);
  if (!why.empty()) throw InputError("team.size = " + std::to_string(size) + " " + why);
}

}  // namespace

TeamSnapshot::TeamSnapshot(MPI_Comm team, const System& system, const HierarchySpec& hierarchy,
                           const PartialSpec& partial, std::uint64_t seed, std::int64_t snapshots,
                           const Decomposition& decomposition)
    : system_(&system),
      hierarchy_(hierarchy),
      partial_(partial),
      seed_(seed),
      snapshots_(snapshots),
      tiling_(system.upsampling_rule() == System::UpsamplingRule::tiling) {
  int size = 0;
  check_mpi(MPI_Comm_size(team, &size), "MPI_Comm_size");
  validate(size, system, hierarchy, partial, seed, snapshots, decomposition);
  // A communicator of its own: the team's tags cannot meet other traffic, and errors
  // come back as codes that check_mpi turns into exceptions.
  check_mpi(MPI_Comm_dup(team, &comm_), "MPI_Comm_dup");
  try {
    check_mpi(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    sums_ = std::make_unique<CommSums>(comm_);
    const int dim = system.dim();
    const auto& sides = hierarchy.sides;
    levels_ = static_cast<int>(sides.size()) - 1;
    grid_ = make_team_grid(comm_, decomposition);
    evolver_ = system.make_evolver();
    vb_ = system.state_layout().voxel_bytes();
    block_.resize(static_cast<std::size_t>(decomposition.block_sites() * vb_));
    ancestors_.resize(static_cast<std::size_t>(levels_ + 1));

    // Level l is distributed when it and every level above can be relaxed on the grid
    // (a block at least as wide as the window, or no relax); below that, levels are
    // small. Tiling fills a level from the whole level below, so only the last level of a
    // system that tiles is distributed.
    first_distributed_ = levels_ + 1;
    grids_.assign(static_cast<std::size_t>(levels_ + 1), TeamGrid{});
    has_grid_.assign(static_cast<std::size_t>(levels_ + 1), false);
    for (int l = 0; l <= levels_; ++l) {
      try {
        grids_[l] = make_team_grid(comm_, Decomposition::with_grid(dim, sides[l], 1, decomposition.ranks_per_axis));
        has_grid_[l] = true;
      } catch (const InputError&) {
      }
    }
    // One rank takes the same path when the system can be split (it is the serial
    // result bit for bit): in-place upsampling and windows copied out one at a time
    // hold one lattice, where the serial functions hold two levels (and a stage copy
    // for `frozen`).
    const bool splittable = why_not_split(system, hierarchy, partial, decomposition).empty();
    const int ring = system.interaction_range();
    relax_.resize(static_cast<std::size_t>(levels_ + 1));
    if (size > 1 || splittable)
      for (int l = levels_; l >= (tiling_ ? std::max(levels_, 1) : 1); --l) {
        const RelaxSpec spec = relax_at_level(hierarchy, l);
        if (!has_grid_[l] || (spec.window != 0 && !TeamRelax::distributable(grids_[l].dec, spec, ring))) break;
        first_distributed_ = l;
      }
    for (int l = first_distributed_; l <= levels_; ++l) {
      RelaxSpec spec = relax_at_level(hierarchy, l);
      if (spec.window == 0) continue;
      // Events per window as local_relax counts them: the system's sweep of the window.
      if (spec.events == 0) spec.events = system.events_per_sweep(ipow(spec.window, dim));
      relax_[l] = std::make_unique<TeamRelax>(grids_[l], spec, ring);
    }
    // One rank uses it only for the chunked partial evolution (TeamPartial on one rank
    // equals the serial records bit for bit).
    if (size > 1 || splittable) partial_team_ = std::make_unique<TeamPartial>(grid_, system, partial);

    // Scratch for the replicated levels (with one rank the last level goes straight
    // into the block), and for the hand-over when the last replicated side is not
    // divisible by the rank grid (then the first distributed level is upsampled whole).
    const int last_replicated = std::min(first_distributed_ - 1, levels_);
    auto need = [&](int l) {
      auto& s = scratch_[l % 2];
      s.resize(std::max(s.size(), static_cast<std::size_t>(ipow(sides[l], dim) * vb_)));
    };
    for (int l = 1; l <= last_replicated; ++l)
      if (!(l == levels_ && size == 1)) need(l);
    if (first_distributed_ <= levels_ && !tiling_ && !has_grid_[last_replicated]) need(first_distributed_);
  } catch (...) {
    MPI_Comm_free(&comm_);
    throw;
  }
}

TeamSnapshot::~TeamSnapshot() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

void TeamSnapshot::build(std::int64_t j, const std::int8_t* pool, std::int64_t pool_count) {
  if (j < 0 || j >= snapshots_)
    throw std::out_of_range("TeamSnapshot::build: snapshot " + std::to_string(j) + " is not in [0, " +
                            std::to_string(snapshots_) + ")");
  if (pool_count < 1) throw std::invalid_argument("TeamSnapshot::build: empty small pool");
  const int dim = system_->dim();
  const int m = hierarchy_.factor;
  const auto& sides = hierarchy_.sides;
  const std::int64_t frame_bytes = ipow(sides[0], dim) * vb_;
  const bool alone = grid_.size() == 1;

  if (levels_ == 0) {  // small side = large side: frames drawn without replacement, as serial
    if (chosen_pool_count_ != pool_count) {
      chosen_ = draw_without_replacement(pool_count, snapshots_, seed_);
      chosen_pool_count_ = pool_count;
    }
    const std::int8_t* frame = pool + chosen_[static_cast<std::size_t>(j)] * frame_bytes;
    if (alone)
      std::memcpy(block_.data(), frame, block_.size());
    else
      copy_block_out(frame, grid_, block_.data());
    return;
  }

  // Ancestors, top down: the level-(l-1) snapshot that level l's snapshot is drawn from.
  ancestors_[static_cast<std::size_t>(levels_)] = j;
  for (int l = levels_; l >= 1; --l) {
    const std::int64_t count = l == 1 ? pool_count : snapshots_;
    Rng draw({seed_, Purpose::draw, static_cast<std::uint32_t>(l), static_cast<std::uint64_t>(ancestors_[l]), 0});
    ancestors_[l - 1] = static_cast<std::int64_t>(draw.below(static_cast<std::uint64_t>(count)));
  }

  // Bottom up. Replicated levels: the serial functions on the whole (small) lattice.
  const int last_replicated = std::min(first_distributed_ - 1, levels_);
  const std::int8_t* cur = pool + ancestors_[0] * frame_bytes;
  const System::FramePool frames{pool, pool_count, hierarchy_.frames_per_run, ancestors_[0]};  // used at level 1
  for (int l = 1; l <= last_replicated; ++l) {
    std::int8_t* dst = (l == levels_ && alone) ? block_.data() : scratch_[l % 2].data();
    upsample_level(*system_, cur, sides[l - 1], m, dst, seed_, static_cast<std::uint32_t>(l),
                   static_cast<std::uint64_t>(ancestors_[l]), frames);
    local_relax(*system_, *evolver_, dst, sides[l], relax_at_level(hierarchy_, l), seed_,
                static_cast<std::uint32_t>(l), static_cast<std::uint64_t>(ancestors_[l]), stage_copy_);
    system_->after_relax(LatticePart::whole(dst, dim, sides[l]), sides[l - 1], SoloSums{});
    cur = dst;
  }
  if (last_replicated == levels_) {
    if (!alone) copy_block_out(cur, grid_, block_.data());
    return;
  }

  // Hand-over to the block, then distributed levels: upsample in place, relax as a team.
  int l = first_distributed_;
  if (tiling_) {  // the last level, from the whole level below
    tile_block(cur, sides[l - 1], grids_[l]);
    complete_level(l, cur, l == 1 ? &frames : nullptr);
    return;
  }
  if (has_grid_[last_replicated]) {
    copy_block_out(cur, grids_[last_replicated], block_.data());
  } else {
    std::int8_t* whole = scratch_[l % 2].data();
    upsample_level(*system_, cur, sides[l - 1], m, whole, seed_, static_cast<std::uint32_t>(l),
                   static_cast<std::uint64_t>(ancestors_[l]), frames);
    copy_block_out(whole, grids_[l], block_.data());
    relax_level(l);
    system_->after_relax(part_at(l), sides[l - 1], *sums_);
    ++l;
  }
  for (; l <= levels_; ++l) {
    upsample_blocks_in_place(block_.data(), dim, grids_[l - 1].block.extent, m);
    complete_level(l, nullptr, nullptr);  // no rank holds the small state whole
  }
}

void TeamSnapshot::tile_block(const std::int8_t* small, int Ls, const TeamGrid& grid) {
  // Voxel x of the block is small(x mod Ls), as sampling::upsample_tiles fills a whole
  // lattice (one byte per voxel: teams of several ranks move bytes).
  const Block& b = grid.block;
  const int dim = system_->dim();
  const Coord& o = b.origin;
  const Coord& n = b.extent;
  std::int8_t* out = block_.data();
  for (int x = 0; x < n[0]; ++x)
    for (int y = 0; y < n[1]; ++y) {
      // Unused trailing axes have extent 1 and contribute nothing to the source index.
      std::int64_t row = (o[0] + x) % Ls;
      if (dim >= 2) row = row * Ls + (o[1] + y) % Ls;
      if (dim == 3) row *= Ls;
      for (int z = 0; z < n[2]; ++z) *out++ = small[dim == 3 ? row + (o[2] + z) % Ls : row];
    }
}

void TeamSnapshot::complete_level(int l, const std::int8_t* small, const System::FramePool* pool) {
  const int Ls = hierarchy_.sides[l - 1];
  const LatticePart part = part_at(l);
  Rng rng({seed_, Purpose::upsample, static_cast<std::uint32_t>(l), static_cast<std::uint64_t>(ancestors_[l]), 0});
  system_->after_upsampling(part, Ls, small, rng, pool && pool->frames_per_run > 0 ? pool : nullptr, *sums_);
  relax_level(l);
  system_->after_relax(part, Ls, *sums_);
}

LatticePart TeamSnapshot::part_at(int l) {
  return LatticePart{block_.data(), system_->dim(), hierarchy_.sides[l], grids_[l].block};
}

void TeamSnapshot::relax_level(int l) {
  if (relax_[l])
    relax_[l]->run(*evolver_, block_.data(), seed_, static_cast<std::uint32_t>(l),
                   static_cast<std::uint64_t>(ancestors_[l]));
}

void TeamSnapshot::build_random(std::int64_t j) {
  if (grid_.size() != 1)
    throw std::logic_error("TeamSnapshot::build_random: random configurations need a team of one rank");
  Rng rng({seed_, Purpose::random_config, 0, static_cast<std::uint64_t>(j), 0});
  system_->random_configuration(block_.data(), static_cast<std::int64_t>(block_.size()) / vb_, rng);
}

void TeamSnapshot::partial_evolution(std::uint64_t seed, std::int64_t j, bool keep_states,
                                     std::vector<PairRecord>& out) {
  if (grid_.size() == 1) {
    sampling::partial_evolution(*system_, *evolver_, block_.data(), grid_.dec.L, partial_, seed, j, keep_states, out);
    return;
  }
  partial_team_->run(*evolver_, block_.data(), seed, j, keep_states, out);
}

void TeamSnapshot::partial_evolution(std::uint64_t seed, std::int64_t j, bool keep_states, std::size_t chunk,
                                     const std::function<void(const PairRecord*, std::size_t)>& each) {
  if (chunk < 1) throw std::invalid_argument("TeamSnapshot::partial_evolution: chunk must be at least 1");
  if (partial_team_) {
    partial_team_->run(*evolver_, block_.data(), seed, j, keep_states, chunk, each);
    return;
  }
  // One rank, `global` boundary (Curie-Weiss): the serial records, handed over in chunks.
  sampling::partial_evolution(*system_, *evolver_, block_.data(), grid_.dec.L, partial_, seed, j, keep_states, records_);
  for (std::size_t k = 0; k < records_.size(); k += chunk)
    each(records_.data() + k, std::min(chunk, records_.size() - k));
}

std::vector<std::int8_t> TeamSnapshot::gather_lattice() const {
  if (grid_.size() == 1) return block_;  // the block is the lattice (any voxel width)
  return mpi::gather_lattice(grid_, block_.data());
}

}  // namespace macrodyn::mpi
