#include "mpi/run/simulator.hpp"

#include <cstring>

#include "jobs/run_writer.hpp"
#include "learn/exported.hpp"
#include "mpi/check.hpp"

using namespace macrodyn::jobs;
using namespace macrodyn::sampling;
using namespace macrodyn::systems;

namespace macrodyn::mpi {

Simulator::Simulator(const Config& c, const System& system, MPI_Comm team, int team_index, int teams,
                     const Decomposition& dec)
    : c_(c), system_(system), comm_(team), team_(team_index), teams_(teams) {
  check_mpi(MPI_Comm_rank(team, &team_rank_), "MPI_Comm_rank");
  // The small runs, exactly as generate computes them (jobs/run_writer.hpp).
  {
    std::vector<std::unique_ptr<Evolver>> evolvers;
    for (int t = 0; t < c.resolved_threads(); ++t) evolvers.push_back(system.make_evolver());
    pool_ = small_pool(c, system, evolvers);
  }
  pool_count_ = c.small_runs * c.small_frames();

  const HierarchySpec h = hierarchy_spec(c);
  const PartialSpec ps{c.patch, c.partial_boundary, c.pairs, c.partial_events};
  snap_ = std::make_unique<TeamSnapshot>(team, system, h, ps, c.seed, c.snapshots, dec);

  layout_.ds = system.num_observables();
  const bool closure = c.has_closure() && c.learn_closure_dim > 0;
  layout_.d = layout_.ds + (closure ? c.learn_closure_dim : 0);
  layout_.ps = closure ? ipow(c.patch, system.dim()) * system.state_layout().voxel_bytes() : 0;
  row_.assign(layout_.bytes(), 0);
  if (closure) my_patches_ = dec.patches(team_rank_);  // only snapshot_closure needs them
}

Simulator::~Simulator() = default;

std::int64_t Simulator::pairs_per_snapshot() const {
  return c_.pairs == PairsMode::one ? 1 : ipow(c_.large_side / c_.patch, system_.dim());
}

std::vector<std::int64_t> Simulator::my_snapshots(std::int64_t n) const {
  std::vector<std::int64_t> js;
  for (std::int64_t j = team_; j < n; j += teams_) js.push_back(j);
  return js;
}

void Simulator::snapshot(std::int64_t j, const std::function<void(std::int64_t, const std::int8_t*)>& emit) {
  snap_->build(j, pool_.data(), pool_count_);
  const auto whole = snap_->gather_lattice();
  if (team_rank_ == 0) emit(j, whole.data());
}

void Simulator::snapshot_closure(const learn::ExportedEncoder& enc, std::vector<double>& phi_hat) {
  // The patches this rank owns, copied out of its block (with one rank, the lattice).
  const int p = c_.patch, cdim = enc.closure_dim(), dim = system_.dim(), vb = enc.voxel_bytes();
  const Block& b = snap_->block_geometry();
  const Tiling tiling{dim, c_.large_side, p};
  const std::int64_t bytes = ipow(p, dim) * vb, mine = static_cast<std::int64_t>(my_patches_.size());
  patches_.resize(static_cast<std::size_t>(mine * bytes));
  const std::size_t row = static_cast<std::size_t>(p) * static_cast<std::size_t>(vb);  // one patch row, bytes
  for (std::int64_t k = 0; k < mine; ++k) {
    Coord o = tiling.origin(my_patches_[static_cast<std::size_t>(k)]);
    for (int a = 0; a < dim; ++a) o[a] -= b.origin[a];  // inside the block (row-major, extents b.extent)
    std::int8_t* out = patches_.data() + k * bytes;
    const std::int8_t* x = snap_->block();
    if (dim == 1) std::memcpy(out, x + static_cast<std::int64_t>(o[0]) * vb, row);
    if (dim == 2)
      for (int i = 0; i < p; ++i)
        std::memcpy(out + i * row, x + (static_cast<std::int64_t>(o[0] + i) * b.extent[1] + o[1]) * vb, row);
    if (dim == 3)
      for (int i = 0; i < p; ++i)
        for (int j = 0; j < p; ++j)
          std::memcpy(out + (i * p + j) * row,
                      x + ((static_cast<std::int64_t>(o[0] + i) * b.extent[1] + o[1] + j) * b.extent[2] + o[2]) * vb, row);
  }
  codes_.resize(static_cast<std::size_t>(mine * cdim));
  enc.encode_voxels(reinterpret_cast<const std::uint8_t*>(patches_.data()), mine, codes_.data());
  // Gather on team rank 0 in patch order, sum there in double, broadcast.
  int size = 1;
  check_mpi(MPI_Comm_size(comm_, &size), "MPI_Comm_size");
  const std::int64_t K = tiling.patches();
  counts_.assign(static_cast<std::size_t>(size), 0);
  displs_.assign(static_cast<std::size_t>(size), 0);
  const Decomposition& dec = snap_->decomposition();
  for (int r = 0; r < size; ++r) counts_[static_cast<std::size_t>(r)] = mpi_count(dec.patches_per_rank() * cdim, "codes");
  for (int r = 1; r < size; ++r) displs_[static_cast<std::size_t>(r)] = displs_[static_cast<std::size_t>(r - 1)] + counts_[static_cast<std::size_t>(r - 1)];
  if (team_rank_ == 0) all_codes_.resize(static_cast<std::size_t>(K * cdim));
  check_mpi(MPI_Gatherv(codes_.data(), mpi_count(mine * cdim, "codes"), MPI_FLOAT, all_codes_.data(), counts_.data(),
                        displs_.data(), MPI_FLOAT, 0, comm_),
            "MPI_Gatherv");
  phi_hat.assign(static_cast<std::size_t>(cdim), 0.0);
  if (team_rank_ == 0) {
    // Rank r's k-th patch sits at displs[r] / cdim + k; sum in patch-index order.
    std::vector<std::int64_t> at(static_cast<std::size_t>(K));
    for (int r = 0; r < size; ++r) {
      const auto ps = dec.patches(r);
      for (std::size_t k = 0; k < ps.size(); ++k)
        at[static_cast<std::size_t>(ps[k])] = displs_[static_cast<std::size_t>(r)] / cdim + static_cast<std::int64_t>(k);
    }
    for (std::int64_t I = 0; I < K; ++I)
      for (int q = 0; q < cdim; ++q)
        phi_hat[static_cast<std::size_t>(q)] += all_codes_[static_cast<std::size_t>(at[static_cast<std::size_t>(I)] * cdim + q)];
    for (auto& v : phi_hat) v /= static_cast<double>(K);
  }
  check_mpi(MPI_Bcast(phi_hat.data(), cdim, MPI_DOUBLE, 0, comm_), "MPI_Bcast");
}

void Simulator::pairs(std::int64_t j, const learn::ExportedEncoder* enc,
                      const std::function<void(const unsigned char*)>& emit) {
  if (j < c_.snapshots) snap_->build(j, pool_.data(), pool_count_);
  else snap_->build_random(j);
  const bool closure = enc != nullptr;
  std::vector<double> phi_hat;
  const int cdim = closure ? enc->closure_dim() : 0;
  if (closure) snapshot_closure(*enc, phi_hat);  // collective, before the records
  const int ds = layout_.ds;
  const std::int64_t per = pairs_per_snapshot();
  // Records come in reused chunks: memory O(kRecordChunk), not O(patches per rank).
  constexpr std::size_t kRecordChunk = 4096;
  snap_->partial_evolution(c_.seed, j, closure, kRecordChunk, [&](const PairRecord* recs, std::size_t n) {
    if (closure) {
      // Codes of the chunk's patches before and after, in one call.
      const std::int64_t bytes = layout_.ps;
      patches_.resize(2 * n * static_cast<std::size_t>(bytes));
      for (std::size_t i = 0; i < n; ++i) {
        std::memcpy(patches_.data() + 2 * i * bytes, recs[i].patch_before.data(), static_cast<std::size_t>(bytes));
        std::memcpy(patches_.data() + (2 * i + 1) * bytes, recs[i].patch_after.data(), static_cast<std::size_t>(bytes));
      }
      record_codes_.resize(2 * n * static_cast<std::size_t>(cdim));
      enc->encode_voxels(reinterpret_cast<const std::uint8_t*>(patches_.data()), static_cast<std::int64_t>(2 * n),
                         record_codes_.data());
    }
    for (std::size_t i = 0; i < n; ++i) {
      const PairRecord& r = recs[i];
      PairRowView v{&layout_, row_.data()};
      const std::int64_t id = c_.pairs == PairsMode::one ? j : j * per + r.patch_index;
      v.set_ids(id, j, r.patch_index, r.dt);
      v.set_weight(r.weight);
      const auto w = static_cast<float>(r.weight);
      for (int k = 0; k < ds; ++k) {
        const auto zs = static_cast<float>(r.z_star[static_cast<std::size_t>(k)]);
        const auto gb = static_cast<float>(r.g_before[static_cast<std::size_t>(k)]);
        const auto ga = static_cast<float>(r.g_after[static_cast<std::size_t>(k)]);
        v.zs()[k] = zs;
        v.gb()[k] = gb;
        v.ga()[k] = ga;
        // The arithmetic of encode_pairs (lib/jobs/latent.cpp), in float.
        v.z0()[k] = zs;
        v.z1()[k] = zs + w * (ga - gb);
        v.z1n()[k] = ga;
      }
      for (int q = 0; q < cdim; ++q) {
        const auto z = static_cast<float>(phi_hat[static_cast<std::size_t>(q)]);
        const float cb = record_codes_[2 * i * static_cast<std::size_t>(cdim) + static_cast<std::size_t>(q)];
        const float ca = record_codes_[(2 * i + 1) * static_cast<std::size_t>(cdim) + static_cast<std::size_t>(q)];
        v.z0()[ds + q] = z;
        v.z1()[ds + q] = z + w * (ca - cb);
        v.z1n()[ds + q] = ca;
      }
      if (layout_.ps > 0) {
        std::memcpy(v.pb(), r.patch_before.data(), static_cast<std::size_t>(layout_.ps));
        std::memcpy(v.pa(), r.patch_after.data(), static_cast<std::size_t>(layout_.ps));
      }
      emit(row_.data());
    }
  });
}

}  // namespace macrodyn::mpi
