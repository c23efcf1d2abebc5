// The team pipeline (docs/design.md §6.3): halo exchange, distributed LocalRelax, the whole
// snapshot build and partial evolution, each compared bit for bit with the serial code
// for every team size and rank grid that the world's ranks allow. Teams are carved out
// of MPI_COMM_WORLD with MPI_Comm_split; with several teams of one size, each builds
// different snapshots at the same time, as in a run.
#include <catch2/catch.hpp>
#include <mpi.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "core/decomposition.hpp"
#include "core/error.hpp"
#include "mpi/team_grid.hpp"
#include "mpi/team_halo.hpp"
#include "mpi/team_partial.hpp"
#include "mpi/team_relax.hpp"
#include "mpi/team_snapshot.hpp"
#include "sampling/hierarchy.hpp"
#include "systems/initial_state.hpp"
#include "sampling/local_relax.hpp"
#include "sampling/partial_evolution.hpp"
#include "systems/system.hpp"
#include "../unit/checker_system.hpp"

using namespace macrodyn::sampling;
using namespace macrodyn::systems;

using namespace macrodyn;
using namespace macrodyn::mpi;

namespace {

int world_size() {
  int n = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

// The world split into teams of `size` consecutive ranks; left-over ranks get none.
// Collective over MPI_COMM_WORLD.
struct Team {
  MPI_Comm comm = MPI_COMM_NULL;
  int index = -1;  // this rank's team
  int count = 0;   // number of teams
  explicit Team(int size) {
    count = world_size() / size;
    const int t = world_rank() / size;
    index = t < count ? t : -1;
    MPI_Comm_split(MPI_COMM_WORLD, index >= 0 ? index : MPI_UNDEFINED, world_rank(), &comm);
  }
  ~Team() {
    if (comm != MPI_COMM_NULL) MPI_Comm_free(&comm);
  }
  Team(const Team&) = delete;
  Team& operator=(const Team&) = delete;
  bool member() const { return comm != MPI_COMM_NULL; }
  int rank() const {
    int r = 0;
    MPI_Comm_rank(comm, &r);
    return r;
  }
};

// Rank grids of `size` ranks in `dim` dimensions to try (each is checked against the
// lattice by Decomposition::with_grid).
std::vector<std::array<int, 3>> grids_of(int dim, int size) {
  if (size == 1) return {{1, 1, 1}};
  if (size == 2) return dim == 2 ? std::vector<std::array<int, 3>>{{2, 1, 1}, {1, 2, 1}}
                                 : std::vector<std::array<int, 3>>{{2, 1, 1}, {1, 1, 2}};
  if (size == 4) return dim == 2 ? std::vector<std::array<int, 3>>{{2, 2, 1}, {4, 1, 1}, {1, 4, 1}}
                                 : std::vector<std::array<int, 3>>{{2, 2, 1}, {1, 2, 2}, {4, 1, 1}};
  return {};
}

std::vector<int> team_sizes() {
  std::vector<int> out;
  for (int t : {1, 2, 4})
    if (t <= world_size()) out.push_back(t);
  return out;
}

std::vector<std::int8_t> random_lattice(int dim, int L, std::uint64_t item) {
  std::vector<std::int8_t> x(static_cast<std::size_t>(ipow(L, dim)));
  Rng rng({77, Purpose::test, 0, item, 0});
  make_initial_state(x.data(), static_cast<std::int64_t>(x.size()), InitialKind::random_m0, 0.0, rng);
  return x;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

bool same_record(const PairRecord& a, const PairRecord& b) {
  return a.snapshot_id == b.snapshot_id && a.patch_index == b.patch_index &&
         std::memcmp(&a.weight, &b.weight, sizeof(double)) == 0 &&
         std::memcmp(&a.dt, &b.dt, sizeof(double)) == 0 && same_bits(a.z_star, b.z_star) &&
         same_bits(a.g_before, b.g_before) && same_bits(a.g_after, b.g_after) && a.patch_before == b.patch_before &&
         a.patch_after == b.patch_after;
}

// Every team record equals the serial record of its patch, and the team together
// yields exactly the serial records. Collective over the team.
void check_records(MPI_Comm comm, const std::vector<PairRecord>& team, const std::vector<PairRecord>& serial) {
  for (const PairRecord& r : team) {
    const PairRecord* match = nullptr;
    for (const PairRecord& s : serial)
      if (s.patch_index == r.patch_index) match = &s;
    CHECK(match != nullptr);  // not REQUIRE: the rest of the team would hang in the Allreduce
    if (match) CHECK(same_record(r, *match));
  }
  long mine = static_cast<long>(team.size()), total = 0;
  MPI_Allreduce(&mine, &total, 1, MPI_LONG, MPI_SUM, comm);
  CHECK(total == static_cast<long>(serial.size()));
}

// What `macrodyn generate` does (lib/jobs/generate.cpp): every intermediate level keeps
// `snapshots` snapshots, the pool of the next; returns the last level's snapshots.
std::vector<std::int8_t> serial_snapshots(const System& sys, const HierarchySpec& h, std::vector<std::int8_t> pool,
                                          std::int64_t pool_count, std::int64_t snapshots) {
  auto ev = sys.make_evolver();
  std::vector<std::int8_t> stage;
  const int levels = static_cast<int>(h.sides.size()) - 1;
  for (int level = 1; level <= levels; ++level) {
    const std::int64_t m = ipow(h.sides[level], sys.dim());
    std::vector<std::int8_t> next(static_cast<std::size_t>(snapshots * m));
    for (std::int64_t j = 0; j < snapshots; ++j)
      build_level_snapshot(sys, *ev, h, level, pool.data(), pool_count, j, next.data() + j * m, stage);
    pool.swap(next);
    pool_count = snapshots;
  }
  return pool;
}

}  // namespace

TEST_CASE("team halo exchange brings every periodic neighbour site, corners included", "[team]") {
  int configurations = 0;
  for (int size : team_sizes()) {
    Team team(size);
    if (!team.member()) continue;
    for (int dim : {2, 3})
      for (const auto& g : grids_of(dim, size)) {
        const int L = dim == 2 ? 16 : 8;
        const auto grid = make_team_grid(team.comm, Decomposition::with_grid(dim, L, 1, g));
        // Fill the block with global site indices.
        std::vector<std::int32_t> block(static_cast<std::size_t>(grid.block.sites()));
        const Coord E = grid.block.extent, O = grid.block.origin;
        auto global = [&](int x, int y, int z) {
          auto wrap = [L](int v) { return ((v % L) + L) % L; };
          return dim == 2 ? wrap(x) * L + wrap(y) : (wrap(x) * L + wrap(y)) * L + wrap(z);
        };
        for (int x = 0; x < E[0]; ++x)
          for (int y = 0; y < E[1]; ++y)
            for (int z = 0; z < E[2]; ++z)
              block[static_cast<std::size_t>((x * E[1] + y) * E[2] + z)] = global(O[0] + x, O[1] + y, O[2] + z);
        for (auto widths : {std::array<int, 2>{1, 4}, std::array<int, 2>{2, 1}}) {
          int hi = widths[1];
          for (int d = 0; d < dim; ++d) hi = std::min(hi, E[d]);
          const int lo = widths[0];
          Halo<std::int32_t> halo;
          halo.configure(grid, lo, hi);
          halo.exchange(block.data());
          Coord o{-lo, -lo, dim == 3 ? -lo : 0}, n{E[0] + lo + hi, E[1] + lo + hi, dim == 3 ? E[2] + lo + hi : 1};
          std::vector<std::int32_t> box(static_cast<std::size_t>(n[0]) * n[1] * n[2]);
          halo.read_box(block.data(), o, n, box.data());
          int wrong = 0;
          for (int x = 0; x < n[0]; ++x)
            for (int y = 0; y < n[1]; ++y)
              for (int z = 0; z < n[2]; ++z)
                wrong += box[static_cast<std::size_t>((x * n[1] + y) * n[2] + z)] !=
                         global(O[0] + o[0] + x, O[1] + o[1] + y, O[2] + o[2] + z);
          INFO("dim " << dim << " grid " << g[0] << "x" << g[1] << "x" << g[2] << " lo " << lo << " hi " << hi);
          CHECK(wrong == 0);
          ++configurations;
        }
      }
  }
  CHECK(configurations > 0);
}

TEST_CASE("team LocalRelax of one level equals the serial local_relax", "[team]") {
  struct Case {
    int dim, L, window, stride;
  };
  // 2D with 2 and 3 colours per axis (40 / 8 = 5 windows per axis), and 3D.
  const Case cases[] = {{2, 32, 8, 4}, {2, 40, 16, 8}, {3, 16, 8, 4}};
  int compared = 0;
  for (int size : team_sizes()) {
    Team team(size);
    if (!team.member()) continue;
    for (const Case& c : cases)
      for (Boundary b : {Boundary::periodic, Boundary::frozen})
        // ring 2: the halo and a frozen window's ring as a range-2 system needs them; the
        // Ising evolver reads only the inner layer, so the result is still the serial one.
        for (int ring : {1, 2})
        for (const auto& g : grids_of(c.dim, size)) {
          const auto dec = Decomposition::with_grid(c.dim, c.L, 1, g);
          const RelaxSpec spec{c.window, c.stride, 0, b};
          if (!TeamRelax::distributable(dec, spec, ring)) continue;
          const auto sys = make_system(c.dim == 2 ? "ising2d" : "ising3d", SystemParams{{"T", 2.3}, {"h", 0.05}});
          auto ev = sys->make_evolver();
          const auto start = random_lattice(c.dim, c.L, static_cast<std::uint64_t>(c.L + c.dim));
          auto serial = start;
          std::vector<std::int8_t> stage;
          local_relax(*sys, *ev, serial.data(), c.L, spec, 11, 2, 5, stage);

          const auto grid = make_team_grid(team.comm, dec);
          std::vector<std::int8_t> block(static_cast<std::size_t>(grid.block.sites()));
          copy_block_out(start.data(), grid, block.data());
          TeamRelax relax(grid, spec, ring);
          relax.run(*ev, block.data(), 11, 2, 5);
          const auto whole = gather_lattice(grid, block.data());
          if (team.rank() == 0) {
            INFO("dim " << c.dim << " L " << c.L << " " << to_string(b) << " ring " << ring << " grid " << g[0] << "x"
                        << g[1] << "x" << g[2]);
            CHECK(whole == serial);
            CHECK(whole != start);
            ++compared;
          }
        }
  }
  if (world_rank() == 0) CHECK(compared > 0);
}

namespace {

struct BuildCase {
  const char* system;
  std::vector<int> sides;
  int factor, window, stride, patch;
  Boundary relax, partial;
  PairsMode pairs;
  int offset = 0;                  // of the relax windows
  std::uint64_t relax_events = 0;  // per window (0: a sweep)
  std::uint64_t partial_events = 0;
};

// `count` small frames of side L, the system's random configurations (+-1 spins for the
// Ising models, random equimolar alloys).
std::vector<std::int8_t> random_pool(const System& sys, int L, std::int64_t count) {
  const std::int64_t n = ipow(L, sys.dim());
  std::vector<std::int8_t> pool(static_cast<std::size_t>(count * n));
  for (std::int64_t k = 0; k < count; ++k) {
    Rng rng({77, Purpose::test, 0, static_cast<std::uint64_t>(100 + k), 0});
    sys.random_configuration(pool.data() + k * n, n, rng);
  }
  return pool;
}

// Builds every snapshot with every team of every size and grid, and compares the
// lattice and the partial-evolution records with the serial path. The small pool is
// `given_pool` (frames of side sides[0]; frames_per_run > 0: trajectories of that many
// frames) or 5 random configurations of the system. Returns how many (snapshot,
// configuration) comparisons this rank took part in.
int check_builds(const BuildCase& c, std::int64_t snapshots, const System* given = nullptr,
                 const std::vector<std::int8_t>* given_pool = nullptr, std::int64_t frames_per_run = 0) {
  std::unique_ptr<System> made;
  if (!given) made = make_system(c.system, SystemParams{{"T", 2.4}, {"h", 0.1}});
  const System* sys = given ? given : made.get();
  const int dim = sys->dim(), L = c.sides.back();
  const std::uint64_t seed = 1234;
  const std::vector<std::int8_t> pool = given_pool ? *given_pool : random_pool(*sys, c.sides[0], 5);
  const auto pool_count = static_cast<std::int64_t>(pool.size()) / ipow(c.sides[0], dim);
  HierarchySpec h{c.sides, c.factor, RelaxSpec{c.window, c.stride, c.relax_events, c.relax, c.offset}, seed};
  h.frames_per_run = frames_per_run;
  const PartialSpec pspec{c.patch, c.partial, c.pairs, c.partial_events};
  const auto serial = serial_snapshots(*sys, h, pool, pool_count, snapshots);
  const std::int64_t n = ipow(L, dim);
  auto ev = sys->make_evolver();

  int compared = 0;
  for (int size : team_sizes()) {
    Team team(size);
    if (!team.member()) continue;
    for (const auto& g : grids_of(dim, size)) {
      Decomposition dec;
      try {
        dec = Decomposition::with_grid(dim, L, c.patch, g);
      } catch (const InputError&) {
        continue;
      }
      TeamSnapshot snap(team.comm, *sys, h, pspec, seed, snapshots, dec);
      std::vector<PairRecord> records, expected;
      // Teams of one size share the snapshots out, as teams of a run do.
      for (std::int64_t j = team.index; j < snapshots; j += team.count) {
        snap.build(j, pool.data(), pool_count);
        const std::int8_t* want = serial.data() + j * n;
        const auto whole = snap.gather_lattice();
        if (team.rank() == 0) {
          INFO(c.system << " sides up to " << L << " grid " << g[0] << "x" << g[1] << "x" << g[2] << " snapshot " << j
                        << " first distributed level " << snap.first_distributed_level());
          CHECK(std::memcmp(whole.data(), want, static_cast<std::size_t>(n)) == 0);
        }
        snap.partial_evolution(seed, j, true, records);
        partial_evolution(*sys, *ev, want, L, pspec, seed, j, true, expected);
        check_records(team.comm, records, expected);
        ++compared;
      }
    }
  }
  return compared;
}

}  // namespace

TEST_CASE("team snapshots and pairs equal the serial generate path, 2D", "[team]") {
  // 8 -> 64: side 16 is replicated on 2 x 2 (block 8 < window 16), 32 and 64 are
  // distributed; on 4 x 1 only 64 is.
  CHECK(check_builds({"ising2d", {8, 16, 32, 64}, 2, 16, 0, 16, Boundary::periodic, Boundary::periodic,
                      PairsMode::all},
                     3) > 0);
  CHECK(check_builds({"ising2d", {8, 16, 32, 64}, 2, 16, 0, 16, Boundary::frozen, Boundary::frozen,
                      PairsMode::one},
                     3) > 0);
  // Factor 3, 3 colours per axis at side 36 (window 8, stride 4: 9 windows per axis).
  CHECK(check_builds({"ising2d", {4, 12, 36}, 3, 8, 4, 9, Boundary::frozen, Boundary::frozen, PairsMode::all},
                     2) > 0);
  // Side 6 does not split over 4 ranks but 12 does (window 2): the first distributed
  // level is upsampled whole, then handed over.
  CHECK(check_builds({"ising2d", {6, 12, 24}, 2, 2, 1, 6, Boundary::frozen, Boundary::periodic, PairsMode::one},
                     2) > 0);
}

namespace {

// A registered system that reports a wider interaction range than it has: the team code
// must then read rings of that width (halos, frozen windows, frozen patches) and still
// give the serial bits, which is what a system of that range needs of it.
class WideRange final : public System {
 public:
  WideRange(std::unique_ptr<System> inner, int range, UpsamplingRule rule = UpsamplingRule::block_magnification,
            bool uniform = true)
      : inner_(std::move(inner)), range_(range), rule_(rule), uniform_(uniform) {}
  std::string name() const override { return inner_->name(); }
  int dim() const override { return inner_->dim(); }
  const SystemParams& params() const override { return inner_->params(); }
  std::vector<std::string> observable_names() const override { return inner_->observable_names(); }
  bool supports(Boundary b) const override { return inner_->supports(b); }
  std::unique_ptr<Evolver> make_evolver() const override { return inner_->make_evolver(); }
  void patch_observables(const std::int8_t* x, int L, const Coord& o, int p, Boundary b, double* g) const override {
    inner_->patch_observables(x, L, o, p, b, g);
  }
  bool team_splittable() const override { return inner_->team_splittable(); }
  int interaction_range() const override { return range_; }
  UpsamplingRule upsampling_rule() const override { return rule_; }
  bool uniform_patch_choice() const override { return uniform_; }
  // Not uniform: patch I with probability proportional to 1 + (its up spins), counted
  // over the rank's part and summed over the team.
  PatchChoice choose_patch(const ConstLatticePart& x, int p, Rng& rng, const TeamSums& team) const override {
    if (uniform_) return inner_->choose_patch(x, p, rng, team);
    const Tiling tiling{dim(), x.L, p};
    std::vector<std::int64_t> up(static_cast<std::size_t>(tiling.patches()), 0);
    const Block& b = x.block;
    std::int64_t i = 0;
    for (int a0 = 0; a0 < b.extent[0]; ++a0)
      for (int a1 = 0; a1 < b.extent[1]; ++a1)
        for (int a2 = 0; a2 < b.extent[2]; ++a2, ++i) {
          if (x.data[i] != 1) continue;
          const Coord c{b.origin[0] + a0, b.origin[1] + a1, b.origin[2] + a2};
          std::int64_t I = 0;
          for (int d = 0; d < dim(); ++d) I = I * tiling.per_axis() + c[d] / p;
          ++up[static_cast<std::size_t>(I)];
        }
    team.sum(up.data(), up.size());
    std::int64_t total = 0;
    for (const std::int64_t u : up) total += 1 + u;
    auto left = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(total)));
    std::int64_t I = 0;
    while (left >= 1 + up[static_cast<std::size_t>(I)]) left -= 1 + up[static_cast<std::size_t>(I++)];
    return {I, static_cast<double>(total) / (static_cast<double>(tiling.patches()) * static_cast<double>(1 + up[static_cast<std::size_t>(I)]))};
  }

 private:
  std::unique_ptr<System> inner_;
  int range_;
  UpsamplingRule rule_;
  bool uniform_;
};

}  // namespace

TEST_CASE("team halos as wide as the interaction range: a range-2 system splits bit for bit", "[team]") {
  for (const char* name : {"ising2d", "ising3d"}) {
    const WideRange wide(make_system(name, SystemParams{{"T", 2.4}, {"h", 0.1}}), 2);
    INFO(name);
    if (wide.dim() == 2) {
      // Window 8 on blocks of 16 (2 x 2 ranks): the level is distributed, rings of 2.
      CHECK(check_builds({name, {8, 16, 32}, 2, 8, 4, 8, Boundary::frozen, Boundary::frozen, PairsMode::all}, 2,
                         &wide) > 0);
      CHECK(check_builds({name, {8, 16, 32}, 2, 8, 4, 8, Boundary::periodic, Boundary::frozen, PairsMode::one}, 2,
                         &wide) > 0);
    } else {
      CHECK(check_builds({name, {4, 8, 16}, 2, 4, 2, 4, Boundary::frozen, Boundary::frozen, PairsMode::one}, 2,
                         &wide) > 0);
    }
  }
  // A ring wider than a block is refused with a sentence: 4 ranks on a side-8 lattice
  // split into blocks of 2 (or 4 x 2), narrower than a range of 3.
  const int size = world_size() >= 4 ? 4 : 1;
  Team team(size);
  if (!team.member() || size == 1) return;
  const WideRange wider(make_system("ising2d"), 3);
  const HierarchySpec h{{4, 8}, 2, RelaxSpec{2, 1, 0, Boundary::frozen}, 3};
  const auto dec = Decomposition::with_grid(2, 8, 2, Coord{4, 1, 1});
  CHECK_THROWS_WITH(TeamSnapshot(team.comm, wider, h, PartialSpec{2, Boundary::frozen, PairsMode::one, 0}, 3, 4, dec),
                    Catch::Contains("interaction range") && Catch::Contains("team.size"));
}

TEST_CASE("a system that upsamples by tiling splits over a team bit for bit", "[team]") {
  const WideRange tiled(make_system("ising2d", SystemParams{{"T", 2.4}, {"h", 0.1}}), 1,
                        System::UpsamplingRule::tiling);
  Team solo(1);
  if (solo.member()) {
    // The rule is used: the serial snapshots differ from block magnification's.
    const HierarchySpec h{{8, 16, 32}, 2, RelaxSpec{8, 4, 0, Boundary::frozen}, 1234};
    const auto pool = random_pool(tiled, 8, 5);
    const auto serial = serial_snapshots(tiled, h, pool, 5, 2);
    const auto blocks = serial_snapshots(*make_system("ising2d", SystemParams{{"T", 2.4}, {"h", 0.1}}), h, pool, 5, 2);
    CHECK(serial != blocks);
  }
  // Levels below the last are replicated; the last is filled block by block from the
  // whole level below, then relaxed as a team.
  CHECK(check_builds({"ising2d", {8, 16, 32}, 2, 8, 4, 8, Boundary::frozen, Boundary::frozen, PairsMode::all}, 2,
                     &tiled) > 0);
  CHECK(check_builds({"ising2d", {8, 32}, 4, 8, 4, 8, Boundary::periodic, Boundary::periodic, PairsMode::one}, 2,
                     &tiled) > 0);
}

TEST_CASE("a patch choice that reads the snapshot is made alike by every rank of a team", "[team]") {
  // Weighted by each patch's up spins, summed over the ranks' blocks: the chosen patch and
  // its weight are the serial ones.
  const WideRange chooser(make_system("ising2d", SystemParams{{"T", 2.4}, {"h", 0.1}}), 1,
                          System::UpsamplingRule::block_magnification, false);
  CHECK(check_builds({"ising2d", {8, 16, 32}, 2, 8, 4, 8, Boundary::frozen, Boundary::frozen, PairsMode::one}, 4,
                     &chooser) > 0);
  const WideRange chooser3(make_system("ising3d", SystemParams{{"T", 4.0}, {"h", 0.1}}), 1,
                           System::UpsamplingRule::block_magnification, false);
  CHECK(check_builds({"ising3d", {4, 8, 16}, 2, 4, 2, 4, Boundary::periodic, Boundary::periodic, PairsMode::one}, 3,
                     &chooser3) > 0);
}

TEST_CASE("team snapshots and pairs equal the serial generate path, 3D", "[team]") {
  CHECK(check_builds({"ising3d", {8, 16, 32}, 2, 16, 0, 8, Boundary::periodic, Boundary::frozen, PairsMode::all},
                     2) > 0);
  CHECK(check_builds({"ising3d", {4, 8, 16}, 2, 4, 2, 4, Boundary::frozen, Boundary::periodic, PairsMode::one},
                     2) > 0);
}

TEST_CASE("team partial evolution of any lattice equals the serial records", "[team]") {
  int compared = 0;
  for (int size : team_sizes()) {
    Team team(size);
    if (!team.member()) continue;
    for (int dim : {2, 3})
      for (Boundary b : {Boundary::periodic, Boundary::frozen})
        for (PairsMode pairs : {PairsMode::all, PairsMode::one})
          for (const auto& g : grids_of(dim, size)) {
            const int L = dim == 2 ? 32 : 16, p = dim == 2 ? 8 : 4;
            const auto dec = Decomposition::with_grid(dim, L, p, g);
            const auto sys = make_system(dim == 2 ? "ising2d" : "ising3d", SystemParams{{"T", 2.0}, {"h", -0.2}});
            auto ev = sys->make_evolver();
            const PartialSpec spec{p, b, pairs, 0};
            const auto grid = make_team_grid(team.comm, dec);
            TeamPartial partial(grid, *sys, spec);
            for (std::int64_t j = 0; j < 3; ++j) {
              const auto x = random_lattice(dim, L, static_cast<std::uint64_t>(j + 10 * dim));
              std::vector<std::int8_t> block(static_cast<std::size_t>(grid.block.sites()));
              copy_block_out(x.data(), grid, block.data());
              std::vector<PairRecord> mine, expected;
              // keep_states false for j = 1: the states are then not part of the record.
              partial.run(*ev, block.data(), 21, j, j != 1, mine);
              partial_evolution(*sys, *ev, x.data(), L, spec, 21, j, j != 1, expected);
              check_records(team.comm, mine, expected);
              double phi_team[2], phi_serial[2];
              partial.macro_observables(block.data(), phi_team);
              macro_observables(*sys, x.data(), L, p, b, phi_serial);
              CHECK(std::memcmp(phi_team, phi_serial, sizeof phi_team) == 0);
              ++compared;
            }
          }
  }
  CHECK(compared > 0);
}

TEST_CASE("a team of several ranks refuses systems and boundaries it cannot split", "[team]") {
  const HierarchySpec h{{16, 32}, 2, RelaxSpec{16, 0, 0, Boundary::periodic}, 3};
  const int size = world_size() >= 2 ? 2 : 1;
  Team team(size);
  if (!team.member()) return;
  const auto cw = make_system("curie_weiss", SystemParams{{"T", 1.1}, {"h", 0.1}});
  const auto dec = Decomposition::choose(2, 32, 16, size);
  const PartialSpec global{16, Boundary::global, PairsMode::one, 0};
  if (size == 1) {
    // One rank is the serial code: Curie-Weiss with a global boundary is fine.
    TeamSnapshot snap(team.comm, *cw, h, global, 3, 4, dec);
    CHECK(snap.first_distributed_level() == 2);
    return;
  }
  CHECK_THROWS_WITH(TeamSnapshot(team.comm, *cw, h, global, 3, 4, dec), Catch::Contains("team.size"));
  const auto ising = make_system("ising2d", SystemParams{{"T", 2.3}, {"h", 0.0}});
  const PartialSpec ising_global{16, Boundary::global, PairsMode::one, 0};
  CHECK_THROWS_AS(TeamSnapshot(team.comm, *ising, h, ising_global, 3, 4, dec), InputError);
}

// The conformance suite's team part (tests/unit/test_conformance.cpp): every registered
// system that says it can be split is held to the serial path on teams of every size
// and grid, under each of its boundaries; every other system is refused by a team of
// several ranks with a sentence naming team.size.
namespace {
Boundary supported_boundary(const System& sys) {
  for (Boundary b : {Boundary::periodic, Boundary::global, Boundary::frozen})
    if (sys.supports(b)) return b;
  return Boundary::periodic;
}
}  // namespace

TEST_CASE("conformance: every registered system splits over a team bit for bit, or is refused", "[team][conformance]") {
  REQUIRE(testing::register_checker_system());  // and the test-only system
  for (const auto& name : system_names()) {
    // A high temperature and a small field for the systems in units of J that have them;
    // a temperature in kelvin (the alloy's default, 2000 K) is kept.
    SystemParams given;
    for (const ParamSpec& p : system_param_specs(name))
      if ((p.key == "T" && p.fallback < 100) || p.key == "h") given.set(p.key, p.key == "T" ? 2.4 : 0.1);
    const auto sys = make_system(name, given);
    INFO("system " << name);
    if (!sys->team_splittable()) {
      const int size = world_size() >= 2 ? 2 : 1;
      Team team(size);
      if (!team.member() || size == 1) continue;
      const int L = sys->dim() == 2 ? 32 : 16;
      const HierarchySpec h{{L / 2, L}, 2, RelaxSpec{L / 2, 0, 0, Boundary::periodic}, 3};
      const auto dec = Decomposition::choose(sys->dim(), L, L / 2, size);
      const PartialSpec spec{L / 2, supported_boundary(*sys), PairsMode::one, 0};
      CHECK_THROWS_WITH(TeamSnapshot(team.comm, *sys, h, spec, 3, 4, dec), Catch::Contains("team.size"));
      continue;
    }
    for (Boundary b : {Boundary::periodic, Boundary::frozen}) {
      if (!sys->supports(b)) continue;
      if (sys->dim() == 2)
        CHECK(check_builds({name.c_str(), {8, 16, 32}, 2, 16, 0, 16, b, b, PairsMode::all}, 2, sys.get()) > 0);
      else
        CHECK(check_builds({name.c_str(), {4, 8, 16}, 2, 4, 2, 4, b, b, PairsMode::one}, 2, sys.get()) > 0);
    }
  }
}

TEST_CASE("nbmota: teams of 1, 2 and 4 ranks build the alloy's snapshots and pairs bit for bit", "[team][nbmota]") {
  // The shipped settings (jobs/configs/nbmota.ini): tiles of 16 from time-matched frames
  // (2 runs of 4 frames), shifted, relabelled to equimolar, relax windows of 16 across the
  // seams (offset 8, 7 hops), a vacancy moved to each tile's centre, the tile of a drawn
  // vacancy evolved for 124 hops. Halos are 4 voxels wide (the barrier network's reach).
  const auto alloy = make_system("nbmota");
  REQUIRE(alloy->team_splittable());
  REQUIRE(alloy->interaction_range() == 4);
  const auto pool = random_pool(*alloy, 16, 8);
  const BuildCase shipped{"nbmota", {16, 32}, 2, 16, 16, 16, Boundary::periodic, Boundary::periodic,
                          PairsMode::one, 8, 7, 124};
  CHECK(check_builds(shipped, 3, alloy.get(), &pool, 4) > 0);
  // Two levels: 32 replicated, 64 relaxed as a team (blocks of 32 hold a window and its
  // 4-voxel halo; windows at 24 and 56 cross blocks and the lattice's end).
  BuildCase two = shipped;
  two.sides = {16, 32, 64};
  CHECK(check_builds(two, 2, alloy.get(), &pool, 4) > 0);
  // One level of 4^3 tiles, no relax (the notes' 65 536-site setting).
  BuildCase four = shipped;
  four.sides = {16, 64};
  four.factor = 4;
  four.window = 0;
  CHECK(check_builds(four, 2, alloy.get(), &pool, 4) > 0);
  {
    // The last level is the team's (no rank holds it whole); the ones below are replicated.
    const int size = world_size() >= 2 ? 2 : 1;
    Team team(size);
    if (team.member()) {
      const PartialSpec pspec{16, Boundary::periodic, PairsMode::one, 124};
      HierarchySpec h{{16, 32, 64}, 2, RelaxSpec{16, 16, 7, Boundary::periodic, 8}, 1234};
      CHECK(TeamSnapshot(team.comm, *alloy, h, pspec, 1234, 2, Decomposition::choose(3, 64, 16, size))
                .first_distributed_level() == 2);
      h = HierarchySpec{{16, 64}, 4, RelaxSpec{0, 16, 7, Boundary::periodic, 8}, 1234};
      CHECK(TeamSnapshot(team.comm, *alloy, h, pspec, 1234, 2, Decomposition::choose(3, 64, 16, size))
                .first_distributed_level() == 1);
    }
  }
  // Frames that are not equimolar (5 Nb made Ta in each): the relabelling draws atoms
  // from the whole lattice's list, which the team locates without gathering it.
  auto uneven = pool;
  for (std::size_t f = 0; f < 8; ++f) {
    int changed = 0;
    for (std::size_t v = f * 4096; v < (f + 1) * 4096 && changed < 5; ++v)
      if (uneven[v] == 1) uneven[v] = 3, ++changed;
  }
  CHECK(check_builds(shipped, 2, alloy.get(), &uneven, 4) > 0);
  CHECK(check_builds(four, 2, alloy.get(), &uneven, 4) > 0);
}
