#include "jobs/bench.hpp"

#include <chrono>
#include <cstdio>
#include <memory>
#include <sstream>

#include "sampling/hierarchy.hpp"
#include "systems/initial_state.hpp"
#include "sampling/partial_evolution.hpp"
#include "sampling/upsample.hpp"
#include "systems/nbmota/barrier_model.hpp"
#include "systems/nbmota/dump.hpp"
#include "systems/nbmota/kmc.hpp"
#include "systems/nbmota/lattice.hpp"
#include "systems/system.hpp"

using namespace macrodyn::sampling;
using namespace macrodyn::systems;

namespace macrodyn::jobs {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

constexpr std::uint64_t kSeed = 12345;

std::string json_params(const std::string& system, int L, double T, double h, const std::string& extra = "") {
  std::ostringstream s;
  s << "{\"system\": \"" << system << "\", \"L\": " << L << ", \"T\": " << T << ", \"h\": " << h << extra << "}";
  return s.str();
}

// A side-L lattice relaxed for 20 sweeps from a random state (work item `item`).
std::vector<std::int8_t> equilibrated_lattice(const System& sys, int L, std::uint64_t item) {
  const std::int64_t n = ipow(L, sys.dim());
  std::vector<std::int8_t> x(static_cast<std::size_t>(n));
  Rng init({kSeed, Purpose::initial_state, 0, item, 0});
  make_initial_state(x.data(), n, InitialKind::random_m0, 0.0, init);
  auto ev = sys.make_evolver();
  ev->load(x.data(), L, Coord{0, 0, 0}, L, Boundary::periodic, nullptr);
  Rng rng({kSeed, Purpose::small_dynamics, 0, item, 0});
  ev->run_events(static_cast<std::uint64_t>(20 * n), rng);
  ev->store(x.data(), L, Coord{0, 0, 0});
  return x;
}

// Accepted flips per second of continuous-time Glauber dynamics on a whole periodic
// lattice, each with its Exp(R) time draw, through Evolver::run_events with the
// generate key (small_dynamics), from an equilibrated state.
BenchResult flips_per_s(const std::string& system, int L, double T, double h, double seconds) {
  const auto sys = make_system(system, SystemParams{{"T", T}, {"h", h}});
  const std::int64_t n = ipow(L, sys->dim());
  const auto x = equilibrated_lattice(*sys, L, 0);
  auto ev = sys->make_evolver();
  ev->load(x.data(), L, Coord{0, 0, 0}, L, Boundary::periodic, nullptr);
  Rng rng({kSeed, Purpose::small_dynamics, 0, 2, 0});
  const std::uint64_t chunk = static_cast<std::uint64_t>(std::max<std::int64_t>(n, 1 << 20));
  std::uint64_t events = 0;
  const auto t0 = Clock::now();
  double el = 0.0;
  do {
    ev->run_events(chunk, rng);
    events += chunk;
    el = since(t0);
  } while (el < seconds);
  return {"glauber_ct_flips_per_s", json_params(system, L, T, h), events / el, "flips/s"};
}

// Pairs per second of partial evolution (pairs = one, patch states kept, as generate
// does with a closure) on a side-64 snapshot, patch 16.
BenchResult pairs_per_s(const std::string& system, double T, double h, Boundary b, double seconds) {
  const int L = 64, p = 16;
  const auto sys = make_system(system, SystemParams{{"T", T}, {"h", h}});
  const auto x = equilibrated_lattice(*sys, L, 1);
  auto ev = sys->make_evolver();
  const PartialSpec spec{p, b, PairsMode::one, 0};
  std::vector<PairRecord> out;
  std::int64_t pairs = 0;
  const auto t0 = Clock::now();
  double el = 0.0;
  do {
    for (int k = 0; k < 256; ++k) partial_evolution(*sys, *ev, x.data(), L, spec, kSeed, pairs++, true, out);
    el = since(t0);
  } while (el < seconds);
  return {"partial_evolution_pairs_per_s",
          json_params(system, L, T, h, ", \"patch\": 16, \"boundary\": \"" + std::string(to_string(b)) + "\""),
          pairs / el, "pairs/s"};
}

// Snapshots per second of hierarchical upsampling 16 -> 32 -> 64 (UPSAMPLE x2 +
// LOCALRELAX periodic, w = 16, stride 8, one window sweep) for 2D Ising.
BenchResult upsample_per_s(double seconds) {
  const double T = 2.5, h = 0.1;
  const auto sys = make_system("ising2d", SystemParams{{"T", T}, {"h", h}});
  const int pool_count = 64;
  std::vector<std::int8_t> pool(static_cast<std::size_t>(pool_count * 256));
  for (int r = 0; r < pool_count; ++r) {
    Rng init({kSeed, Purpose::initial_state, 0, static_cast<std::uint64_t>(r), 0});
    make_initial_state(pool.data() + r * 256, 256, InitialKind::random_m0, 0.0, init);
  }
  HierarchySpec spec{{16, 32, 64}, 2, RelaxSpec{16, 8, 0, Boundary::periodic}, kSeed};
  auto ev = sys->make_evolver();
  std::vector<std::int8_t> mid(32 * 32), big(64 * 64), stage;
  std::int64_t snapshots = 0;
  const auto t0 = Clock::now();
  double el = 0.0;
  do {
    // One snapshot per level per item: the per-snapshot cost of a 2-level hierarchy.
    for (int k = 0; k < 16; ++k, ++snapshots) {
      build_level_snapshot(*sys, *ev, spec, 1, pool.data(), pool_count, snapshots, mid.data(), stage);
      build_level_snapshot(*sys, *ev, spec, 2, mid.data(), 1, snapshots, big.data(), stage);
    }
    el = since(t0);
  } while (el < seconds);
  return {"upsample_snapshots_per_s",
          json_params("ising2d", 64, T, h, ", \"from\": 16, \"levels\": 2, \"window\": 16, \"stride\": 8"),
          snapshots / el, "snapshots/s"};
}

// The NbMoTa alloy's start (the shipped 1024-atom dump) tiled `copies` times per axis, with
// one vacancy per 1024 sites at the origin of each copy (the notes' sizes: 1024 sites with
// 1 vacancy, 8192 with 8).
systems::nbmota::AlloyCell alloy_cell(int copies) {
  namespace nb = systems::nbmota;
  const nb::AlloyCell one = nb::read_lammps_dump(MACRODYN_DATA_DIR "/nbmota/initial_N_1024_equimolar.dump");
  nb::AlloyCell c;
  c.N = one.N * copies;
  c.codes.resize(static_cast<std::size_t>(c.N) * c.N * c.N);
  for (int x = 0; x < c.N; ++x)
    for (int y = 0; y < c.N; ++y)
      for (int z = 0; z < c.N; ++z)
        c.codes[static_cast<std::size_t>(nb::voxel(c.N, x, y, z))] =
            one.codes[static_cast<std::size_t>(nb::voxel(one.N, x, y, z))];
  for (int a = 0; a < copies; ++a)
    for (int b = 0; b < copies; ++b)
      for (int d = 0; d < copies; ++d)
        c.codes[static_cast<std::size_t>(nb::voxel(c.N, a * one.N, b * one.N, d * one.N))] = nb::kVacancy;
  return c;
}

const systems::nbmota::BarrierModel& alloy_model() {
  static const auto m = systems::nbmota::BarrierModel::load(MACRODYN_DATA_DIR "/nbmota/barrier-model.h5");
  return m;
}

// Hops per second of the alloy's full KMC (exponential waiting times, cached barriers) at
// 2000 K, after 2000 hops of warm-up per vacancy from the start.
BenchResult alloy_hops_per_s(int copies, double seconds) {
  const auto cell = alloy_cell(copies);
  systems::nbmota::AlloyKmc kmc(alloy_model(), 2000.0);
  kmc.load(cell.codes.data(), cell.N);
  Rng rng({kSeed, Purpose::small_dynamics, 0, 0, 0});
  kmc.run_hops(2000 * kmc.vacancies().size(), rng);
  std::uint64_t hops = 0;
  const auto t0 = Clock::now();
  double el = 0.0;
  do {
    kmc.run_hops(1000, rng);
    hops += 1000;
    el = since(t0);
  } while (el < seconds);
  std::ostringstream p;
  p << "{\"system\": \"nbmota\", \"sites\": " << cell.N * cell.N * cell.N / 4 << ", \"vacancies\": "
    << kmc.vacancies().size() << ", \"T\": 2000}";
  return {"alloy_kmc_hops_per_s", p.str(), static_cast<double>(hops) / el, "hops/s"};
}

// Barrier network evaluations per second, one barrier at a time (as the KMC does).
BenchResult alloy_barriers_per_s(double seconds) {
  const auto cell = alloy_cell(1);
  std::uint64_t n = 0;
  float sink = 0;
  const auto t0 = Clock::now();
  double el = 0.0;
  do {
    for (int k = 0; k < 1024; ++k, ++n) sink += alloy_model().barrier(cell.codes.data(), cell.N, 0, k % 8);
    el = since(t0);
  } while (el < seconds);
  return {"alloy_barriers_per_s",
          "{\"system\": \"nbmota\", \"inputs\": 112, \"multiply_adds\": 63616, \"check\": " +
              std::to_string(sink > 0) + "}",
          static_cast<double>(n) / el, "barriers/s"};
}

// Partial-evolution samples per second of the alloy as generate makes them: an 8192-site
// snapshot upsampled from the 1024-atom start (one vacancy per tile), the tile of a drawn
// vacancy evolved as its own torus for 124 hops (the notes' protocol), 2000 K.
BenchResult alloy_partial_per_s(double seconds) {
  const auto sys = make_system("nbmota", SystemParams{{"T", 2000.0}});
  const auto small = alloy_cell(1);
  std::vector<std::int8_t> big(32 * 32 * 32);
  upsample_level(*sys, reinterpret_cast<const std::int8_t*>(small.codes.data()), 16, 2, big.data(), kSeed, 1, 0);
  auto ev = sys->make_evolver();
  const PartialSpec spec{16, Boundary::periodic, PairsMode::one, 124};
  std::vector<PairRecord> out;
  std::int64_t samples = 0;
  const auto t0 = Clock::now();
  double el = 0.0;
  do {
    for (int k = 0; k < 16; ++k) partial_evolution(*sys, *ev, big.data(), 32, spec, kSeed, samples++, false, out);
    el = since(t0);
  } while (el < seconds);
  return {"alloy_partial_samples_per_s",
          "{\"system\": \"nbmota\", \"L\": 32, \"sites\": 8192, \"patch\": 16, \"hops\": 124, \"T\": 2000}",
          static_cast<double>(samples) / el, "samples/s"};
}

}  // namespace

std::vector<BenchResult> run_benchmarks(const BenchOptions& o, void (*report)(const BenchResult&)) {
  std::vector<BenchResult> results;
  auto want = [&](const char* name) { return o.filter.empty() || std::string(name).find(o.filter) != std::string::npos; };
  auto add = [&](BenchResult r) {
    if (report) report(r);
    results.push_back(std::move(r));
  };
  if (want("glauber_ct_flips_per_s")) {
    for (int L : {16, 64, 256, 1024})
      for (double T : {2.0, 2.27, 2.5}) add(flips_per_s("ising2d", L, T, 0.1, o.seconds));
    add(flips_per_s("ising3d", 64, 4.5, 0.0, o.seconds));
    add(flips_per_s("curie_weiss", 64, 1.1, 0.1, o.seconds));
  }
  if (want("partial_evolution_pairs_per_s")) {
    add(pairs_per_s("ising2d", 2.5, 0.1, Boundary::periodic, o.seconds));
    add(pairs_per_s("ising2d", 2.5, 0.1, Boundary::frozen, o.seconds));
    add(pairs_per_s("curie_weiss", 1.1, 0.1, Boundary::periodic, o.seconds));
    add(pairs_per_s("curie_weiss", 1.1, 0.1, Boundary::global, o.seconds));
  }
  if (want("upsample_snapshots_per_s")) add(upsample_per_s(o.seconds));
  if (want("alloy_kmc_hops_per_s"))
    for (int copies : {1, 2}) add(alloy_hops_per_s(copies, o.seconds));
  if (want("alloy_barriers_per_s")) add(alloy_barriers_per_s(o.seconds));
  if (want("alloy_partial_samples_per_s")) add(alloy_partial_per_s(o.seconds));
  return results;
}

}  // namespace macrodyn::jobs
