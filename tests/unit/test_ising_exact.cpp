// Ising simulator against exact oracles on tiny lattices (enumeration of all states and
// the exact master equation of the jump chain):
//   * 3x3 (2D) and 3x3x3 (3D) periodic: time-weighted continuous-time histogram of the
//     energy classes and per-sweep heat-bath histogram against enumeration (2^9, 2^27);
//   * 3x3 periodic dynamics: law of the state and of the physical duration after one
//     sweep (9 events) from all-up, against the exact embedded jump chain;
//   * 3x3 `frozen` window of a 7x7 lattice: Boltzmann law with the halo as a field.
// Energy classes are computed here from the spins (box()) with an independent neighbour
// construction, never from the evolver's own bookkeeping, which is checked separately.
#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <map>
#include <vector>

#include "stats_helpers.hpp"
#include "systems/ising.hpp"

using namespace macrodyn::systems;

using namespace macrodyn;
using namespace macrodyn::test_stats;

namespace {

constexpr std::uint64_t kSeed = 20240611;

std::uint32_t bits_of(const std::int8_t* s, int n) {
  std::uint32_t x = 0;
  for (int i = 0; i < n; ++i)
    if (s[i] > 0) x |= 1u << i;
  return x;
}

// Periodic w^D box: each bond once, as (i, i + e_d mod w).
std::vector<std::pair<int, int>> periodic_bonds(int D, int w) {
  std::vector<std::pair<int, int>> bonds;
  const int n = D == 2 ? w * w : w * w * w;
  for (int i = 0; i < n; ++i) {
    int c[3] = {0, 0, 0};
    int r = i;
    for (int d = D - 1; d >= 0; --d) { c[d] = r % w; r /= w; }
    for (int d = 0; d < D; ++d) {
      int e[3] = {c[0], c[1], c[2]};
      e[d] = (e[d] + 1) % w;
      int j = 0;
      for (int a = 0; a < D; ++a) j = j * w + e[a];
      bonds.emplace_back(i, j);
    }
  }
  return bonds;
}

// 3x3x3 periodic: number of unsatisfied bonds of a 27-bit state by bit tricks.
// Site i = 9a + 3b + c. For the axis of stride s, the +1 neighbour of a site with
// coordinate 0 or 1 is at i + s and of a site with coordinate 2 at i - 2s, so the
// neighbour-state word is ((x >> s) & lo) | ((x << 2s) & hi).
struct Bits3 {
  std::uint32_t lo[3], hi[3];
  int stride[3] = {9, 3, 1};
  Bits3() {
    for (int ax = 0; ax < 3; ++ax) {
      lo[ax] = hi[ax] = 0;
      for (int i = 0; i < 27; ++i) {
        const int coord = (i / stride[ax]) % 3;
        (coord < 2 ? lo[ax] : hi[ax]) |= 1u << i;
      }
    }
  }
  int unsat(std::uint32_t x) const {
    int u = 0;
    for (int ax = 0; ax < 3; ++ax) {
      const int s = stride[ax];
      const std::uint32_t y = ((x >> s) & lo[ax]) | ((x << (2 * s)) & hi[ax]);
      u += __builtin_popcount(x ^ y);
    }
    return u;
  }
};

// Exact class probabilities from degeneracies g[(bonds, up)] of E = -bonds - h M.
struct ClassTable {
  std::map<std::pair<int, int>, int> index;  // (bond sum, up count) -> class id
  std::vector<double> p;
};

ClassTable classes_from_degeneracy(const std::map<std::pair<int, int>, double>& g, int n,
                                   double beta, double h) {
  ClassTable t;
  double emin = 1e300;
  for (const auto& kv : g) {
    const double E = -kv.first.first - h * (2 * kv.first.second - n);
    emin = std::min(emin, E);
  }
  double Z = 0;
  for (const auto& kv : g) {
    const double E = -kv.first.first - h * (2 * kv.first.second - n);
    t.index[kv.first] = static_cast<int>(t.p.size());
    t.p.push_back(kv.second * std::exp(-beta * (E - emin)));
    Z += t.p.back();
  }
  for (auto& v : t.p) v /= Z;
  return t;
}

void report_hist(const char* what, const VectorBatches::Result& r, std::size_t bins,
                 std::size_t batches, double secs) {
  std::cout << "[physics] " << what << ": bins " << bins << ", batches " << batches
            << ", Hotelling chi2 " << r.stat << " (dof " << r.dof << "), p " << r.pvalue
            << ", max |z| " << r.max_z << ", " << secs << " s\n";
}

// Runs continuous-time and heat-bath dynamics on a periodic w^D box and tests the
// time-weighted (CT) and per-sweep (HB) histograms of the energy classes against exact
// probabilities. classify(bits) -> (bond sum, up count).
template <int D, class Classify>
void check_equilibrium_histograms(int w, double T, double h, const ClassTable& exact,
                                  Classify classify, std::uint64_t item,
                                  std::size_t batches, std::uint64_t events_per_batch,
                                  std::uint64_t sweeps_per_batch, const char* name) {
  const int n = D == 2 ? w * w : w * w * w;
  const double beta = 1.0 / T;
  const auto pooled = pool_small(exact.p, 2e-3);
  const std::vector<int>& bin_of_class = pooled.first;
  const std::vector<double>& q = pooled.second;
  const std::size_t k = q.size();
  REQUIRE(k >= 5);
  auto bin_of = [&](const std::int8_t* s) {
    const std::pair<int, int> c = classify(bits_of(s, n));
    return static_cast<std::size_t>(bin_of_class[exact.index.at(c)]);
  };
  // Exact mean energy per site, for the CT / HB agreement check.
  double e_exact = 0;
  for (const auto& kv : exact.index)
    e_exact += exact.p[kv.second] * (-kv.first.first - h * (2 * kv.first.second - n)) / n;

  std::vector<std::int8_t> init(n, 1);
  // Continuous time, time weighted.
  {
    const auto t0 = std::chrono::steady_clock::now();
    IsingEvolver<D> ev(beta, h);
    ev.load_periodic(init.data(), w);
    Rng rng(WorkItem{kSeed, Purpose::test, 0, item, 0});
    ev.run_events(1000, rng);  // burn-in
    VectorBatches hist(k);
    RatioBatches energy;
    std::uint64_t bookkeeping_errors = 0;
    for (std::size_t b = 0; b < batches; ++b) {
      double fe = 0, tt = 0;
      ev.run(events_per_batch, rng, [&](double dt) {
        const std::int8_t* s = ev.box();
        const std::pair<int, int> c = classify(bits_of(s, n));
        if (c.first != ev.bond_sum() || 2 * c.second - n != ev.magnetisation_sum())
          ++bookkeeping_errors;
        hist.add(static_cast<std::size_t>(bin_of_class[exact.index.at(c)]), dt);
        fe += dt * ev.energy() / n;
        tt += dt;
      });
      hist.end_batch();
      energy.add(fe, tt);
    }
    const auto r = hist.test(q, k - 1);
    report_hist((std::string(name) + " continuous time, time weighted").c_str(), r, k, batches,
                seconds_since(t0));
    std::cout << "[physics]   energy/site CT " << energy.mean() << " +- " << energy.se()
              << " (merged x4: " << energy.se_merged(4) << "), exact " << e_exact << "\n";
    CHECK(bookkeeping_errors == 0);
    REQUIRE(r.pvalue > 1e-3);
    REQUIRE(std::fabs(energy.mean() - e_exact) < 4 * energy.se());
  }
  // Heat-bath sweeps, one sample per sweep.
  {
    const auto t0 = std::chrono::steady_clock::now();
    IsingEvolver<D> ev(beta, h);
    ev.load_periodic(init.data(), w);
    Rng rng(WorkItem{kSeed, Purpose::test, 0, item, 1});
    for (int s = 0; s < 100; ++s) ev.heatbath_sweep(rng);
    VectorBatches hist(k);
    RatioBatches energy;
    for (std::size_t b = 0; b < batches; ++b) {
      double fe = 0;
      for (std::uint64_t s = 0; s < sweeps_per_batch; ++s) {
        ev.heatbath_sweep(rng);
        hist.add(bin_of(ev.box()), 1.0);
        fe += ev.energy() / n;
      }
      hist.end_batch();
      energy.add(fe, static_cast<double>(sweeps_per_batch));
    }
    const auto r = hist.test(q, k - 1);
    report_hist((std::string(name) + " heat-bath sweeps").c_str(), r, k, batches, seconds_since(t0));
    std::cout << "[physics]   energy/site HB " << energy.mean() << " +- " << energy.se()
              << " (merged x4: " << energy.se_merged(4) << "), exact " << e_exact << "\n";
    REQUIRE(r.pvalue > 1e-3);
    REQUIRE(std::fabs(energy.mean() - e_exact) < 4 * energy.se());
  }
}

}  // namespace

TEST_CASE("stats helpers: chi2 p-values and Hotelling statistic", "[physics][stats]") {
  // Known chi^2 quantiles.
  CHECK(chi2_pvalue(3.841458820694124, 1) == Approx(0.05).epsilon(1e-8));
  CHECK(chi2_pvalue(18.307038053275146, 10) == Approx(0.05).epsilon(1e-8));
  CHECK(chi2_pvalue(124.34211340400407, 100) == Approx(0.05).epsilon(1e-8));
  CHECK(chi2_pvalue(10.827566170662733, 1) == Approx(0.001).epsilon(1e-7));
  CHECK(chi2_pvalue(0.0, 3) == 1.0);
  // Independent uniform draws into 4 bins: the statistic is a chi^2_3 draw.
  Rng rng(WorkItem{kSeed, Purpose::test, 0, 999, 0});
  VectorBatches h(4);
  for (int b = 0; b < 400; ++b) {
    for (int i = 0; i < 1000; ++i) h.add(rng.below(4), 1.0);
    h.end_batch();
  }
  const auto r = h.test({0.25, 0.25, 0.25, 0.25}, 3);
  INFO("chi2 " << r.stat << " p " << r.pvalue);
  CHECK(r.pvalue > 1e-3);
  // A 1% excess in one bin (40 SE at 400k samples) must be rejected.
  VectorBatches h2(4);
  for (int b = 0; b < 400; ++b) {
    for (int i = 0; i < 1000; ++i) h2.add(rng.uniform() < 0.26 ? 0 : 1 + rng.below(3), 1.0);
    h2.end_batch();
  }
  CHECK(h2.test({0.25, 0.25, 0.25, 0.25}, 3).pvalue < 1e-6);
}

TEST_CASE("Ising 3x3 periodic: time-weighted CT and heat-bath energy histograms match enumeration",
          "[physics][ising_exact]") {
  const int w = 3, n = 9;
  const double T = 2.5, h = 0.2;
  const auto bonds = periodic_bonds(2, w);
  REQUIRE(bonds.size() == 18);
  auto classify = [&](std::uint32_t x) {
    int B = 0;
    for (const auto& b : bonds) B += (((x >> b.first) ^ (x >> b.second)) & 1u) ? -1 : 1;
    return std::make_pair(B, __builtin_popcount(x));
  };
  std::map<std::pair<int, int>, double> g;
  for (std::uint32_t x = 0; x < (1u << n); ++x) g[classify(x)] += 1;
  const ClassTable exact = classes_from_degeneracy(g, n, 1.0 / T, h);
  check_equilibrium_histograms<2>(w, T, h, exact, classify, 1, 2000, 2000, 1000, "2D 3x3");
}

TEST_CASE("Ising 3x3x3 periodic: time-weighted CT and heat-bath energy histograms match 2^27 enumeration",
          "[physics][ising_exact]") {
  const int w = 3, n = 27;
  const double T = 4.0, h = 0.3;
  const Bits3 bits;
  const auto bonds = periodic_bonds(3, w);
  REQUIRE(bonds.size() == 81);
  // The bit trick against a plain bond loop on random states.
  {
    Rng rng(WorkItem{kSeed, Purpose::test, 0, 2, 9});
    for (int t = 0; t < 2000; ++t) {
      const std::uint32_t x = rng.next_u32() & ((1u << n) - 1);
      int u = 0;
      for (const auto& b : bonds) u += ((x >> b.first) ^ (x >> b.second)) & 1u;
      REQUIRE(bits.unsat(x) == u);
    }
  }
  auto classify = [&](std::uint32_t x) {
    return std::make_pair(81 - 2 * bits.unsat(x), __builtin_popcount(x));
  };
  const auto t0 = std::chrono::steady_clock::now();
  // Enumeration by planes: x = p0 | p1 << 9 | p2 << 18 (plane a = 0, 1, 2 of 9 sites);
  // unsat = sum of in-plane (3x3 torus) counts + popcount of the XOR of adjacent planes.
  std::vector<double> deg(82 * 28, 0.0);  // [unsat][up]
  {
    int inplane[512], pc[512];
    for (std::uint32_t p = 0; p < 512; ++p) {
      pc[p] = __builtin_popcount(p);
      // A state with planes (p, 0, 0) has inplane(p) + 2 popcount(p) unsatisfied bonds.
      inplane[p] = bits.unsat(p) - 2 * pc[p];
    }
    std::vector<std::uint64_t> cnt(82 * 28, 0);
    for (std::uint32_t p0 = 0; p0 < 512; ++p0)
      for (std::uint32_t p1 = 0; p1 < 512; ++p1) {
        const int u01 = inplane[p0] + inplane[p1] + pc[p0 ^ p1], up01 = pc[p0] + pc[p1];
        for (std::uint32_t p2 = 0; p2 < 512; ++p2)
          ++cnt[(u01 + inplane[p2] + pc[p1 ^ p2] + pc[p2 ^ p0]) * 28 + up01 + pc[p2]];
      }
    for (std::size_t i = 0; i < cnt.size(); ++i) deg[i] = static_cast<double>(cnt[i]);
    // Spot check of the plane decomposition against the bit trick.
    Rng rng(WorkItem{kSeed, Purpose::test, 0, 2, 8});
    for (int t = 0; t < 2000; ++t) {
      const std::uint32_t x = rng.next_u32() & ((1u << n) - 1);
      const std::uint32_t q0 = x & 511u, q1 = (x >> 9) & 511u, q2 = x >> 18;
      REQUIRE(bits.unsat(x) == inplane[q0] + inplane[q1] + inplane[q2] + pc[q0 ^ q1] +
                                   pc[q1 ^ q2] + pc[q2 ^ q0]);
    }
  }
  std::map<std::pair<int, int>, double> g;
  double total = 0;
  for (int u = 0; u <= 81; ++u)
    for (int up = 0; up <= 27; ++up)
      if (deg[u * 28 + up] > 0) {
        g[{81 - 2 * u, up}] = deg[u * 28 + up];
        total += deg[u * 28 + up];
      }
  std::cout << "[physics] 3x3x3 enumeration of 2^27 states: " << seconds_since(t0) << " s, "
            << g.size() << " (bonds, M) classes\n";
  REQUIRE(total == static_cast<double>(1u << n));
  REQUIRE(g.at({81, 27}) == 1.0);
  const ClassTable exact = classes_from_degeneracy(g, n, 1.0 / T, h);
  check_equilibrium_histograms<3>(w, T, h, exact, classify, 2, 2000, 3000, 500, "3D 3x3x3");
}

namespace {

// Rates of the 3x3 (or any small) box for bit state x: site j flips at
// 1 / (1 + exp(beta dE)), dE = 2 s_j (sum of box neighbours + field_j + h).
struct SmallBox {
  int n;
  std::vector<std::vector<int>> nbrs;  // box neighbours (with multiplicity)
  std::vector<int> field;              // frozen-halo neighbour sum per site (0 if periodic)
  double rate(std::uint32_t x, int j, double beta, double h) const {
    const int s = (x >> j) & 1u ? 1 : -1;
    int sum = field[j];
    for (int k : nbrs[j]) sum += (x >> k) & 1u ? 1 : -1;
    return 1.0 / (1.0 + std::exp(beta * 2.0 * s * (sum + h)));
  }
  // Bond sum including the halo bonds (each bond once) and magnetisation.
  int bond_sum(std::uint32_t x) const {
    int b2 = 0, bh = 0;
    for (int i = 0; i < n; ++i) {
      const int s = (x >> i) & 1u ? 1 : -1;
      for (int k : nbrs[i]) b2 += s * ((x >> k) & 1u ? 1 : -1);
      bh += s * field[i];
    }
    return b2 / 2 + bh;
  }
};

SmallBox periodic_3x3() {
  SmallBox b{9, std::vector<std::vector<int>>(9), std::vector<int>(9, 0)};
  for (const auto& e : periodic_bonds(2, 3)) {
    b.nbrs[e.first].push_back(e.second);
    b.nbrs[e.second].push_back(e.first);
  }
  return b;
}

}  // namespace

TEST_CASE("Ising 3x3 periodic dynamics: law of the state and duration after one sweep from all-up",
          "[physics][ising_exact][dynamics]") {
  const auto t0 = std::chrono::steady_clock::now();
  const double T = 2.5, h = 0.1, beta = 1.0 / T;
  const SmallBox box = periodic_3x3();
  const int n = 9, S = 1 << n;
  // Exact embedded jump chain: P(x -> x ^ (1 << j)) = r_j(x) / R(x). Track, per state,
  // p = P(X_m = x), A = E[D_m; X_m = x], Bm = E[D_m^2; X_m = x], where D_m is the time
  // of the first m waiting times; the waiting time in x is Exp(R(x)) and independent of
  // the jump, so D_{m+1} = D_m + tau with E tau = 1/R, E tau^2 = 2/R^2.
  std::vector<double> R(S, 0.0), r(S * n);
  for (int x = 0; x < S; ++x)
    for (int j = 0; j < n; ++j) {
      r[x * n + j] = box.rate(x, j, beta, h);
      R[x] += r[x * n + j];
    }
  std::vector<double> p(S, 0.0), A(S, 0.0), Bm(S, 0.0);
  p[S - 1] = 1.0;
  for (int m = 0; m < n; ++m) {
    std::vector<double> p2(S, 0.0), A2(S, 0.0), B2(S, 0.0);
    for (int x = 0; x < S; ++x) {
      if (p[x] == 0.0) continue;
      const double a = A[x] + p[x] / R[x];
      const double b = Bm[x] + 2.0 * A[x] / R[x] + 2.0 * p[x] / (R[x] * R[x]);
      for (int j = 0; j < n; ++j) {
        const double q = r[x * n + j] / R[x];
        const int y = x ^ (1 << j);
        p2[y] += q * p[x];
        A2[y] += q * a;
        B2[y] += q * b;
      }
    }
    p.swap(p2);
    A.swap(A2);
    Bm.swap(B2);
  }
  double mean_exact = 0, m2_exact = 0, ptot = 0;
  for (int x = 0; x < S; ++x) { mean_exact += A[x]; m2_exact += Bm[x]; ptot += p[x]; }
  REQUIRE(ptot == Approx(1.0).epsilon(1e-12));

  const int reps = 400000;
  const auto pooled = pool_small(p, 20.0 / reps);
  std::vector<double> counts(pooled.second.size(), 0.0);
  Sample dur, dur2;
  std::vector<std::int8_t> init(n, 1);
  IsingEvolver<2> ev(beta, h);
  for (int rep = 0; rep < reps; ++rep) {
    Rng rng(WorkItem{kSeed, Purpose::test, 0, static_cast<std::uint64_t>(rep), 6});
    ev.load_periodic(init.data(), 3);
    const double d = ev.run_events(n, rng);
    dur.add(d);
    dur2.add(d * d);
    counts[pooled.first[bits_of(ev.box(), n)]] += 1;
  }
  const Chi2Result c = pearson_chi2(counts, pooled.second);
  std::cout << "[physics] 3x3 one-sweep law: " << reps << " repeats, " << pooled.second.size()
            << " bins (of 512 states), chi2 " << c.stat << " (dof " << c.dof << "), p " << c.pvalue
            << "\n[physics]   mean duration " << dur.mean() << " +- " << dur.se() << " exact "
            << mean_exact << "; E[D^2] " << dur2.mean() << " +- " << dur2.se() << " exact "
            << m2_exact << "; " << seconds_since(t0) << " s\n";
  REQUIRE(pooled.second.size() >= 50);
  REQUIRE(c.pvalue > 1e-3);
  REQUIRE(std::fabs(dur.mean() - mean_exact) < 4 * dur.se());
  REQUIRE(std::fabs(dur2.mean() - m2_exact) < 4 * dur2.se());
}

TEST_CASE("Ising 3x3 frozen window of a 7x7 lattice: Boltzmann law with the halo as a field",
          "[physics][ising_exact][frozen]") {
  const double T = 2.5, h = 0.2, beta = 1.0 / T;
  const int L = 7, w = 3, n = 9, S = 1 << n;
  std::vector<std::int8_t> x(L * L);
  Rng lattice_rng(WorkItem{kSeed, Purpose::test, 0, 7, 0});
  for (auto& v : x) v = lattice_rng.below(2) ? 1 : -1;
  const std::vector<std::int8_t> stage = x;

  for (const Coord origin : {Coord{2, 2, 0}, Coord{5, 4, 0}}) {  // (5, 4) wraps around
    const auto t0 = std::chrono::steady_clock::now();
    // Window: open 3x3 with 12 internal bonds; field_i = sum of halo neighbours
    // (lattice sites outside the window, read with wrap mod L).
    SmallBox box{n, std::vector<std::vector<int>>(n), std::vector<int>(n, 0)};
    for (int a = 0; a < w; ++a)
      for (int c = 0; c < w; ++c) {
        const int i = a * w + c;
        const int da[4] = {-1, 1, 0, 0}, dc[4] = {0, 0, -1, 1};
        for (int k = 0; k < 4; ++k) {
          const int a2 = a + da[k], c2 = c + dc[k];
          if (a2 >= 0 && a2 < w && c2 >= 0 && c2 < w) {
            box.nbrs[i].push_back(a2 * w + c2);
          } else {
            const int ga = ((origin[0] + a2) % L + L) % L, gc = ((origin[1] + c2) % L + L) % L;
            box.field[i] += stage[ga * L + gc];
          }
        }
      }
    // Exact Boltzmann law of the 512 window states, E = -bond_sum - h M.
    std::vector<double> p(S);
    double Z = 0;
    for (int s = 0; s < S; ++s) {
      const double E = -box.bond_sum(s) - h * (2 * __builtin_popcount(s) - n);
      p[s] = std::exp(-beta * E);
      Z += p[s];
    }
    for (auto& v : p) v /= Z;
    // Classes (bond sum, up count) for the histogram; per-site <s_i> for the halo geometry.
    std::map<std::pair<int, int>, int> cls;
    std::vector<int> class_of(S);
    std::vector<double> pc;
    std::vector<double> site_m(n, 0.0);
    for (int s = 0; s < S; ++s) {
      const auto key = std::make_pair(box.bond_sum(s), __builtin_popcount(s));
      auto it = cls.find(key);
      if (it == cls.end()) {
        it = cls.emplace(key, static_cast<int>(pc.size())).first;
        pc.push_back(0.0);
      }
      class_of[s] = it->second;
      pc[it->second] += p[s];
      for (int i = 0; i < n; ++i) site_m[i] += p[s] * ((s >> i) & 1 ? 1 : -1);
    }
    const auto pooled = pool_small(pc, 2e-3);
    const std::size_t k = pooled.second.size();

    for (int mode = 0; mode < 2; ++mode) {  // 0: continuous time, time weighted; 1: heat-bath
      IsingEvolver<2> ev(beta, h);
      ev.load(x.data(), L, origin, w, Boundary::frozen, stage.data());
      Rng rng(WorkItem{kSeed, Purpose::test, 0, 7, static_cast<std::uint32_t>(1 + mode + 2 * origin[0])});
      VectorBatches hist(k), mags(n);
      std::uint64_t bookkeeping_errors = 0;
      std::vector<double> fm(n);
      auto record = [&](double wgt) {
        const std::uint32_t s = bits_of(ev.box(), n);
        if (box.bond_sum(s) != ev.bond_sum()) ++bookkeeping_errors;
        hist.add(pooled.first[class_of[s]], wgt);
        for (int i = 0; i < n; ++i) fm[i] += wgt * ev.box()[i];
      };
      const std::size_t batches = 2000;
      for (std::size_t b = 0; b < batches; ++b) {
        std::fill(fm.begin(), fm.end(), 0.0);
        const double t_batch = hist.cur_t;
        if (mode == 0) {
          ev.run(2000, rng, record);
        } else {
          for (int sw = 0; sw < 1000; ++sw) {
            ev.heatbath_sweep(rng);
            record(1.0);
          }
        }
        mags.add_batch(fm, hist.cur_t - t_batch);
        hist.end_batch();
      }
      const auto rh = hist.test(pooled.second, k - 1);
      const auto rm = mags.test(site_m, n);
      std::cout << "[physics] frozen 3x3 window at (" << origin[0] << "," << origin[1] << ") "
                << (mode == 0 ? "CT time weighted" : "heat-bath") << ": classes " << k
                << ", chi2 " << rh.stat << " (dof " << rh.dof << ") p " << rh.pvalue
                << "; site magnetisations chi2 " << rm.stat << " (dof " << rm.dof << ") p "
                << rm.pvalue << ", max |z| " << rm.max_z << "; " << seconds_since(t0) << " s\n";
      CHECK(bookkeeping_errors == 0);
      REQUIRE(k >= 10);
      REQUIRE(rh.pvalue > 1e-3);
      REQUIRE(rm.pvalue > 1e-3);
    }
  }
}
