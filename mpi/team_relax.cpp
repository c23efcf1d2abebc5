#include "mpi/team_relax.hpp"

#include <algorithm>

#include "mpi/check.hpp"

using namespace macrodyn::sampling;
using namespace macrodyn::systems;

namespace macrodyn::mpi {

namespace {
constexpr int kWriteBackTag = 100;  // + offset index; the halo exchange uses 0..26

// The colour of window a of per_axis along one axis, as relax_phases assigns it.
int colour_of(int a, int per_axis) {
  if (per_axis % 2 == 1 && per_axis > 1 && a == per_axis - 1) return 2;
  return a % 2;
}
}  // namespace

bool TeamRelax::distributable(const Decomposition& level, const RelaxSpec& spec, int ring) {
  if (spec.boundary == Boundary::global || spec.stride < 1 || level.L % spec.stride != 0 ||
      2 * spec.stride < spec.window || spec.offset < 0 || spec.offset >= spec.stride || ring < 1)
    return false;
  for (int d = 0; d < level.dim; ++d)
    if (level.L % level.ranks_per_axis[d] != 0 || level.extent(d) < spec.window - 1 + ring) return false;
  return true;
}

Coord TeamRelax::offset_of(int k) const {
  Coord c{0, 0, 0};
  for (int d = 0; d < grid_.dim(); ++d) c[d] = (k >> d) & 1;
  return c;
}

TeamRelax::TeamRelax(const TeamGrid& grid, const RelaxSpec& spec, int ring)
    : grid_(grid), spec_(spec), ring_(ring) {
  if (!distributable(grid.dec, spec, ring))
    throw std::invalid_argument("TeamRelax: this level cannot be relaxed distributed on this rank grid");
  const int dim = grid.dim(), w = spec.window;
  events_ = spec.events ? spec.events : static_cast<std::uint64_t>(ipow(w, dim));
  const int offsets = 1 << dim;
  const Coord& E = grid.block.extent;
  const Coord& P = grid.dec.ranks_per_axis;

  // The windows of relax_phases, axis by axis: window a has origin a * stride + offset
  // (below L: the offset is below the stride); it belongs to the rank whose block holds
  // its origin, and reaches into the next block (periodically) when it passes the
  // block's end (never further: the extent is at least w).
  per_axis_ = grid.dec.L / spec.stride;
  const int colours = per_axis_ == 1 ? 1 : (per_axis_ % 2 == 0 ? 2 : 3);
  for (int d = 0; d < dim; ++d)
    for (int a = 0; a < per_axis_; ++a) {
      const int origin = a * spec.stride + spec.offset, owner = origin / E[d], o = origin - owner * E[d];
      const int c = colour_of(a, per_axis_);
      if (owner == grid.coords[d]) own_[d][c].push_back(AxisWindow{a, o});
      if ((owner + 1) % P[d] == grid.coords[d] && o + w > E[d]) behind_[d][c].push_back(AxisWindow{a, o});
    }

  // Sub-boxes of a phase's windows that lie in the block at offset k from their owner
  // (send: this rank's windows, in its coordinates, reaching into the ring above;
  // receive: the windows of the rank at offset -k, in this rank's coordinates). Both
  // sides list them in raster order of the windows, so they pair up.
  auto boxes = [&](const Coord& colour, int k, bool receive, std::vector<Box>& out) {
    const Coord delta = offset_of(k);
    std::array<const std::vector<AxisWindow>*, 3> lists{};
    std::array<std::vector<AxisWindow>, 3> crossing;
    static const std::vector<AxisWindow> single{AxisWindow{0, 0}};
    for (int d = 0; d < 3; ++d) {
      if (d >= dim) {
        lists[d] = &single;
        continue;
      }
      const auto& from = (receive && delta[d] == 1) ? behind_[d][colour[d]] : own_[d][colour[d]];
      if (delta[d] == 0) {
        lists[d] = &from;
        continue;
      }
      for (const AxisWindow& aw : from)
        if (aw.o + w > E[d]) crossing[d].push_back(aw);
      lists[d] = &crossing[d];
    }
    auto axis_box = [&](int d, const AxisWindow& aw, int& o, int& n) {
      if (d >= dim) {
        o = 0;
        n = 1;
      } else if (delta[d] == 0) {
        o = aw.o;
        n = std::min(aw.o + w, E[d]) - aw.o;
      } else {
        o = receive ? 0 : E[d];
        n = aw.o + w - E[d];
      }
    };
    for (const AxisWindow& a0 : *lists[0])
      for (const AxisWindow& a1 : *lists[1])
        for (const AxisWindow& a2 : *lists[2]) {
          Box box;
          axis_box(0, a0, box.o[0], box.n[0]);
          axis_box(1, a1, box.o[1], box.n[1]);
          axis_box(2, a2, box.o[2], box.n[2]);
          out.push_back(box);
        }
  };

  std::int64_t max_mine = 0, max_send = 0, max_recv = 0;
  const std::int64_t phases = ipow(colours, dim);
  for (std::int64_t ph = 0; ph < phases; ++ph) {
    Phase phase;
    std::int64_t r = ph;
    for (int d = dim - 1; d >= 0; --d, r /= colours) phase.colour[d] = static_cast<int>(r % colours);
    phase.mine = 1;
    for (int d = 0; d < dim; ++d) phase.mine *= static_cast<std::int64_t>(own_[d][phase.colour[d]].size());
    for (int k = 1; k < offsets; ++k) {
      boxes(phase.colour, k, false, phase.send[k]);
      boxes(phase.colour, k, true, phase.recv[k]);
      for (const Box& b : phase.send[k]) phase.send_sites[k] += static_cast<std::int64_t>(b.n[0]) * b.n[1] * b.n[2];
      for (const Box& b : phase.recv[k]) phase.recv_sites[k] += static_cast<std::int64_t>(b.n[0]) * b.n[1] * b.n[2];
    }
    max_mine = std::max(max_mine, phase.mine);
    std::int64_t s = 0, rs = 0;
    for (int k = 0; k < offsets; ++k) s += phase.send_sites[k], rs += phase.recv_sites[k];
    max_send = std::max(max_send, s);
    max_recv = std::max(max_recv, rs);
    phases_.push_back(std::move(phase));
  }

  halo_.configure(grid, ring, w - 1 + ring);
  const bool frozen = spec.boundary == Boundary::frozen;
  const int side = frozen ? w + 2 * ring : w;
  tile_.resize(static_cast<std::size_t>(ipow(side, dim)));
  if (frozen) {
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(tile_.size()); ++i) {
      std::int64_t q = i;
      bool in_ring = false;
      for (int d = 0; d < dim; ++d, q /= side) in_ring |= q % side < ring || q % side >= side - ring;
      if (in_ring) ring_index_.push_back(i);
    }
    rings_.resize(static_cast<std::size_t>(max_mine) * ring_index_.size());
  }
  send_.resize(static_cast<std::size_t>(max_send));
  recv_.resize(static_cast<std::size_t>(max_recv));
  requests_.reserve(2 * kOffsets);
}

template <class F>
void TeamRelax::for_each_window(const Phase& phase, F&& f) const {
  const int dim = grid_.dim();
  static const std::vector<AxisWindow> single{AxisWindow{0, 0}};
  const auto& l0 = own_[0][phase.colour[0]];
  const auto& l1 = own_[1][phase.colour[1]];
  const auto& l2 = dim == 3 ? own_[2][phase.colour[2]] : single;
  const auto n = static_cast<std::uint64_t>(per_axis_);
  std::size_t k = 0;
  for (const AxisWindow& a0 : l0)
    for (const AxisWindow& a1 : l1)
      for (const AxisWindow& a2 : l2) {
        // Raster id over all windows of the level, as relax_phases numbers them.
        std::uint64_t id = static_cast<std::uint64_t>(a0.a) * n + static_cast<std::uint64_t>(a1.a);
        if (dim == 3) id = id * n + static_cast<std::uint64_t>(a2.a);
        f(Coord{a0.o, a1.o, dim == 3 ? a2.o : 0}, static_cast<std::uint32_t>(id), k++);
      }
}

void TeamRelax::run(Evolver& evolver, std::int8_t* block, std::uint64_t seed, std::uint32_t level,
                    std::uint64_t item) {
  const int w = spec_.window;
  const bool frozen = spec_.boundary == Boundary::frozen;
  const int r = ring_;
  const Coord wbox{w, w, w}, tbox{w + 2 * r, w + 2 * r, w + 2 * r};
  const std::size_t R = ring_index_.size();
  for (const Phase& phase : phases_) {
    halo_.exchange(block);
    if (frozen)  // the phase-start rings, before any window of this phase changes them
      for_each_window(phase, [&](const Coord& o, std::uint32_t, std::size_t k) {
        halo_.read_box(block, Coord{o[0] - r, o[1] - r, o[2] - r}, tbox, tile_.data());
        std::int8_t* ring = rings_.data() + k * R;
        for (std::size_t i = 0; i < R; ++i) ring[i] = tile_[static_cast<std::size_t>(ring_index_[i])];
      });
    for_each_window(phase, [&](const Coord& o, std::uint32_t id, std::size_t k) {
      if (frozen) {
        halo_.read_box(block, Coord{o[0] - r, o[1] - r, o[2] - r}, tbox, tile_.data());
        const std::int8_t* ring = rings_.data() + k * R;
        for (std::size_t i = 0; i < R; ++i) tile_[static_cast<std::size_t>(ring_index_[i])] = ring[i];
        // The tile is its own stage copy: its ring holds the phase-start neighbours.
        evolver.load(tile_.data(), w + 2 * r, Coord{r, r, r}, w, Boundary::frozen, tile_.data());
      } else {
        halo_.read_box(block, o, wbox, tile_.data());
        evolver.load(tile_.data(), w, Coord{0, 0, 0}, w, Boundary::periodic, nullptr);
      }
      Rng rng({seed, Purpose::relax, level, item, id});
      evolver.run_events(events_, rng);
      halo_.write_box(block, o, wbox, evolver.box());
    });
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
