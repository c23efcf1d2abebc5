// Sampling stages: UPSAMPLE, LOCALRELAX colour phases, partial evolution, observables,
// and the exactness of the limiting cases (patch = L, window = L) in law.
#include <catch2/catch.hpp>

#include <cmath>
#include <algorithm>
#include <cstring>
#include <set>

#include "ks.hpp"
#include "sampling/hierarchy.hpp"
#include "systems/initial_state.hpp"
#include "sampling/local_relax.hpp"
#include "sampling/partial_evolution.hpp"
#include "sampling/upsample.hpp"
#include "systems/ising.hpp"
#include "systems/system.hpp"

using namespace macrodyn::sampling;
using namespace macrodyn::systems;

using namespace macrodyn;

namespace {

std::vector<std::int8_t> random_lattice(int dim, int L, std::uint64_t item, double m0 = 0.0,
                                        InitialKind kind = InitialKind::random_m0) {
  std::vector<std::int8_t> x(static_cast<std::size_t>(ipow(L, dim)));
  Rng rng({99, Purpose::test, 0, item, 0});
  make_initial_state(x.data(), static_cast<std::int64_t>(x.size()), kind, m0, rng);
  return x;
}

double whole_lattice_rho(int dim, const std::vector<std::int8_t>& x, int L) {
  double g[2];
  ising_patch_observables(dim, x.data(), L, Coord{0, 0, 0}, L, Boundary::periodic, g);
  return g[1];
}

}  // namespace

TEST_CASE("initial state has floor((1+m0) n / 2) up spins", "[sampling]") {
  for (double m0 : {-1.0, -0.5, 0.0, 0.3, 1.0}) {
    auto x = random_lattice(2, 10, 1, m0, InitialKind::given_m0);
    int up = 0;
    for (auto s : x) up += s > 0;
    CHECK(up == static_cast<int>(std::floor((1.0 + m0) * 100 / 2.0)));
  }
}

TEST_CASE("upsample keeps the magnetisation and divides the domain-wall density by m", "[sampling]") {
  for (int dim : {2, 3}) {
    const int Ls = dim == 2 ? 12 : 6;
    for (int m : {2, 3}) {
      auto src = random_lattice(dim, Ls, 7 + dim + m);
      std::vector<std::int8_t> dst(static_cast<std::size_t>(ipow(Ls * m, dim)));
      upsample_blocks(src.data(), dim, Ls, m, dst.data());
      double gs[2], gd[2];
      ising_patch_observables(dim, src.data(), Ls, Coord{0, 0, 0}, Ls, Boundary::periodic, gs);
      ising_patch_observables(dim, dst.data(), Ls * m, Coord{0, 0, 0}, Ls * m, Boundary::periodic, gd);
      CHECK(gd[0] == gs[0]);
      CHECK(gd[1] == Approx(gs[1] / m).epsilon(1e-12));
      // Block structure: site (x, y) of dst equals site (x / m, y / m) of src.
      if (dim == 2) CHECK(dst[static_cast<std::size_t>((2 * m + 1) * Ls * m + (m + 1))] == src[2 * Ls + 1]);
    }
  }
}

TEST_CASE("upsample by tiling: periodic copies, every Ising observable kept exactly", "[sampling]") {
  for (int dim : {2, 3}) {
    const int Ls = dim == 2 ? 12 : 6;
    for (int m : {2, 3}) {
      auto src = random_lattice(dim, Ls, 17 + dim + m);
      const int L = Ls * m;
      std::vector<std::int8_t> dst(static_cast<std::size_t>(ipow(L, dim)));
      upsample_tiles(src.data(), dim, Ls, m, dst.data());
      // dst(x) = src(x mod Ls), every site.
      bool periodic = true;
      for (std::int64_t i = 0; i < static_cast<std::int64_t>(dst.size()); ++i) {
        std::int64_t q = i, s = 0;
        for (int d = 0; d < dim; ++d) {
          const std::int64_t c = q % L;
          q /= L;
          s += (c % Ls) * ipow(Ls, d);
        }
        periodic = periodic && dst[static_cast<std::size_t>(i)] == src[static_cast<std::size_t>(s)];
      }
      CHECK(periodic);
      // A periodic state's intensive observables: m and the domain-wall fraction alike.
      double gs[2], gd[2];
      ising_patch_observables(dim, src.data(), Ls, Coord{0, 0, 0}, Ls, Boundary::periodic, gs);
      ising_patch_observables(dim, dst.data(), L, Coord{0, 0, 0}, L, Boundary::periodic, gd);
      CHECK(gd[0] == gs[0]);
      CHECK(gd[1] == gs[1]);
    }
  }
  // The rule dispatch: block magnification is upsample_blocks.
  const auto src = random_lattice(2, 8, 3);
  std::vector<std::int8_t> a(256), b(256);
  upsample(*make_system("ising2d"), src.data(), 8, 2, a.data());
  upsample_blocks(src.data(), 2, 8, 2, b.data());
  CHECK(a == b);
}

TEST_CASE("upsampling copies whole voxels of any size in 1, 2 and 3 dimensions", "[sampling][upsample]") {
  // Every voxel of dst is the voxel of src that block magnification (x / m) or tiling
  // (x mod Ls) names, all voxel_bytes of it, for voxels of 1 byte (spins) and of 8 (two
  // float32 channels).
  for (int vb : {1, 8})
    for (int dim : {1, 2, 3})
      for (int m : {2, 3}) {
        const int Ls = dim == 3 ? 4 : 6, L = Ls * m;
        std::vector<std::int8_t> src(static_cast<std::size_t>(ipow(Ls, dim) * vb));
        for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<std::int8_t>(i * 37 + 11);
        std::vector<std::int8_t> blocks(static_cast<std::size_t>(ipow(L, dim) * vb)), tiles(blocks.size());
        upsample_blocks(src.data(), dim, Ls, m, blocks.data(), vb);
        upsample_tiles(src.data(), dim, Ls, m, tiles.data(), vb);
        bool blocks_ok = true, tiles_ok = true;
        for (std::int64_t i = 0; i < ipow(L, dim); ++i) {
          std::int64_t q = i, sb = 0, st = 0;
          for (int d = 0; d < dim; ++d) {  // last axis first
            const std::int64_t c = q % L;
            q /= L;
            sb += (c / m) * ipow(Ls, d);
            st += (c % Ls) * ipow(Ls, d);
          }
          blocks_ok = blocks_ok && std::equal(src.begin() + sb * vb, src.begin() + (sb + 1) * vb, blocks.begin() + i * vb);
          tiles_ok = tiles_ok && std::equal(src.begin() + st * vb, src.begin() + (st + 1) * vb, tiles.begin() + i * vb);
        }
        INFO("voxel bytes " << vb << ", dim " << dim << ", m " << m);
        CHECK(blocks_ok);
        CHECK(tiles_ok);
      }
}

TEST_CASE("linear interpolation by 2: the notes' formula per channel, edges held, tensor product in 2-D",
          "[sampling][upsample]") {
  // docs/design.md §8.6.2: fine[2i+1] = 3/4 c[i] + 1/4 c[i+1], fine[2i] = 1/4 c[i-1] + 3/4 c[i].
  const int n = 5, C = 2;
  std::vector<float> c1(n * C);
  for (int i = 0; i < n * C; ++i) c1[static_cast<std::size_t>(i)] = static_cast<float>(0.1 * i * i - 0.3 * i + 0.25);
  auto coarse = [&](int i, int ch) { return static_cast<double>(c1[static_cast<std::size_t>(std::clamp(i, 0, n - 1) * C + ch)]); };
  auto fine1 = [&](int f, int ch) {
    const int i = f / 2;
    return f % 2 ? 0.75 * coarse(i, ch) + 0.25 * coarse(i + 1, ch) : 0.25 * coarse(i - 1, ch) + 0.75 * coarse(i, ch);
  };
  std::vector<float> f1(2 * n * C);
  upsample_linear2(c1.data(), 1, n, C, f1.data());
  for (int f = 0; f < 2 * n; ++f)
    for (int ch = 0; ch < C; ++ch) CHECK(f1[static_cast<std::size_t>(f * C + ch)] == static_cast<float>(fine1(f, ch)));
  // A field that is linear in x inside the grid stays linear: the mean is kept when the
  // edge cells are excluded, and a constant field stays constant everywhere.
  std::vector<float> flat(n * n * C, 0.375f), flat_fine(4 * n * n * C);
  upsample_linear2(flat.data(), 2, n, C, flat_fine.data());
  CHECK(std::all_of(flat_fine.begin(), flat_fine.end(), [](float v) { return v == 0.375f; }));
  // 2-D: a field that varies along x only gives every fine row the 1-D result.
  std::vector<float> c2(n * n * C), f2(4 * n * n * C);
  for (int y = 0; y < n; ++y) std::copy(c1.begin(), c1.end(), c2.begin() + y * n * C);
  upsample_linear2(c2.data(), 2, n, C, f2.data());
  bool rows = true;
  for (int fy = 0; fy < 2 * n; ++fy) rows = rows && std::equal(f1.begin(), f1.end(), f2.begin() + fy * 2 * n * C);
  CHECK(rows);
}

TEST_CASE("relax phases cover every window once and windows of a phase never overlap", "[sampling]") {
  for (int dim : {2, 3})
    for (int L : {16, 24, 32, 40, 48}) {
      const int w = 16, stride = 8;
      if (dim == 3 && L > 32) continue;
      const auto phases = relax_phases(dim, L, stride);
      const int per_axis = L / stride;
      const int colours = per_axis % 2 == 0 ? 2 : 3;
      CHECK(phases.size() == static_cast<std::size_t>(ipow(colours, dim)));
      std::set<std::uint32_t> ids;
      for (const auto& phase : phases) {
        std::vector<int> covered(static_cast<std::size_t>(ipow(L, dim)), 0);
        for (const auto& win : phase) {
          CHECK(ids.insert(win.id).second);
          std::vector<std::int8_t> ones(static_cast<std::size_t>(ipow(w, dim)), 1);
          std::vector<std::int8_t> mark(covered.size(), 0);
          insert_box(mark.data(), dim, L, win.origin, w, ones.data());
          for (std::size_t i = 0; i < covered.size(); ++i) covered[i] += mark[i];
        }
        CHECK(*std::max_element(covered.begin(), covered.end()) <= 1);
      }
      CHECK(ids.size() == static_cast<std::size_t>(ipow(per_axis, dim)));
    }
}

TEST_CASE("LocalRelax does not depend on the order of windows within a colour", "[sampling]") {
  for (Boundary b : {Boundary::periodic, Boundary::frozen}) {
    const auto sys = make_system("ising2d", SystemParams{{"T", 2.27}, {"h", 0.0}});
    auto ev = sys->make_evolver();
    std::vector<std::int8_t> stage;
    for (int L : {32, 40}) {
      auto a = random_lattice(2, L, 3);
      auto c = a;
      const RelaxSpec spec{16, 8, 0, b};
      local_relax_in_order(*sys, *ev, a.data(), L, spec, 5, 1, 17, stage, false);
      local_relax_in_order(*sys, *ev, c.data(), L, spec, 5, 1, 17, stage, true);
      CHECK(a == c);
      CHECK(a != random_lattice(2, L, 3));
    }
  }
}

TEST_CASE("patch observables of the evolver equal those of the system for each boundary", "[sampling]") {
  const auto sys = make_system("ising2d", SystemParams{{"T", 2.5}, {"h", 0.1}});
  auto ev = sys->make_evolver();
  auto x = random_lattice(2, 32, 11);
  const Tiling tiling{2, 32, 8};
  for (Boundary b : {Boundary::periodic, Boundary::frozen})
    for (std::int64_t I = 0; I < tiling.patches(); ++I) {
      double g1[2], g2[2];
      ev->load(x.data(), 32, tiling.origin(I), 8, b, x.data());
      ev->observables(g1);
      sys->patch_observables(x.data(), 32, tiling.origin(I), 8, b, g2);
      CHECK(g1[0] == g2[0]);
      CHECK(g1[1] == g2[1]);
    }
  // With `frozen`, patches count their bonds to real neighbours: phi is the lattice's rho.
  double phi[2];
  macro_observables(*sys, x.data(), 32, 8, Boundary::frozen, phi);
  CHECK(phi[1] == Approx(whole_lattice_rho(2, x, 32)).epsilon(1e-12));
}

TEST_CASE("partial evolution records the evolved patch and leaves the snapshot frozen", "[sampling]") {
  const auto sys = make_system("ising2d", SystemParams{{"T", 2.5}, {"h", 0.1}});
  auto ev = sys->make_evolver();
  auto x = random_lattice(2, 32, 12);
  const auto before = x;
  std::vector<PairRecord> pairs;
  partial_evolution(*sys, *ev, x.data(), 32, PartialSpec{16, Boundary::periodic, PairsMode::all, 0}, 3, 42, true, pairs);
  REQUIRE(pairs.size() == 4);
  CHECK(x == before);
  for (std::size_t k = 0; k < pairs.size(); ++k) {
    const PairRecord& r = pairs[k];
    CHECK(r.patch_index == static_cast<int>(k));
    CHECK(r.dt > 0.0);
    std::vector<std::int8_t> box(256);
    extract_box(x.data(), 2, 32, Tiling{2, 32, 16}.origin(r.patch_index), 16, box.data());
    CHECK(r.patch_before == box);
    double g[2];
    sys->patch_observables(r.patch_after.data(), 16, Coord{0, 0, 0}, 16, Boundary::periodic, g);
    CHECK(r.g_after[0] == g[0]);
    CHECK(r.g_after[1] == g[1]);
  }
  // `one` picks a single patch, the same for the same (seed, snapshot), and pairs of
  // `one` and `all` for that patch agree bit for bit.
  std::vector<PairRecord> one, again;
  partial_evolution(*sys, *ev, x.data(), 32, PartialSpec{16, Boundary::periodic, PairsMode::one, 0}, 3, 42, true, one);
  partial_evolution(*sys, *ev, x.data(), 32, PartialSpec{16, Boundary::periodic, PairsMode::one, 0}, 3, 42, true, again);
  REQUIRE(one.size() == 1);
  CHECK(one[0].patch_after == again[0].patch_after);
  CHECK(one[0].dt == pairs[static_cast<std::size_t>(one[0].patch_index)].dt);
}

// A 4x4 patch of down spins in a 16x16 Curie-Weiss system of up spins (T = 1.1, h = 0.1).
// The first event of a partial evolution waits Exp(R0), R0 = 16 r_down(S) with S the
// magnetisation sum the patch feels: the whole system's (S = 224, N = 256) for `global`,
// the patch's alone (S = -16, N = 16) for `periodic`. One-event partial evolutions must
// have mean dt = 1 / R0 exactly (within 4 SE, SE = mean / sqrt(repeats)).
TEST_CASE("Curie-Weiss global partial evolution feels the whole system's magnetisation", "[sampling]") {
  const double beta = 1.0 / 1.1, h = 0.1;
  const auto sys = make_system("curie_weiss", SystemParams{{"T", 1.1}, {"h", h}});
  auto ev = sys->make_evolver();
  std::vector<std::int8_t> x(256, 1);
  for (int a = 0; a < 4; ++a)
    for (int c = 0; c < 4; ++c) x[static_cast<std::size_t>(a * 16 + c)] = -1;
  auto mean_first_wait = [&](double S, double N) {
    const double r_down = 1.0 / (1.0 + std::exp(beta * -2.0 * ((S + 1.0) / N + h)));
    return 1.0 / (16.0 * r_down);
  };
  const int repeats = 20000;
  for (Boundary b : {Boundary::global, Boundary::periodic}) {
    const double expected = b == Boundary::global ? mean_first_wait(224, 256) : mean_first_wait(-16, 16);
    double sum = 0.0;
    std::vector<PairRecord> pairs;
    for (int r = 0; r < repeats; ++r) {
      partial_evolution(*sys, *ev, x.data(), 16, PartialSpec{4, b, PairsMode::all, 1}, 9, r, true, pairs);
      const PairRecord& first = pairs[0];  // patch 0: the down spins
      REQUIRE(first.patch_index == 0);
      sum += first.dt;
      if (r == 0) {
        CHECK(first.z_star[0] == Approx(224.0 / 256.0));
        CHECK(first.g_before[0] == -1.0);
        CHECK(first.g_after[0] == Approx(-14.0 / 16.0));  // one spin flipped up
        CHECK(std::count(first.patch_after.begin(), first.patch_after.end(), 1) == 1);
      }
    }
    const double mean = sum / repeats, se = expected / std::sqrt(repeats);
    INFO(to_string(b) << ": mean dt " << mean << ", exact " << expected << ", SE " << se);
    CHECK(std::fabs(mean - expected) < 4.0 * se);
  }
}

// Exactness: with patch = L (K = 1) and `periodic`, a partial evolution is one sweep of
// the full dynamics. Compared in law with an independent code path (the evolver run on
// the whole lattice, other RNG streams): two-sample KS at alpha = 0.001 on dt and on
// the change of m, 10^4 repeats each.
TEST_CASE("partial evolution with patch = L equals one sweep of the full dynamics in law", "[sampling][exact]") {
  const int L = 8, repeats = 10000;
  const auto sys = make_system("ising2d", SystemParams{{"T", 2.5}, {"h", 0.1}});
  auto ev = sys->make_evolver();
  IsingEvolver<2> full(1.0 / 2.5, 0.1);
  auto x = random_lattice(2, L, 21);
  double g0[2];
  sys->patch_observables(x.data(), L, Coord{0, 0, 0}, L, Boundary::periodic, g0);
  std::vector<double> dt_a, dt_b, dm_a, dm_b;
  std::vector<PairRecord> pairs;
  for (int r = 0; r < repeats; ++r) {
    partial_evolution(*sys, *ev, x.data(), L, PartialSpec{L, Boundary::periodic, PairsMode::one, 0}, 8, r, false, pairs);
    dt_a.push_back(pairs[0].dt);
    dm_a.push_back(pairs[0].g_after[0] - pairs[0].g_before[0]);
    full.load_periodic(x.data(), L);
    Rng rng({8, Purpose::test, 0, static_cast<std::uint64_t>(r), 1});
    dt_b.push_back(full.run_events(L * L, rng));
    double g[2];
    full.observables(g);
    dm_b.push_back(g[0] - g0[0]);
  }
  const double crit = test_ks::critical(repeats, repeats, 0.001);
  const double d_dt = test_ks::statistic(dt_a, dt_b), d_dm = test_ks::statistic(dm_a, dm_b);
  INFO("KS D(dt) = " << d_dt << ", D(dm) = " << d_dm << ", critical " << crit);
  CHECK(d_dt < crit);
  CHECK(d_dm < crit);
}

// Exactness: `periodic` LocalRelax with w = L has 2^D windows, each the whole lattice
// shifted (a torus is shift invariant), so it equals 2^D sweeps of the full dynamics.
TEST_CASE("periodic LocalRelax with window = L equals 2^D sweeps of the full dynamics in law",
          "[sampling][exact]") {
  const int repeats = 10000;
  for (int dim : {2, 3}) {
    const int L = dim == 2 ? 8 : 4;
    const std::int64_t n = ipow(L, dim);
    const auto sys = make_system(dim == 2 ? "ising2d" : "ising3d", SystemParams{{"T", dim == 2 ? 2.5 : 4.5}, {"h", 0.1}});
    auto ev = sys->make_evolver();
    auto full = sys->make_evolver();
    const auto x0 = random_lattice(dim, L, 31 + dim);
    std::vector<std::int8_t> stage, x;
    std::vector<double> m_a, m_b, r_a, r_b;
    for (int r = 0; r < repeats; ++r) {
      x = x0;
      local_relax(*sys, *ev, x.data(), L, RelaxSpec{L, L / 2, 0, Boundary::periodic}, 4, 1, r, stage);
      double g[2];
      sys->patch_observables(x.data(), L, Coord{0, 0, 0}, L, Boundary::periodic, g);
      m_a.push_back(g[0]);
      r_a.push_back(g[1]);
      full->load(x0.data(), L, Coord{0, 0, 0}, L, Boundary::periodic, nullptr);
      Rng rng({4, Purpose::test, 0, static_cast<std::uint64_t>(r), 2});
      full->run_events(static_cast<std::uint64_t>(ipow(2, dim) * n), rng);
      full->observables(g);
      m_b.push_back(g[0]);
      r_b.push_back(g[1]);
    }
    const double crit = test_ks::critical(repeats, repeats, 0.001);
    const double dm = test_ks::statistic(m_a, m_b), dr = test_ks::statistic(r_a, r_b);
    INFO("dim " << dim << ": KS D(m) = " << dm << ", D(rho) = " << dr << ", critical " << crit);
    CHECK(dm < crit);
    CHECK(dr < crit);
  }
}

TEST_CASE("hierarchical snapshots depend only on (seed, level, item)", "[sampling]") {
  const auto sys = make_system("ising2d", SystemParams{{"T", 2.5}, {"h", 0.1}});
  auto ev1 = sys->make_evolver(), ev2 = sys->make_evolver();
  std::vector<std::int8_t> pool;
  for (int r = 0; r < 5; ++r) {
    auto x = random_lattice(2, 8, 100 + r);
    pool.insert(pool.end(), x.begin(), x.end());
  }
  HierarchySpec spec{{8, 16}, 2, RelaxSpec{16, 8, 0, Boundary::periodic}, 77};
  std::vector<std::int8_t> a(256), b(256), c(256), stage;
  build_level_snapshot(*sys, *ev1, spec, 1, pool.data(), 5, 3, a.data(), stage);
  build_level_snapshot(*sys, *ev2, spec, 1, pool.data(), 5, 4, c.data(), stage);
  build_level_snapshot(*sys, *ev2, spec, 1, pool.data(), 5, 3, b.data(), stage);
  CHECK(a == b);
  CHECK(a != c);
  spec.seed = 78;
  build_level_snapshot(*sys, *ev2, spec, 1, pool.data(), 5, 3, b.data(), stage);
  CHECK(a != b);
}

TEST_CASE("drawing without replacement gives distinct indices", "[sampling]") {
  const auto idx = draw_without_replacement(1000, 1000, 5);
  std::set<std::int64_t> s(idx.begin(), idx.end());
  CHECK(s.size() == 1000);
  CHECK(*s.rbegin() == 999);
  const auto part = draw_without_replacement(1000000, 10, 5);
  CHECK(std::set<std::int64_t>(part.begin(), part.end()).size() == 10);
}
