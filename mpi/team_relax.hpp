#pragma once
// Distributed LOCALRELAX of one level (docs/design.md §6.3), bit-identical to the serial
// local_relax: the same colour phases and windows (relax_phases), the same
// Philox streams WorkItem{seed, relax, level, item, window id}, the same Evolver.
//
// A window belongs to the rank that owns its origin. Per phase:
//   1. halo exchange (r sites below, w - 1 + r above, corners included; r = the
//      system's interaction range), so every window this rank owns, and its r-site
//      ring, can be read;
//   2. `frozen`: the rings of this phase's windows are saved first, so every window sees
//      its neighbours as they were when the phase started, whatever this rank evolved
//      before it (the serial code reads them from its stage copy);
//   3. each window is copied into a (w+2r)^D tile (w^D for `periodic`), evolved, and
//      written back into the block and the ring slabs;
//   4. the sites of windows that reach into a neighbour's block go back to their owner.
// Windows of one phase never overlap, so this equals the serial result bit for bit.
#include <array>
#include <cstdint>
#include <vector>

#include "mpi/team_grid.hpp"
#include "mpi/team_halo.hpp"
#include "sampling/local_relax.hpp"
#include "systems/system.hpp"

namespace macrodyn::mpi {

class TeamRelax {
 public:
  // Whether a level can be relaxed distributed on this grid: every block extent is at
  // least the window plus the ring above it (w - 1 + ring), the stride divides the side,
  // the offset is below the stride and windows of one colour phase are disjoint
  // (2 * stride >= window). `spec` is the
  // level's spec (relax_at_level); `ring` the system's interaction range.
  static bool distributable(const Decomposition& level, const sampling::RelaxSpec& spec, int ring);

  // Builds the plan (this rank's windows per phase and what goes to which neighbour).
  // grid: this level's side; spec and ring as for distributable(), which must hold.
  // spec.events = 0 stands for w^D events per window (local_relax takes the system's
  // events_per_sweep: TeamSnapshot passes that).
  TeamRelax(const TeamGrid& grid, const sampling::RelaxSpec& spec, int ring);

  // Relaxes this rank's block in place; collective over the team.
  void run(systems::Evolver& evolver, std::int8_t* block, std::uint64_t seed, std::uint32_t level, std::uint64_t item);

 private:
  struct Box {
    Coord o, n;  // block coordinates
  };
  // A window along one axis: its index a (window origin a * stride) and its origin in
  // its owner's block coordinates. A rank's windows of a phase are the Cartesian
  // product of its per-axis lists, so the plan costs O(block side / stride) per axis,
  // not O(windows): a 16384^2 level has 4 M windows, 64 MB as a list.
  struct AxisWindow {
    int a, o;
  };
  static constexpr int kOffsets = 8;  // offsets in {0, 1}^D toward the + neighbours; 0 = self
  struct Phase {
    Coord colour{0, 0, 0};  // per axis
    std::int64_t mine = 0;  // windows this rank owns
    std::array<std::vector<Box>, kOffsets> send, recv;  // sub-boxes of windows crossing blocks
    std::array<std::int64_t, kOffsets> send_sites{}, recv_sites{};
  };
  // Calls f(origin in block coordinates, window id, k) for the k-th window of the phase
  // this rank owns, in raster order (increasing id).
  template <class F>
  void for_each_window(const Phase& phase, F&& f) const;
  Coord offset_of(int k) const;
  void write_back(const Phase& phase, std::int8_t* block);

  TeamGrid grid_;
  sampling::RelaxSpec spec_;
  int ring_ = 1;  // width of a `frozen` window's ring: the interaction range
  std::uint64_t events_ = 0;
  int per_axis_ = 0;  // windows per axis of the level
  // Per axis and colour: this rank's windows, and those of the rank behind (grid
  // coordinate - 1) that reach past its block into this one.
  std::array<std::array<std::vector<AxisWindow>, 3>, 3> own_, behind_;
  std::vector<Phase> phases_;
  Halo<std::int8_t> halo_;
  std::vector<std::int64_t> ring_index_;  // tile indices of the ring sites (frozen)
  std::vector<std::int8_t> tile_, rings_, send_, recv_;
  std::vector<MPI_Request> requests_;
};

}  // namespace macrodyn::mpi
