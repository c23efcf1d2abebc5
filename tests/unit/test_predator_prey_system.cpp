// The predator-prey SPDE as a registered System (systems/predator_prey_system.hpp):
//   * its evolver on the whole grid is the serial reference stepper bit for bit (same
//     noise keys), in 1-D and 2-D, over many steps and frames;
//   * a patch evolved with its frozen halo equals the full-grid step of its cells bit
//     for bit (docs/design.md §8.6.3), whichever patch;
//   * the notes' noise-free check: from u = v = 0.5 one step gives du = 0, dv = 0.0015;
//   * its [system] keys: words for the Laplacian and the noise, another system's key and
//     an unknown word refused with a sentence naming the key;
//   * linear-interpolation upsampling keeps the grid means (to float32 rounding);
//   * initial states u = m + k cos(10 pi x), v = 1 - m - k cos(10 pi x) with (m, k) drawn
//     in the configured ranges.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.hpp"
#include "sampling/upsample.hpp"
#include "systems/predator_prey.hpp"
#include "systems/predator_prey_system.hpp"

using namespace macrodyn;
using namespace macrodyn::systems;

namespace {

// A float32 state [cells, 2] of u, v and the same values as two double fields.
std::vector<std::int8_t> pack(const std::vector<double>& u, const std::vector<double>& v) {
  std::vector<std::int8_t> x(u.size() * 8);
  for (std::size_t i = 0; i < u.size(); ++i) {
    const float fu = static_cast<float>(u[i]), fv = static_cast<float>(v[i]);
    std::memcpy(x.data() + 8 * i, &fu, 4);
    std::memcpy(x.data() + 8 * i + 4, &fv, 4);
  }
  return x;
}
void unpack(const std::int8_t* x, std::size_t cells, std::vector<double>& u, std::vector<double>& v) {
  u.resize(cells);
  v.resize(cells);
  for (std::size_t i = 0; i < cells; ++i) {
    float fu, fv;
    std::memcpy(&fu, x + 8 * i, 4);
    std::memcpy(&fv, x + 8 * i + 4, 4);
    u[i] = fu;
    v[i] = fv;
  }
}

std::vector<std::int8_t> start_state(const System& sys, int L, std::uint64_t item) {
  std::vector<std::int8_t> x(static_cast<std::size_t>(ipow(L, sys.dim()) * 8));
  Rng rng({5, Purpose::test, 0, item, 0});
  sys.initial_state(x.data(), ipow(L, sys.dim()), InitialKind::random_m0, 0.0, rng);
  return x;
}

}  // namespace

TEST_CASE("predator-prey evolver on the whole grid is the serial stepper bit for bit", "[systems][predator_prey]") {
  for (int dim : {1, 2}) {
    const int L = dim == 1 ? 40 : 12;
    const auto sys = make_system(dim == 1 ? "predator_prey" : "predator_prey2d");
    const auto x = start_state(*sys, L, 3);
    const auto cells = static_cast<std::size_t>(ipow(L, dim));
    std::vector<double> u, v;
    unpack(x.data(), cells, u, v);
    fields::SerialStepper ref(predator_prey_params(dim, sys->params(), L));
    auto ev = sys->make_evolver();
    ev->load(x.data(), L, Coord{0, 0, 0}, L, Boundary::periodic, nullptr);
    Rng rng({11, Purpose::small_dynamics, 0, 7, 0});
    bool same = true;
    std::uint32_t step = 0;
    for (int frame = 0; frame < 20; ++frame) {
      const int steps = 1 + frame % 3;  // frames of 1, 2 and 3 steps: the step count runs on
      CHECK(ev->run_events(static_cast<std::uint64_t>(steps), rng) == steps * 0.01);
      for (int s = 0; s < steps; ++s, ++step) ref.step(u, v, fields::NoiseKey{11, Purpose::small_dynamics, 7, step});
      same = same && pack(u, v) == std::vector<std::int8_t>(ev->box(), ev->box() + cells * 8);
    }
    INFO("dim " << dim);
    CHECK(same);
  }
}

TEST_CASE("predator-prey patch with a frozen halo equals the full-grid step of its cells", "[systems][predator_prey]") {
  for (int dim : {1, 2}) {
    const int L = dim == 1 ? 40 : 12, p = dim == 1 ? 8 : 4;
    const auto sys = make_system(dim == 1 ? "predator_prey" : "predator_prey2d");
    const auto x = start_state(*sys, L, 4);
    auto full = sys->make_evolver(), patch = sys->make_evolver();
    full->load(x.data(), L, Coord{0, 0, 0}, L, Boundary::frozen, x.data());
    Rng rf({12, Purpose::partial_evolution, 0, 3, 0});
    full->run_events(1, rf);
    auto stepped = x;
    full->store(stepped.data(), L, Coord{0, 0, 0});
    const Tiling tiling{dim, L, p};
    for (std::int64_t I = 0; I < tiling.patches(); ++I) {
      patch->load(x.data(), L, tiling.origin(I), p, Boundary::frozen, x.data());
      Rng rp({12, Purpose::partial_evolution, 0, 3, 0});
      patch->run_events(1, rp);
      auto y = x;
      patch->store(y.data(), L, tiling.origin(I));
      // The patch's cells are those of the full step; the others are unchanged.
      std::vector<std::int8_t> expect = x;
      const auto o = tiling.origin(I);
      for (std::int64_t c = 0; c < ipow(L, dim); ++c) {
        const std::int64_t cx = c % L, cy = c / L;
        const bool in = dim == 1 ? (cx >= o[0] && cx < o[0] + p)
                                 : (cy >= o[0] && cy < o[0] + p && cx >= o[1] && cx < o[1] + p);
        if (in) std::memcpy(expect.data() + 8 * c, stepped.data() + 8 * c, 8);
      }
      INFO("dim " << dim << ", patch " << I);
      CHECK(y == expect);
    }
  }
}

TEST_CASE("predator-prey noise-free step from u = v = 0.5 (docs/design.md §8.6.6)", "[systems][predator_prey]") {
  const auto sys = make_system("predator_prey", SystemParams{{"eta", 0.0}});
  const int L = 10;
  const auto x = pack(std::vector<double>(L, 0.5), std::vector<double>(L, 0.5));
  auto ev = sys->make_evolver();
  ev->load(x.data(), L, Coord{0, 0, 0}, L, Boundary::frozen, nullptr);
  Rng rng({1, Purpose::test, 0, 0, 0});
  ev->run_events(1, rng);
  std::vector<double> u, v;
  unpack(ev->box(), L, u, v);
  for (int i = 0; i < L; ++i) {
    CHECK(u[static_cast<std::size_t>(i)] == static_cast<float>(0.5));                // f_u = 0.5 (1 - 1) = 0
    CHECK(v[static_cast<std::size_t>(i)] == static_cast<float>(0.5 + 0.01 * 0.15));  // f_v = 3 0.5 0.1 = 0.15
  }
  double g[2];
  ev->observables(g);
  CHECK(g[0] == Approx(0.5).epsilon(1e-9));
  CHECK(g[1] == Approx(0.5015).epsilon(1e-7));
}

TEST_CASE("predator-prey [system] keys: words, other systems' keys and unknown words", "[systems][predator_prey]") {
  SystemParams given;
  given.set_word("laplacian", "physical");
  given.set_word("noise", "white");
  const auto p = resolve_system_params("predator_prey", given);
  CHECK(p.get("laplacian") == 1);
  CHECK(p.get("noise") == 1);
  CHECK(p.describe().find("dt = 0.01") != std::string::npos);
  const auto params = predator_prey_params(1, p, 100);
  CHECK(params.laplacian == fields::Laplacian::physical);
  CHECK(params.noise == fields::NoiseKind::space_time_white);
  CHECK(params.laplacian_scale() == 10000.0);

  SystemParams curvy;
  curvy.set_word("laplacian", "curvy");
  CHECK_THROWS_WITH(make_system("predator_prey", curvy),
                    Catch::Contains("system.laplacian = curvy is not one of grid, physical"));
  SystemParams word_for_number;
  word_for_number.set_word("dt", "small");
  CHECK_THROWS_WITH(make_system("predator_prey", word_for_number), Catch::Contains("system.dt = 'small' is not a number"));
  CHECK_THROWS_WITH(make_system("predator_prey", SystemParams{{"T", 2.0}}),
                    Catch::Contains("system.T is not a key of system predator_prey"));
  CHECK_THROWS_AS(make_system("predator_prey", SystemParams{{"m_min", 0.6}}), InputError);  // above m_max
  CHECK_THROWS_AS(make_system("predator_prey", SystemParams{{"dt", 0.0}}), InputError);
}

TEST_CASE("predator-prey upsampling by linear interpolation keeps the grid means", "[systems][predator_prey]") {
  for (int dim : {1, 2}) {
    const int Ls = dim == 1 ? 50 : 10;
    const auto sys = make_system(dim == 1 ? "predator_prey" : "predator_prey2d");
    const auto x = start_state(*sys, Ls, 9);
    for (int m : {2, 4}) {
      std::vector<std::int8_t> big(static_cast<std::size_t>(ipow(Ls * m, dim) * 8));
      sampling::upsample(*sys, x.data(), Ls, m, big.data());
      double gs[2], gb[2];
      sys->patch_observables(x.data(), Ls, Coord{0, 0, 0}, Ls, Boundary::frozen, gs);
      sys->patch_observables(big.data(), Ls * m, Coord{0, 0, 0}, Ls * m, Boundary::frozen, gb);
      INFO("dim " << dim << ", factor " << m);
      // Exact in real arithmetic (the held edges add as much as they take); each value is
      // rounded to float32 once per doubling, 2^-24 relative.
      CHECK(std::fabs(gb[0] - gs[0]) < 1e-6);
      CHECK(std::fabs(gb[1] - gs[1]) < 1e-6);
    }
  }
}

TEST_CASE("predator-prey initial states follow u = m + k cos(10 pi x) with (m, k) in range", "[systems][predator_prey]") {
  const auto sys = make_system("predator_prey");
  const int L = 100;
  std::vector<std::int8_t> x(L * 8);
  for (std::uint64_t item = 0; item < 50; ++item) {
    Rng rng({2, Purpose::initial_state, 0, item, 0});
    const double m = sys->initial_state(x.data(), L, InitialKind::random_m0, 0.0, rng);
    CHECK(m >= 0.45);
    CHECK(m <= 0.55);
    std::vector<double> u, v;
    unpack(x.data(), L, u, v);
    // k from cell 0: u - m = k cos(pi / 20); and u + v = 1 everywhere (to float rounding).
    const double k = (u[0] - m) / std::cos(10.0 * 3.141592653589793 * 0.5 / L);
    CHECK(k >= 0.05 - 1e-6);
    CHECK(k <= 0.15 + 1e-6);
    for (int i = 0; i < L; ++i) CHECK(std::fabs(u[static_cast<std::size_t>(i)] + v[static_cast<std::size_t>(i)] - 1.0) < 1e-6);
  }
  Rng rng({2, Purpose::initial_state, 0, 0, 0});
  CHECK(sys->initial_state(x.data(), L, InitialKind::given_m0, 0.5, rng) == 0.5);
}

TEST_CASE("predator-prey noise slots: a trajectory may pass 2^20 steps, a patch may not", "[systems][predator_prey]") {
  // A trajectory's stream has sub 0 and the whole 32-bit step slot; a patch or window
  // (sub > 0) keeps its steps below 2^20 so that the sub slot above them stays its own.
  const auto sys = make_system("predator_prey", SystemParams{{"eta", 0.001}});
  const auto x = pack(std::vector<double>(2, 0.4), std::vector<double>(2, 0.6));
  auto ev = sys->make_evolver();
  ev->load(x.data(), 2, Coord{0, 0, 0}, 2, Boundary::frozen, nullptr);
  Rng trajectory({3, Purpose::small_dynamics, 0, 0, 0});
  CHECK_NOTHROW(ev->run_events((1u << 20) + 5, trajectory));
  ev->load(x.data(), 2, Coord{0, 0, 0}, 2, Boundary::frozen, nullptr);
  Rng patch({3, Purpose::partial_evolution, 0, 0, 1});
  CHECK_THROWS_AS(ev->run_events((1u << 20) + 5, patch), std::length_error);
  CHECK_NOTHROW(ev->run_events(5, patch));  // the throw came before any step
}
