#pragma once
// The simulator role of `macrodyn run` (docs/design.md §6): a team builds its large snapshots
// (team t takes snapshots t, t + T, t + 2T, ...), partially evolves them and turns the
// pairs into rows: whole snapshots for the closure autoencoder (phase A, team rank 0)
// and latent pair rows (phase B, every rank for the patches it owns).
#include <mpi.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "jobs/config.hpp"
#include "mpi/run/pair_row.hpp"
#include "mpi/team_snapshot.hpp"
#include "systems/system.hpp"

namespace macrodyn {
namespace learn {
class ExportedEncoder;
}
namespace mpi {

class Simulator {
 public:
  // Computes the small runs (every simulator rank holds their frames: they are small).
  Simulator(const jobs::Config& c, const systems::System& system, MPI_Comm team, int team_index, int teams,
            const Decomposition& dec);
  ~Simulator();

  // Snapshot ids of this team among [0, n), in the order it works on them.
  std::vector<std::int64_t> my_snapshots(std::int64_t n) const;
  // Rounds every team goes through for n snapshots (teams without work in the last
  // round still take part in the collectives of co-located learners).
  std::int64_t rounds(std::int64_t n) const { return (n + teams_ - 1) / teams_; }
  // Snapshot of this team in round r, or -1.
  std::int64_t snapshot_of_round(std::int64_t r, std::int64_t n) const {
    const std::int64_t j = r * teams_ + team_;
    return j < n ? j : -1;
  }

  // Phase A: builds snapshot j; on team rank 0 `emit` gets the whole lattice (side
  // large.side <= 128 here, so gathering it is cheap). Collective over the team.
  void snapshot(std::int64_t j, const std::function<void(std::int64_t, const std::int8_t*)>& emit);

  // Phase B: builds snapshot j (upsampled, or random-magnetisation for j >=
  // large.snapshots), evolves its patch(es) and emits one row per pair this rank
  // evolved; `encoder` may be null (z = z*). Collective over the team.
  void pairs(std::int64_t j, const learn::ExportedEncoder* encoder,
             const std::function<void(const unsigned char*)>& emit);

  const PairRowLayout& layout() const { return layout_; }
  // The snapshot last built: this rank's block and where it sits in the lattice.
  const std::int8_t* block() const { return snap_->block(); }
  const Block& block_geometry() const { return snap_->block_geometry(); }
  std::int64_t pairs_per_snapshot() const;

 private:
  // Codes of every patch this rank owns (increasing index) -> phi_hat of the snapshot,
  // summed in patch order on team rank 0 (double) and broadcast.
  void snapshot_closure(const learn::ExportedEncoder& enc, std::vector<double>& phi_hat);

  const jobs::Config& c_;
  const systems::System& system_;
  MPI_Comm comm_;
  int team_rank_ = 0;
  int team_, teams_;
  std::vector<std::int8_t> pool_;
  std::int64_t pool_count_ = 0;
  std::unique_ptr<TeamSnapshot> snap_;
  PairRowLayout layout_;
  std::vector<unsigned char> row_;
  // Closure scratch.
  std::vector<std::int64_t> my_patches_;
  std::vector<std::int8_t> patches_;
  std::vector<float> codes_, all_codes_, record_codes_;
  std::vector<int> counts_, displs_;
};

}  // namespace mpi
}  // namespace macrodyn
