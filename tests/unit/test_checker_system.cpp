// The test-only system checker2d (checker_system.hpp): registered in this executable, so
// the conformance suite holds it to every contract, and checked here against exact laws:
// the Boltzmann law of a whole 4 x 4 torus (8 sites) and of a frozen 4 x 4 box of an
// 8 x 8 lattice, whose range-2 ring acts as a field, under continuous-time (time-
// weighted) and heat-bath dynamics; and its hooks: parameters, the site mask in every
// state it makes, tiling.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>
#include <vector>

#include "checker_system.hpp"
#include "core/error.hpp"
#include "io/dataset.hpp"
#include "jobs/config.hpp"
#include "jobs/jobs.hpp"
#include "jobs/state_tables.hpp"
#include "jobs/truth.hpp"
#include "model_info_fixture.hpp"
#include "systems/state_check.hpp"
#include "sampling/upsample.hpp"
#include "stats_helpers.hpp"
#include "systems/system.hpp"

using namespace macrodyn::jobs;
using namespace macrodyn::sampling;
using namespace macrodyn::systems;

using namespace macrodyn;
using namespace macrodyn::test_stats;

namespace {

const bool kRegistered = testing::register_checker_system();

// checker2d without heat-bath sweeps: a system that refuses one of the two dynamics.
class CheckerCtOnly final : public testing::CheckerSystem {
 public:
  using CheckerSystem::CheckerSystem;
  std::string name() const override { return "checker2d_ct"; }
  bool supports_dynamics(Dynamics d) const override { return d == Dynamics::continuous_time; }
};
const bool kRegisteredCt = [] {
  register_system(
      "checker2d_ct", [](const SystemParams& p) -> std::unique_ptr<System> { return std::make_unique<CheckerCtOnly>(p); },
      testing::checker_param_specs);
  return true;
}();

// Neighbour offsets of a site, as the model defines them: diagonal, then axial 2-step.
const int kDiag[4][2] = {{1, 1}, {1, -1}, {-1, 1}, {-1, -1}};
const int kAxial[4][2] = {{2, 0}, {-2, 0}, {0, 2}, {0, -2}};

int wrap(int a, int n) { return ((a % n) + n) % n; }

// The exact law of the box [o, o + 4)^2 of a side-L lattice x whose sites outside the
// box stay fixed (L = 4, o = 0: the whole torus): per state of the box's 8 sites, its
// class (sum s n1, sum s n2 over box sites with their fixed or box neighbours, M) and the
// Boltzmann weight of the class. The energy counts box-box bonds once and box-ring bonds
// once: E = -(1/2) sum_box-box - sum_box-ring - h M, which is what the dynamics' local
// field 2 s (n1 + J2 n2 + h) implies.
struct ExactBox {
  std::vector<std::pair<int, int>> sites;  // box coordinates
  std::map<std::tuple<int, int, int>, int> bin_of_class;
  std::vector<double> q;  // per bin
  std::vector<int> bin_of_state;
};

ExactBox exact_box(const std::vector<std::int8_t>& x, int L, int o0, int o1, double T, double J2, double h) {
  ExactBox e;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j)
      if (((o0 + o1 + i + j) & 1) == 0) e.sites.emplace_back(i, j);
  REQUIRE(e.sites.size() == 8);
  const bool whole = L == 4;
  std::map<std::tuple<int, int, int>, double> weight;  // class -> sum of exp(-E/T)
  std::vector<std::tuple<int, int, int>> class_of(256);
  for (int state = 0; state < 256; ++state) {
    std::vector<std::int8_t> y(x.size());  // the state as spins (+-1, 0 off the sites)
    std::transform(x.begin(), x.end(), y.begin(), testing::checker_spin);
    for (int k = 0; k < 8; ++k)
      y[static_cast<std::size_t>(wrap(o0 + e.sites[k].first, L) * L + wrap(o1 + e.sites[k].second, L))] =
          (state >> k) & 1 ? 1 : -1;
    // Twice the interaction energy: box-box pairs counted from both ends, box-ring
    // pairs from the box end only, so doubled.
    int b1 = 0, b2 = 0, M = 0;
    auto inside = [&](int a, int c) { return whole || (a >= 0 && a < 4 && c >= 0 && c < 4); };
    for (const auto& [i, j] : e.sites) {
      const int s = y[static_cast<std::size_t>(wrap(o0 + i, L) * L + wrap(o1 + j, L))];
      M += s;
      for (const auto& d : kDiag) {
        const int t = y[static_cast<std::size_t>(wrap(o0 + i + d[0], L) * L + wrap(o1 + j + d[1], L))];
        b1 += (inside(i + d[0], j + d[1]) ? 1 : 2) * s * t;
      }
      for (const auto& d : kAxial) {
        const int t = y[static_cast<std::size_t>(wrap(o0 + i + d[0], L) * L + wrap(o1 + j + d[1], L))];
        b2 += (inside(i + d[0], j + d[1]) ? 1 : 2) * s * t;
      }
    }
    const auto c = std::make_tuple(b1, b2, M);
    class_of[static_cast<std::size_t>(state)] = c;
    const double E = -0.5 * (b1 + J2 * b2) - h * M;
    weight[c] += std::exp(-E / T);
  }
  // A class of probability below 0.5 % shares one bin with the other rare ones (a bin
  // that is hardly ever visited would make the batch covariance singular).
  double Z = 0, rare = 0;
  for (const auto& [c, w] : weight) Z += w;
  for (const auto& [c, w] : weight) {
    if (w / Z < 5e-3) {
      rare += w / Z;
      continue;
    }
    e.bin_of_class[c] = static_cast<int>(e.q.size());
    e.q.push_back(w / Z);
  }
  const int rare_bin = rare >= 5e-3 ? static_cast<int>(e.q.size()) : 0;  // too rare even together: into bin 0
  if (rare >= 5e-3) e.q.push_back(rare);
  else e.q[0] += rare;
  for (const auto& [c, w] : weight)
    if (w / Z < 5e-3) e.bin_of_class[c] = rare_bin;
  for (int state = 0; state < 256; ++state) e.bin_of_state.push_back(e.bin_of_class[class_of[static_cast<std::size_t>(state)]]);
  return e;
}

int state_of(const ExactBox& e, const std::int8_t* box) {
  int state = 0;
  for (int k = 0; k < 8; ++k)
    if (box[e.sites[k].first * 4 + e.sites[k].second] == 1) state |= 1 << k;  // code 1: up
  return state;
}

// CT (time weighted: each state weighted by its waiting time) and heat-bath histograms
// of the box's classes against the exact law.
void check_box_law(const std::vector<std::int8_t>& x, int L, int o0, int o1, Boundary b, std::uint64_t item) {
  const double T = 2.0, J2 = 0.5, h = 0.3;
  const ExactBox e = exact_box(x, L, o0, o1, T, J2, h);
  const auto k = e.q.size();
  INFO("box at (" << o0 << ", " << o1 << ") of side-" << L << " lattice, " << k << " classes");
  testing::CheckerEvolver ev(1.0 / T, J2, h);
  {
    ev.load(x.data(), L, Coord{o0, o1, 0}, 4, b, x.data());
    Rng rng(WorkItem{41, Purpose::test, 0, item, 0});
    ev.run_events(1000, rng);
    VectorBatches hist(k);
    for (int batch = 0; batch < 1000; ++batch) {
      for (int s = 0; s < 2000; ++s) {
        const int bin = e.bin_of_state[static_cast<std::size_t>(state_of(e, ev.box()))];
        hist.add(static_cast<std::size_t>(bin), ev.run_events(1, rng));  // the wait in that state
      }
      hist.end_batch();
    }
    const auto r = hist.test(e.q, k - 1);
    INFO("continuous time: Hotelling chi2 " << r.stat << ", p " << r.pvalue);
    CHECK(r.pvalue > 1e-3);
  }
  {
    ev.load(x.data(), L, Coord{o0, o1, 0}, 4, b, x.data());
    Rng rng(WorkItem{41, Purpose::test, 0, item, 1});
    for (int s = 0; s < 100; ++s) ev.heatbath_sweep(rng);
    VectorBatches hist(k);
    for (int batch = 0; batch < 1000; ++batch) {
      for (int s = 0; s < 1000; ++s) {
        ev.heatbath_sweep(rng);
        hist.add(static_cast<std::size_t>(e.bin_of_state[static_cast<std::size_t>(state_of(e, ev.box()))]), 1.0);
      }
      hist.end_batch();
    }
    const auto r = hist.test(e.q, k - 1);
    INFO("heat-bath sweeps: Hotelling chi2 " << r.stat << ", p " << r.pvalue);
    CHECK(r.pvalue > 1e-3);
  }
}

}  // namespace

TEST_CASE("checker2d: a 4 x 4 torus (8 sites) follows the Boltzmann law under both dynamics", "[physics][checker]") {
  REQUIRE(kRegistered);
  const auto sys = make_system("checker2d", {{"T", 2.0}, {"J2", 0.5}, {"h", 0.3}});
  std::vector<std::int8_t> x(16);
  Rng rng(WorkItem{40, Purpose::test, 0, 0, 0});
  sys->initial_state(x.data(), 16, InitialKind::random_m0, 0.0, rng);
  check_box_law(x, 4, 0, 0, Boundary::periodic, 1);
}

TEST_CASE("checker2d: a frozen 4 x 4 box feels its range-2 ring as a field", "[physics][checker]") {
  const auto sys = make_system("checker2d", {{"T", 2.0}, {"J2", 0.5}, {"h", 0.3}});
  std::vector<std::int8_t> x(64);
  Rng rng(WorkItem{40, Purpose::test, 0, 1, 0});
  sys->initial_state(x.data(), 64, InitialKind::given_m0, 0.5, rng);  // an unbalanced ring
  check_box_law(x, 8, 2, 4, Boundary::frozen, 2);  // an even origin: sites at even box parity
  check_box_law(x, 8, 1, 2, Boundary::frozen, 3);  // an odd origin: the sublattice shifts in the box
}

TEST_CASE("checker2d: its keys, its mask in every state it makes, tiling keeps the mask", "[checker]") {
  CHECK_THROWS_WITH(make_system("checker2d", {{"J", 1.0}}), Catch::Contains("system.J is not a key of system checker2d") &&
                                                                 Catch::Contains("system.J2"));
  const auto sys = make_system("checker2d");
  CHECK(sys->params().get("J2") == 0.5);
  CHECK(sys->interaction_range() == 2);
  const int L = 8;
  std::vector<std::int8_t> x(64);
  Rng rng(WorkItem{42, Purpose::test, 0, 0, 0});
  CHECK(sys->initial_state(x.data(), 64, InitialKind::given_m0, 0.5, rng) == 0.5);
  auto masked = [](const std::vector<std::int8_t>& y, int side) {
    int up = 0;
    for (int i = 0; i < side; ++i)
      for (int j = 0; j < side; ++j) {
        const int b = static_cast<std::uint8_t>(y[static_cast<std::size_t>(i * side + j)]);
        if (((i + j) & 1) != 0 ? b != 255 : b > 1) return -1;  // codes: 0 down, 1 up, 255 no site
        up += b == 1;
      }
    return up;
  };
  CHECK(masked(x, L) == 24);  // floor((1 + 0.5) * 32 / 2) of the 32 sites up
  sys->random_configuration(x.data(), 64, rng);
  CHECK(masked(x, L) >= 0);
  std::vector<std::int8_t> big(256);
  upsample(*sys, x.data(), L, 2, big.data());
  CHECK(masked(big, 2 * L) == 4 * masked(x, L));
  // Evolving keeps the mask: only sites flip.
  auto ev = sys->make_evolver();
  ev->load(big.data(), 16, Coord{0, 0, 0}, 16, Boundary::periodic, nullptr);
  ev->run_events(5000, rng);
  ev->store(big.data(), 16, Coord{0, 0, 0});
  CHECK(masked(big, 16) >= 0);
  CHECK_THROWS_AS(ev->load(big.data(), 16, Coord{0, 0, 0}, 5, Boundary::periodic, nullptr), std::invalid_argument);
}

TEST_CASE("a system's dynamics: a job asking for one it does not support is refused naming the key", "[checker]") {
  REQUIRE(kRegisteredCt);
  Config c;
  c.system = "checker2d_ct";
  c.closure = "none";
  c.output = std::string(MACRODYN_TEST_TMPDIR) + "/checker_ct.h5";
  c.small_dynamics = Dynamics::heat_bath;
  CHECK_THROWS_WITH(validate(c, Job::generate),
                    Catch::Contains("small.dynamics = heatbath: system checker2d_ct does not support it"));
  c.small_dynamics = Dynamics::continuous_time;
  CHECK_NOTHROW(validate(c, Job::generate));
  c.truth_dynamics = Dynamics::heat_bath;
  CHECK_THROWS_WITH(validate(c, Job::simulate), Catch::Contains("truth.dynamics = heatbath"));
  c.system = "checker2d";  // supports both
  CHECK_NOTHROW(validate(c, Job::simulate));
}

TEST_CASE("checker2d: its codes travel through simulate and evaluate's reader as uint8 states", "[checker]") {
  REQUIRE(kRegistered);
  // The truth keeps its states: unsat is not tiling-invariant and K = 4.
  Config c;
  c.system = "checker2d";
  c.large_side = 8;
  c.patch = 4;
  c.closure = "none";
  c.truth_runs = 3;
  c.truth_sweeps = 4;
  c.truth_init = InitialKind::given_m0;
  c.truth_m0 = {condition_of(0.5)};
  c.output = std::string(MACRODYN_TEST_TMPDIR) + "/checker_truth.h5";
  c.overwrite = true;
  c.progress = false;
  c.threads = 1;
  c.seed = 5;
  c.ini_text = "[system]\nname = checker2d\n";
  validate(c, Job::simulate);
  simulate(c);
  const auto sys = make_system("checker2d");
  {
    io::DatasetReader r(c.output);
    REQUIRE(r.has("/trajectories/states"));
    CHECK(r.type("/trajectories/states") == io::DType::u8);
    CHECK_NOTHROW(require_state_type(r, "/trajectories/states", *sys));
    const std::int64_t frames = 3 * 5;
    std::vector<std::int8_t> x(static_cast<std::size_t>(frames * 64));
    r.read_rows("/trajectories/states", 0, 3, io::DType::u8, x.data());
    const StateCheck check(*sys, 8);
    for (std::int64_t f = 0; f < frames; ++f) {
      INFO("frame " << f);
      CHECK(check.problem(x.data() + f * 64) == "");
      CHECK(std::count(x.begin() + f * 64, x.begin() + (f + 1) * 64, static_cast<std::int8_t>(255)) == 32);
    }
    // Frame 0 of each run: floor((1 + 0.5) 32 / 2) = 24 of the 32 sites up.
    for (int run = 0; run < 3; ++run)
      CHECK(std::count(x.begin() + run * 5 * 64, x.begin() + (run * 5 + 1) * 64, std::int8_t{1}) == 24);
  }
  // Evaluate's reader takes the uint8 states, checks them, and recomputes z on the patch
  // tiling: m, a site average, equals the stored whole-lattice m (stored as float32).
  const ModelInfo info = testing::make_info("checker2d", 8, 4, 0);
  const auto t = truth_macrostates(info, std::string(MACRODYN_TEST_TMPDIR) + "/checker_model", c.output, nullptr, 1);
  CHECK(t.from_states);
  REQUIRE(t.z.size() == static_cast<std::size_t>(3 * 5 * 2));
  io::DatasetReader r(c.output);
  std::vector<float> stored(static_cast<std::size_t>(3 * 5 * 2));
  r.read_rows("/trajectories/observables", 0, 3, io::DType::f32, stored.data());
  for (std::size_t k = 0; k < stored.size(); k += 2) CHECK(static_cast<float>(t.z[k]) == stored[k]);
}
