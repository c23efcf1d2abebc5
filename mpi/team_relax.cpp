#include "mpi/team_relax.hpp"

#include <algorithm>

#include "mpi/team_check.hpp"

namespace macrodyn::mpi {

namespace {
constexpr int kWriteBackTag = 100;  // + offset index; the halo exchange uses 0..26
}

bool TeamRelax::distributable(const Decomposition& level, const RelaxSpec& spec) {
  if (spec.boundary == Boundary::global || spec.stride < 1 || level.L % spec.stride != 0 ||
      2 * spec.stride < spec.window)
    return false;
  for (int d = 0; d < level.dim; ++d)
    if (level.L % level.ranks_per_axis[d] != 0 || level.extent(d) < spec.window) return false;
  return true;
}

Coord TeamRelax::offset_of(int k) const {
  Coord c{0, 0, 0};
  for (int d = 0; d < grid_.dim(); ++d) c[d] = (k >> d) & 1;
  return c;
}

TeamRelax::TeamRelax(const TeamGrid& grid, const RelaxSpec& spec) : grid_(grid), spec_(spec) {
  if (!distributable(grid.dec, spec))
    throw std::invalid_argument("TeamRelax: this level cannot be relaxed distributed on this rank grid");
  const int dim = grid.dim(), w = spec.window;
  events_ = spec.events ? spec.events : static_cast<std::uint64_t>(ipow(w, dim));
  const int offsets = 1 << dim;
  const Coord& E = grid.block.extent;
  const Coord& P = grid.dec.ranks_per_axis;

  // Sub-box of a window (origin o in its owner's block coordinates) that lies in the
  // block at offset k from its owner, in the owner's coordinates (reaching into the
  // ring above). False when the window does not reach that block.
  auto part = [&](const Coord& o, int k, Box& box) {
    const Coord delta = offset_of(k);
    box.o = Coord{0, 0, 0};
    box.n = Coord{1, 1, 1};
    for (int d = 0; d < dim; ++d) {
      if (delta[d] == 0) {
        box.o[d] = o[d];
        box.n[d] = std::min(o[d] + w, E[d]) - o[d];
      } else {
        if (o[d] + w <= E[d]) return false;
        box.o[d] = E[d];
        box.n[d] = o[d] + w - E[d];
      }
    }
    return true;
  };

  std::size_t max_mine = 0;
  std::int64_t max_send = 0, max_recv = 0;
  for (const auto& windows : relax_phases(dim, grid.dec.L, spec.stride)) {
    Phase phase;
    for (const RelaxWindow& win : windows) {
      Coord owner{0, 0, 0}, o{0, 0, 0};
      for (int d = 0; d < dim; ++d) {
        owner[d] = win.origin[d] / E[d];
        o[d] = win.origin[d] - owner[d] * E[d];
      }
      const bool mine = owner == grid.coords;
      if (mine) phase.mine.push_back(Window{o, win.id});
      for (int k = 1; k < offsets; ++k) {
        Box box;
        if (!part(o, k, box)) continue;
        const std::int64_t sites = static_cast<std::int64_t>(box.n[0]) * box.n[1] * box.n[2];
        if (mine) {
          phase.send[k].push_back(box);
          phase.send_sites[k] += sites;
        }
        // Windows of the rank at offset -k reach into this block: receive their part,
        // which lies at the same coordinates less the extent on the crossed axes.
        const Coord delta = offset_of(k);
        bool from_behind = true;
        for (int d = 0; d < dim; ++d) from_behind &= (owner[d] + delta[d]) % P[d] == grid.coords[d];
        if (!from_behind) continue;
        for (int d = 0; d < dim; ++d) box.o[d] -= delta[d] * E[d];
        phase.recv[k].push_back(box);
        phase.recv_sites[k] += sites;
      }
    }
    max_mine = std::max(max_mine, phase.mine.size());
    std::int64_t s = 0, r = 0;
    for (int k = 0; k < offsets; ++k) s += phase.send_sites[k], r += phase.recv_sites[k];
    max_send = std::max(max_send, s);
    max_recv = std::max(max_recv, r);
    phases_.push_back(std::move(phase));
  }

  halo_.configure(grid, 1, w);
  const bool frozen = spec.boundary == Boundary::frozen;
  const int side = frozen ? w + 2 : w;
  tile_.resize(static_cast<std::size_t>(ipow(side, dim)));
  if (frozen) {
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(tile_.size()); ++i) {
      std::int64_t r = i;
      bool ring = false;
      for (int d = 0; d < dim; ++d, r /= side) ring |= r % side == 0 || r % side == side - 1;
      if (ring) ring_index_.push_back(i);
    }
    rings_.resize(max_mine * ring_index_.size());
  }
  send_.resize(static_cast<std::size_t>(max_send));
  recv_.resize(static_cast<std::size_t>(max_recv));
  requests_.reserve(2 * kOffsets);
}

void TeamRelax::run(Evolver& evolver, std::int8_t* block, std::uint64_t seed, std::uint32_t level,
                    std::uint64_t item) {
  const int w = spec_.window;
  const bool frozen = spec_.boundary == Boundary::frozen;
  const Coord wbox{w, w, w}, tbox{w + 2, w + 2, w + 2};
  const std::size_t R = ring_index_.size();
  for (const Phase& phase : phases_) {
    halo_.exchange(block);
    if (frozen)  // the phase-start rings, before any window of this phase changes them
      for (std::size_t k = 0; k < phase.mine.size(); ++k) {
        const Coord& o = phase.mine[k].o;
        halo_.read_box(block, Coord{o[0] - 1, o[1] - 1, o[2] - 1}, tbox, tile_.data());
        std::int8_t* ring = rings_.data() + k * R;
        for (std::size_t i = 0; i < R; ++i) ring[i] = tile_[static_cast<std::size_t>(ring_index_[i])];
      }
    for (std::size_t k = 0; k < phase.mine.size(); ++k) {
      const Window& win = phase.mine[k];
      const Coord& o = win.o;
      if (frozen) {
        halo_.read_box(block, Coord{o[0] - 1, o[1] - 1, o[2] - 1}, tbox, tile_.data());
        const std::int8_t* ring = rings_.data() + k * R;
        for (std::size_t i = 0; i < R; ++i) tile_[static_cast<std::size_t>(ring_index_[i])] = ring[i];
        // The tile is its own stage copy: its ring holds the phase-start neighbours.
        evolver.load(tile_.data(), w + 2, Coord{1, 1, 1}, w, Boundary::frozen, tile_.data());
      } else {
        halo_.read_box(block, o, wbox, tile_.data());
        evolver.load(tile_.data(), w, Coord{0, 0, 0}, w, Boundary::periodic, nullptr);
      }
      Rng rng({seed, Purpose::relax, level, item, win.id});
      evolver.run_events(events_, rng);
      halo_.write_box(block, o, wbox, evolver.box());
    }
    write_back(phase, block);
  }
}

void TeamRelax::write_back(const Phase& phase, std::int8_t* block) {
  const int offsets = 1 << grid_.dim();
  requests_.clear();
  std::int64_t at = 0;
  for (int k = 1; k < offsets; ++k) {
    if (phase.recv_sites[k] == 0) continue;
    const Coord d = offset_of(k);
    requests_.emplace_back();
    check_mpi(MPI_Irecv(recv_.data() + at, mpi_count(phase.recv_sites[k], "relax write-back"), MPI_INT8_T,
                        grid_.neighbour(Coord{-d[0], -d[1], -d[2]}), kWriteBackTag + k, grid_.comm,
                        &requests_.back()),
              "MPI_Irecv");
    at += phase.recv_sites[k];
  }
  at = 0;
  for (int k = 1; k < offsets; ++k) {
    if (phase.send_sites[k] == 0) continue;
    std::int8_t* out = send_.data() + at;
    std::int64_t n = 0;
    for (const Box& box : phase.send[k]) {
      halo_.read_box(block, box.o, box.n, out + n);
      n += static_cast<std::int64_t>(box.n[0]) * box.n[1] * box.n[2];
    }
    requests_.emplace_back();
    check_mpi(MPI_Isend(out, mpi_count(n, "relax write-back"), MPI_INT8_T, grid_.neighbour(offset_of(k)),
                        kWriteBackTag + k, grid_.comm, &requests_.back()),
              "MPI_Isend");
    at += n;
  }
  check_mpi(MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
  at = 0;
  for (int k = 1; k < offsets; ++k)
    for (const Box& box : phase.recv[k]) {
      halo_.write_box(block, box.o, box.n, recv_.data() + at);
      at += static_cast<std::int64_t>(box.n[0]) * box.n[1] * box.n[2];
    }
}

}  // namespace macrodyn::mpi
