// The conformance suite: every registered system, taken from the registry, is held to
// the contracts the pipeline relies on (docs/design.md §3.5). A new system inherits
// these tests by its registry line; each case asks the system what it supports
// (boundaries, observables kept by upsampling) and checks that answer.
//
//  * every state the system makes (initial states, random configurations, evolved boxes
//    stored back, upsampled states) fits its state layout and site mask;
//  * a state written to a dataset (in its layout's element type) reads back bit for bit;
//  * the evolver's observables equal patch_observables for every supported boundary,
//    after loading and after evolving;
//  * partial evolution with p = L equals the full dynamics in law (two-sample KS at
//    alpha = 0.001 on the duration and the change of every observable, 10^4 repeats);
//  * the upsampling keeps, bit for bit, the observables the system says it keeps;
//  * the hooks answer consistently (judged observables exist, one range per observable,
//    raw observables exist, a splittable system has a range the teams support).
// Team runs on 1, 2 and 4 ranks are held to the serial path in tests/mpi/test_team.cpp.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/geometry.hpp"
#include "io/dataset.hpp"
#include "jobs/state_tables.hpp"
#include "ks.hpp"
#include "systems/initial_state.hpp"
#include "sampling/partial_evolution.hpp"
#include "sampling/upsample.hpp"
#include "systems/state_check.hpp"
#include "systems/system.hpp"

using namespace macrodyn::jobs;
using namespace macrodyn::sampling;
using namespace macrodyn::systems;

using namespace macrodyn;

namespace {

// Every system runs on its defaults: the spin systems' and checker2d's are a high
// temperature and a small field (T = 2.5, h = 0.1), the alloy's T is 2000 K.
SystemParams test_params(const std::string&) { return {}; }

// A side small enough for exact-law tests and divisible into 2^D patches.
int test_side(int dim) { return dim == 1 ? 16 : dim == 2 ? 8 : 4; }

// Bytes of a side-L state (systems/state_layout.hpp).
std::int64_t state_bytes(const System& sys, int L) { return ipow(L, sys.dim()) * sys.state_layout().voxel_bytes(); }

std::vector<std::int8_t> random_state(const System& sys, int L, std::uint64_t item, double m0 = 0.0) {
  std::vector<std::int8_t> x(static_cast<std::size_t>(state_bytes(sys, L)));
  Rng rng({77, Purpose::test, 0, item, 0});
  sys.initial_state(x.data(), ipow(L, sys.dim()), InitialKind::random_m0, m0, rng);
  return x;
}

// The factors the system's upsampling rule takes (linear interpolation: powers of 2).
std::vector<int> factors(const System& sys) {
  if (sys.upsampling_rule() == System::UpsamplingRule::linear_interpolation) return {2, 4};
  return {2, 3};
}

std::vector<Boundary> supported(const System& sys) {
  std::vector<Boundary> out;
  for (Boundary b : {Boundary::periodic, Boundary::frozen, Boundary::global})
    if (sys.supports(b)) out.push_back(b);
  return out;
}



}  // namespace

TEST_CASE("conformance: the hooks answer consistently", "[systems][conformance]") {
  const std::string name = GENERATE(from_range(system_names()));
  const auto sys = make_system(name, test_params(name));
  INFO("system " << name);
  CHECK(sys->name() == name);
  CHECK(is_system_name(name));
  const auto names = sys->observable_names();
  REQUIRE(!names.empty());
  CHECK(sys->num_observables() == static_cast<int>(names.size()));
  CHECK(sys->observable_ranges().size() == names.size());
  for (const auto& r : sys->observable_ranges()) CHECK(r.lo < r.hi);
  const auto has = [&](const std::string& o) { return std::find(names.begin(), names.end(), o) != names.end(); };
  REQUIRE(!sys->judged_observables().empty());
  for (const auto& o : sys->judged_observables()) CHECK(has(o));
  for (const auto& o : sys->raw_observables()) CHECK(has(o));
  CHECK(!supported(*sys).empty());
  CHECK(sys->interaction_range() >= 1);
  if (sys->team_splittable()) CHECK(!sys->supports(Boundary::global));
  const auto ref = sys->reference_training();
  CHECK(ref.lr > 0);
  CHECK((ref.diffusion == "full" || ref.diffusion == "diagonal" || ref.diffusion == "constant"));
}

TEST_CASE("conformance: a state written to a dataset reads back bit for bit", "[systems][conformance]") {
  const std::string name = GENERATE(from_range(system_names()));
  const auto sys = make_system(name, test_params(name));
  const int L = test_side(sys->dim());
  const auto n = sys->events_per_sweep(ipow(L, sys->dim()));
  std::vector<std::int8_t> states;
  for (std::uint64_t k = 0; k < 3; ++k) {
    auto x = random_state(*sys, L, k, 0.3);
    auto ev = sys->make_evolver();
    ev->load(x.data(), L, Coord{0, 0, 0}, L, supported(*sys).front(), x.data());
    Rng rng({78, Purpose::test, 0, k, 0});
    ev->run_events(n, rng);
    ev->store(x.data(), L, Coord{0, 0, 0});
    states.insert(states.end(), x.begin(), x.end());
  }
  const std::string path = std::string(MACRODYN_TEST_TMPDIR) + "/conformance_" + name + ".h5";
  {
    io::RootInfo root;
    root.seed = 1;
    root.system = name;
    root.config = "[system]\nname = " + name + "\n";
    root.macrodyn_version = "test";
    io::DatasetWriter w(path, root);
    w.create_group("/snapshots", io::GroupInfo{});
    w.create_table("/snapshots/states", state_dtype(*sys), state_shape(*sys, L), 2, true);
    w.append("/snapshots/states", states.data(), 3);
    w.commit("/snapshots", 3);
  }
  io::DatasetReader r(path);
  std::vector<std::int8_t> back(states.size());
  INFO("system " << name);
  CHECK_NOTHROW(require_state_type(r, "/snapshots/states", *sys));
  r.read_rows("/snapshots/states", 0, 3, state_dtype(*sys), back.data());
  CHECK(back == states);
}

TEST_CASE("conformance: evolver observables equal patch_observables for every supported boundary",
          "[systems][conformance]") {
  const std::string name = GENERATE(from_range(system_names()));
  const auto sys = make_system(name, test_params(name));
  const int dim = sys->dim(), L = test_side(dim), p = L / 2;
  const int d = sys->num_observables();
  const Tiling tiling{dim, L, p};
  const auto x = random_state(*sys, L, 5, 0.2);
  auto ev = sys->make_evolver();
  for (Boundary b : supported(*sys))
    for (std::int64_t I = 0; I < tiling.patches(); ++I) {
      INFO("system " << name << ", boundary " << to_string(b) << ", patch " << I);
      std::vector<double> g1(d), g2(d);
      ev->load(x.data(), L, tiling.origin(I), p, b, x.data());
      ev->observables(g1.data());
      sys->patch_observables(x.data(), L, tiling.origin(I), p, b, g2.data());
      CHECK(g1 == g2);
      // Evolved and stored back: the box's observables are what the system computes on
      // the new lattice (the neighbours outside never change).
      Rng rng({79, Purpose::test, 0, static_cast<std::uint64_t>(I), 0});
      ev->run_events(sys->events_per_sweep(ipow(p, dim)), rng);
      ev->observables(g1.data());
      auto y = x;
      ev->store(y.data(), L, tiling.origin(I));
      sys->patch_observables(y.data(), L, tiling.origin(I), p, b, g2.data());
      CHECK(g1 == g2);
    }
}

TEST_CASE("conformance: partial evolution with p = L equals the full dynamics in law", "[systems][conformance]") {
  const std::string name = GENERATE(from_range(system_names()));
  const auto sys = make_system(name, test_params(name));
  const int dim = sys->dim(), L = test_side(dim), d = sys->num_observables(), repeats = 10000;
  const auto n = sys->events_per_sweep(ipow(L, dim));
  // With p = L the patch is the whole lattice; `periodic` (or `global`) makes it its own
  // torus; a system with neither (a field with its own edges) takes the whole grid as is.
  const Boundary b = sys->supports(Boundary::periodic) ? Boundary::periodic
                     : sys->supports(Boundary::global) ? Boundary::global
                                                       : Boundary::frozen;
  auto ev = sys->make_evolver();
  auto full = sys->make_evolver();
  const auto x = random_state(*sys, L, 21, 0.1);
  std::vector<double> g0(d), g(d);
  sys->patch_observables(x.data(), L, Coord{0, 0, 0}, L, b, g0.data());
  std::vector<std::vector<double>> a(d + 1), c(d + 1);
  std::vector<PairRecord> pairs;
  for (int r = 0; r < repeats; ++r) {
    partial_evolution(*sys, *ev, x.data(), L, PartialSpec{L, b, PairsMode::one, 0}, 8, r, false, pairs);
    REQUIRE(pairs.size() == 1);
    a[0].push_back(pairs[0].dt);
    for (int k = 0; k < d; ++k) a[k + 1].push_back(pairs[0].g_after[k] - pairs[0].g_before[k]);
    full->load(x.data(), L, Coord{0, 0, 0}, L, b, x.data());
    Rng rng({8, Purpose::test, 0, static_cast<std::uint64_t>(r), 1});
    c[0].push_back(full->run_events(n, rng));
    full->observables(g.data());
    for (int k = 0; k < d; ++k) c[k + 1].push_back(g[k] - g0[k]);
  }
  const double crit = test_ks::critical(repeats, repeats, 0.001);
  for (int k = 0; k <= d; ++k) {
    const double D = test_ks::statistic(a[k], c[k]);
    INFO("system " << name << ": KS D(" << (k == 0 ? std::string("dt") : "d" + sys->observable_names()[k - 1])
                   << ") = " << D << ", critical " << crit);
    CHECK(D < crit);
  }
}

TEST_CASE("conformance: the weighted change of the chosen patch is unbiased for the tiling's mean change",
          "[systems][conformance]") {
  // For snapshot id j the chosen patch I_j (System::choose_patch) and every patch are
  // evolved from the same snapshot with the same streams, so
  //   D_j = w_j dg_{I_j}(j) - (1/K) sum_I dg_I(j)
  // has mean exactly 0 when w = 1 / (K q) (docs/design.md §1.7), whatever the choice.
  // Test: |mean D| <= 4 standard errors per observable, 4000 snapshot ids.
  const std::string name = GENERATE(from_range(system_names()));
  const auto sys = make_system(name, test_params(name));
  const int dim = sys->dim(), L = test_side(dim), p = L / 2, d = sys->num_observables();
  const Tiling tiling{dim, L, p};
  const auto K = static_cast<double>(tiling.patches());
  const auto x = random_state(*sys, L, 9, 0.0);
  auto ev = sys->make_evolver();
  const Boundary b = supported(*sys).front();
  const PartialSpec one{p, b, PairsMode::one, 0}, all{p, b, PairsMode::all, 0};
  std::vector<PairRecord> chosen, every;
  std::vector<double> sum(d, 0.0), sum2(d, 0.0);
  const int n = 4000;
  bool weights_one = true;
  for (int j = 0; j < n; ++j) {
    partial_evolution(*sys, *ev, x.data(), L, one, 31, j, false, chosen);
    partial_evolution(*sys, *ev, x.data(), L, all, 31, j, false, every);
    REQUIRE(chosen.size() == 1);
    weights_one = weights_one && chosen[0].weight == 1.0;
    for (int k = 0; k < d; ++k) {
      double mean = 0;
      for (const auto& r : every) mean += (r.g_after[k] - r.g_before[k]) / K;
      const double D = chosen[0].weight * (chosen[0].g_after[k] - chosen[0].g_before[k]) - mean;
      sum[k] += D;
      sum2[k] += D * D;
    }
  }
  INFO("system " << name);
  CHECK(weights_one == sys->uniform_patch_choice());  // a uniform choice weighs exactly 1
  for (int k = 0; k < d; ++k) {
    const double mean = sum[k] / n, se = std::sqrt(std::max(0.0, sum2[k] / n - mean * mean) / (n - 1));
    INFO("observable " << sys->observable_names()[k] << ": mean D " << mean << ", standard error " << se);
    CHECK(std::fabs(mean) <= 4 * se + 1e-12);
  }
}

TEST_CASE("conformance: upsampling keeps what the system says it keeps", "[systems][conformance]") {
  const std::string name = GENERATE(from_range(system_names()));
  const auto sys = make_system(name, test_params(name));
  const int dim = sys->dim(), Ls = test_side(dim), d = sys->num_observables();
  for (int m : factors(*sys)) {
    const auto src = random_state(*sys, Ls, 40 + m, -0.3);
    std::vector<std::int8_t> dst(static_cast<std::size_t>(state_bytes(*sys, Ls * m)));
    upsample(*sys, src.data(), Ls, m, dst.data());
    const Boundary b = supported(*sys).front();
    std::vector<double> gs(d), gd(d);
    sys->patch_observables(src.data(), Ls, Coord{0, 0, 0}, Ls, b, gs.data());
    sys->patch_observables(dst.data(), Ls * m, Coord{0, 0, 0}, Ls * m, b, gd.data());
    for (int k = 0; k < d; ++k)
      if (sys->kept_by_upsampling(k)) {
        INFO("system " << name << ", magnification " << m << ", observable " << sys->observable_names()[k]);
        CHECK(gd[k] == gs[k]);
      }
  }
}

TEST_CASE("conformance: every state the system makes fits its layout and site mask", "[systems][conformance]") {
  const std::string name = GENERATE(from_range(system_names()));
  const auto sys = make_system(name, test_params(name));
  const int dim = sys->dim(), L = test_side(dim);
  const auto n = static_cast<std::int64_t>(ipow(L, dim));
  const StateCheck check(*sys, L);
  INFO("system " << name);
  const bool field = sys->state_layout().value == StateLayout::Value::field;
  std::vector<std::int8_t> x(static_cast<std::size_t>(state_bytes(*sys, L)));
  Rng rng({79, Purpose::test, 0, 0, 0});
  for (auto [kind, c] : {std::pair{InitialKind::given_m0, 0.3}, std::pair{InitialKind::given_m0, -1.0},
                         std::pair{InitialKind::given_m0, 1.0}, std::pair{InitialKind::random_m0, 0.0},
                         std::pair{InitialKind::all_up, 0.0}}) {
    if (field && kind == InitialKind::all_up) continue;  // a spin state
    sys->initial_state(x.data(), n, kind, c, rng);
    CHECK(check.problem(x.data()) == "");
  }
  sys->random_configuration(x.data(), n, rng);
  CHECK(check.problem(x.data()) == "");
  // Evolved, under every supported boundary and dynamics, and stored back: only sites
  // change, and only to values of the layout. The box is a quarter (half a side) of the
  // lattice where the system can split it, else the whole.
  const std::vector<std::int8_t> start = x;
  int changed = 0;
  for (Boundary b : supported(*sys)) {
    x = start;
    const int w = b == Boundary::periodic ? L : L / 2;
    auto ev = sys->make_evolver();
    ev->load(x.data(), L, Coord{0, 0, 0}, w, b, start.data());
    ev->run_events(4 * sys->events_per_sweep(n), rng);
    if (sys->supports_dynamics(Dynamics::heat_bath)) ev->heatbath_sweep(rng);
    ev->store(x.data(), L, Coord{0, 0, 0});
    INFO("boundary " << to_string(b));
    CHECK(check.problem(x.data()) == "");
    changed += x != start;
  }
  CHECK(changed > 0);  // the checks saw evolved states (4 events per voxel at T = 2.5)
  // Upsampled by the system's rule, the larger state fits the mask of the larger side.
  std::vector<std::int8_t> big(static_cast<std::size_t>(state_bytes(*sys, 2 * L)));
  upsample(*sys, x.data(), L, 2, big.data());
  CHECK(StateCheck(*sys, 2 * L).problem(big.data()) == "");
  // The check itself: a byte outside the layout (a field value that is not a number) is
  // found and located.
  if (field) {
    const float nan = std::nanf("");
    std::memcpy(x.data() + sys->state_layout().voxel_bytes(), &nan, sizeof nan);
    CHECK(check.problem(x.data()).find(sys->dim() == 1 ? "voxel (1)" : "voxel (0, 1") != std::string::npos);
    CHECK(check.problem(x.data()).find("u = nan, which is not a finite number") != std::string::npos);
  } else {
    x[1] = 7;
    CHECK(check.problem(x.data()).find("holds 7") != std::string::npos);
  }
}
