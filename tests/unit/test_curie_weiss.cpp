// Curie-Weiss simulator against exact oracles:
//   * N = 4096 (64 x 64 index grid, T = 1.1, h = 0.1, docs/design.md §8.3.6): time-weighted
//     <m>, std(m) and the mean sweep duration against the Boltzmann sum over the N + 1
//     magnetisations (degeneracy binomial(N, k)); the ensemble mean of m by frame
//     (frame = N events) from m0 = 0 and m0 = -0.5 against the exact master equation of
//     the jump chain over the number k of up spins;
//   * a `global` 4 x 4 window inside a 16 x 16 system (rest fixed): law of the window's
//     up count and of the duration after n events against its exact jump chain.
// H = -(1/N) sum_{i<j} s_i s_j - h S = -(S^2 - N) / (2N) - h S; Glauber rates
// 1 / (1 + exp(beta dE)), dE(up -> down) = 2((S - 1)/N + h), dE(down -> up) = -2((S + 1)/N + h).
#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <vector>

#include "stats_helpers.hpp"
#include "systems/curie_weiss.hpp"

using namespace macrodyn::systems;

using namespace macrodyn;
using namespace macrodyn::test_stats;

namespace {

constexpr std::uint64_t kSeed = 31415926;

// Rates of the box's k-up-spin state in a system of N spins whose other spins sum to
// S_rest (box of n spins): total rates of up->down and down->up flips.
struct CwRates {
  std::int64_t N, n, S_rest;
  double beta, h;
  double up(std::int64_t k) const {  // k * r(up -> down)
    const double S = static_cast<double>(S_rest + 2 * k - n);
    return k * (1.0 / (1.0 + std::exp(beta * 2.0 * ((S - 1.0) / N + h))));
  }
  double down(std::int64_t k) const {  // (n - k) * r(down -> up)
    const double S = static_cast<double>(S_rest + 2 * k - n);
    return (n - k) * (1.0 / (1.0 + std::exp(-beta * 2.0 * ((S + 1.0) / N + h))));
  }
};

// Embedded jump chain over k with tabulated total rates u_k (up -> down) and d_k
// (down -> up). One step carries p(k) and, optionally, A(k) = E[D; k] and
// B(k) = E[D^2; k] (D = elapsed time; the waiting time in k is Exp(R_k), R_k = u_k + d_k,
// independent of the jump).
struct JumpChain {
  std::int64_t n;
  std::vector<double> pu, pd, invR;  // u/R, d/R, 1/R
  explicit JumpChain(const CwRates& r) : n(r.n), pu(r.n + 1), pd(r.n + 1), invR(r.n + 1) {
    for (std::int64_t k = 0; k <= n; ++k) {
      const double u = r.up(k), d = r.down(k);
      pu[k] = u / (u + d);
      pd[k] = d / (u + d);
      invR[k] = 1.0 / (u + d);
    }
  }
  void step(std::vector<double>& p, std::vector<double>* A = nullptr,
            std::vector<double>* B = nullptr) const {
    std::vector<double> p2(n + 1, 0.0), A2, B2;
    if (A) { A2.assign(n + 1, 0.0); B2.assign(n + 1, 0.0); }
    for (std::int64_t k = 0; k <= n; ++k) {
      if (p[k] == 0.0) continue;
      if (k > 0) p2[k - 1] += p[k] * pu[k];
      if (k < n) p2[k + 1] += p[k] * pd[k];
      if (A) {
        const double a = (*A)[k] + p[k] * invR[k];
        const double b = (*B)[k] + 2.0 * (*A)[k] * invR[k] + 2.0 * p[k] * invR[k] * invR[k];
        if (k > 0) { A2[k - 1] += a * pu[k]; B2[k - 1] += b * pu[k]; }
        if (k < n) { A2[k + 1] += a * pd[k]; B2[k + 1] += b * pd[k]; }
      }
    }
    p.swap(p2);
    if (A) { A->swap(A2); B->swap(B2); }
  }
};

}  // namespace

TEST_CASE("Curie-Weiss N=4096 T=1.1 h=0.1: time-weighted <m>, std(m), sweep duration are exact",
          "[physics][curie_weiss]") {
  const auto t0 = std::chrono::steady_clock::now();
  const int w = 64;
  const std::int64_t N = 4096;
  const double T = 1.1, h = 0.1, beta = 1.0 / T;
  // Boltzmann sum over k = number of up spins, weights binomial(N, k) exp(-beta E_k).
  const CwRates rates{N, N, 0, beta, h};
  std::vector<double> lw(N + 1);
  double lmax = -1e300;
  for (std::int64_t k = 0; k <= N; ++k) {
    const double S = static_cast<double>(2 * k - N);
    const double E = -(S * S - N) / (2.0 * N) - h * S;
    lw[k] = std::lgamma(N + 1.0) - std::lgamma(k + 1.0) - std::lgamma(N - k + 1.0) - beta * E;
    lmax = std::max(lmax, lw[k]);
  }
  double Z = 0, m1 = 0, m2 = 0, Rbar = 0;
  for (std::int64_t k = 0; k <= N; ++k) {
    const double p = std::exp(lw[k] - lmax), m = static_cast<double>(2 * k - N) / N;
    Z += p;
    m1 += p * m;
    m2 += p * m * m;
    Rbar += p * (rates.up(k) + rates.down(k));
  }
  m1 /= Z;
  m2 /= Z;
  Rbar /= Z;
  const double sd_exact = std::sqrt(m2 - m1 * m1);
  // In equilibrium the embedded chain visits k with probability pi_k R_k / <R>, so the
  // mean waiting time is 1 / <R> and the mean sweep duration N / <R>.
  const double sweep_exact = N / Rbar;
  std::cout << "[physics] CW exact: <m> = " << m1 << ", std(m) = " << sd_exact
            << ", mean sweep duration = " << sweep_exact << "\n";
  REQUIRE(m1 == Approx(0.48988).margin(5e-6));
  REQUIRE(sd_exact == Approx(0.02451).margin(5e-6));
  REQUIRE(sweep_exact == Approx(2.6325).margin(5e-5));

  Rng rng(WorkItem{kSeed, Purpose::test, 0, 5, 0});
  const auto init = random_state(N, 0.49, rng);
  CurieWeissEvolver ev(2, beta, h);
  ev.load_periodic(init.data(), w);
  REQUIRE(ev.sites() == N);
  for (int s = 0; s < 100; ++s) ev.run_events(N, rng);  // burn-in, relaxation time ~ 3
  // Batches of 40 sweeps (~100 time units, ~30 relaxation times).
  MomentBatches mag;
  RatioBatches sweep_time;
  const int batches = 200, sweeps = 40;
  time_weighted_magnetisation(
      ev, N, batches, sweeps, rng, [&] { return static_cast<double>(2 * ev.up_count() - N) / N; }, mag, sweep_time);
  RatioBatches mean_m;
  for (std::size_t b = 0; b < mag.batches(); ++b) mean_m.add(mag.F1[b], mag.T[b]);
  std::cout << "[physics] CW time-weighted: <m> = " << mean_m.mean() << " +- " << mean_m.se()
            << " (merged x4 " << mean_m.se_merged(4) << "), std(m) = " << mag.sd() << " +- "
            << mag.se_sd() << ", sweep duration = " << sweep_time.mean() << " +- "
            << sweep_time.se() << "; " << seconds_since(t0) << " s\n";
  REQUIRE(mean_m.se() <= 1e-3);
  REQUIRE(mag.se_sd() <= 1e-3);
  REQUIRE(std::fabs(mean_m.mean() - m1) <= 4 * mean_m.se());
  REQUIRE(std::fabs(mag.sd() - sd_exact) <= 4 * mag.se_sd());
  REQUIRE(std::fabs(sweep_time.mean() - sweep_exact) <= 4 * sweep_time.se());
}

TEST_CASE("Curie-Weiss N=4096 dynamics: ensemble mean of m by frame matches the exact master equation",
          "[physics][curie_weiss][dynamics]") {
  const int w = 64, frames = 8;
  const std::int64_t N = 4096;
  const double T = 1.1, h = 0.1, beta = 1.0 / T;
  const JumpChain chain(CwRates{N, N, 0, beta, h});
  struct Start {
    double m0;
    std::vector<double> quoted;
  };
  const Start starts[] = {
      {0.0, {0, .1650, .2942, .3833, .4363, .4642, .4777, .4840, .4869}},
      {-0.5, {-.5, -.2197, -.0158, .1519, .2842, .3766, .4325, .4622, .4768}},
  };
  for (std::size_t si = 0; si < 2; ++si) {
    const auto t0 = std::chrono::steady_clock::now();
    const Start& st = starts[si];
    // Exact: the jump chain over k iterated N events per frame.
    const auto k0 = static_cast<std::int64_t>(std::floor((1.0 + st.m0) * N / 2.0));
    std::vector<double> p(N + 1, 0.0), exact(frames + 1);
    p[k0] = 1.0;
    for (int f = 0; f <= frames; ++f) {
      if (f > 0)
        for (std::int64_t e = 0; e < N; ++e) chain.step(p);
      double m = 0;
      for (std::int64_t k = 0; k <= N; ++k) m += p[k] * static_cast<double>(2 * k - N) / N;
      exact[f] = m;
      INFO("m0 = " << st.m0 << ", frame " << f << ": exact " << m);
      REQUIRE(std::fabs(m - st.quoted[f]) <= 5.1e-5);  // quoted to 4 decimals
    }
    // Ensemble of independent runs (item = run index).
    const int runs = 1500;
    VectorBatches ens(frames);
    CurieWeissEvolver ev(2, beta, h);
    std::vector<double> traj(frames);
    for (int r = 0; r < runs; ++r) {
      Rng rng(WorkItem{kSeed, Purpose::test, 0, static_cast<std::uint64_t>(r),
                       static_cast<std::uint32_t>(10 + si)});
      const auto init = random_state(N, st.m0, rng);
      ev.load_periodic(init.data(), w);
      REQUIRE(ev.up_count() == k0);
      for (int f = 0; f < frames; ++f) {
        ev.run_events(N, rng);
        traj[f] = static_cast<double>(2 * ev.up_count() - N) / N;
      }
      ens.add_batch(traj, 1.0);
    }
    const auto mean = ens.mean();
    const auto se = ens.se();
    const std::vector<double> ex(exact.begin() + 1, exact.end());
    const auto res = ens.test(ex, frames);
    std::cout << "[physics] CW dynamics from m0 = " << st.m0 << " (" << runs << " runs):";
    double max_se = 0;
    for (int f = 0; f < frames; ++f) {
      std::cout << " f" << f + 1 << " " << mean[f] << "+-" << se[f] << " (exact " << ex[f] << ")";
      max_se = std::max(max_se, se[f]);
    }
    std::cout << "; Hotelling chi2 " << res.stat << " (dof " << res.dof << ") p " << res.pvalue
              << "; " << seconds_since(t0) << " s\n";
    for (int f = 0; f < frames; ++f) {
      INFO("m0 = " << st.m0 << ", frame " << f + 1);
      REQUIRE(std::fabs(mean[f] - ex[f]) <= 4 * se[f]);
    }
    REQUIRE(max_se <= 1.2e-3);
    REQUIRE(res.pvalue > 1e-3);
  }
}

TEST_CASE("Curie-Weiss global 4x4 window in a 16x16 system: law of the up count and duration",
          "[physics][curie_weiss][global]") {
  const auto t0 = std::chrono::steady_clock::now();
  const int L = 16, w = 4;
  const std::int64_t N = L * L, n = w * w;
  const double T = 1.1, h = 0.1, beta = 1.0 / T;
  const Coord origin{4, 4, 0};
  // System: magnetisation about -0.4 outside the window, so that the rest's field
  // (about -0.4) opposes h; window starts with 12 of 16 up.
  Rng lattice_rng(WorkItem{kSeed, Purpose::test, 0, 8, 0});
  std::vector<std::int8_t> x = random_state(N, -0.4, lattice_rng);
  std::vector<std::int8_t> win(n);
  for (std::int64_t i = 0; i < n; ++i) win[i] = i < 12 ? 1 : -1;
  insert_box(x.data(), 2, L, origin, w, win.data());
  const std::vector<std::int8_t> stage = x;
  std::int64_t S_total = 0;
  for (auto v : x) S_total += v;
  const std::int64_t k0 = 12, S_rest = S_total - (2 * k0 - n);
  const JumpChain chain(CwRates{N, n, S_rest, beta, h});

  for (const std::uint64_t events : {std::uint64_t{5}, std::uint64_t{16}}) {
    std::vector<double> p(n + 1, 0.0), A(n + 1, 0.0), B(n + 1, 0.0);
    p[k0] = 1.0;
    for (std::uint64_t e = 0; e < events; ++e) chain.step(p, &A, &B);
    double mean_exact = 0, m2_exact = 0;
    for (std::int64_t k = 0; k <= n; ++k) { mean_exact += A[k]; m2_exact += B[k]; }

    const int reps = 200000;
    const auto pooled = pool_small(p, 20.0 / reps);
    std::vector<double> counts(pooled.second.size(), 0.0);
    Sample dur, dur2;
    CurieWeissEvolver ev(2, beta, h);
    std::int64_t bookkeeping_errors = 0;
    for (int r = 0; r < reps; ++r) {
      Rng rng(WorkItem{kSeed, Purpose::test, 0, static_cast<std::uint64_t>(r),
                       static_cast<std::uint32_t>(20 + events)});
      ev.load(x.data(), L, origin, w, Boundary::global, stage.data());
      const double d = ev.run_events(events, rng);
      std::int64_t k = 0;
      for (std::int64_t i = 0; i < n; ++i) k += ev.box()[i] > 0;
      if (k != ev.up_count() || ev.system_magnetisation_sum() != S_rest + 2 * k - n)
        ++bookkeeping_errors;
      counts[pooled.first[k]] += 1;
      dur.add(d);
      dur2.add(d * d);
    }
    const Chi2Result c = pearson_chi2(counts, pooled.second);
    std::cout << "[physics] CW global window, " << events << " events, " << reps
              << " repeats: up-count chi2 " << c.stat << " (dof " << c.dof << ") p " << c.pvalue
              << "; mean duration " << dur.mean() << " +- " << dur.se() << " exact " << mean_exact
              << "; E[D^2] " << dur2.mean() << " +- " << dur2.se() << " exact " << m2_exact
              << "; " << seconds_since(t0) << " s\n";
    CHECK(bookkeeping_errors == 0);
    REQUIRE(c.dof >= 4);
    REQUIRE(c.pvalue > 1e-3);
    REQUIRE(std::fabs(dur.mean() - mean_exact) <= 4 * dur.se());
    REQUIRE(std::fabs(dur2.mean() - m2_exact) <= 4 * dur2.se());
  }
}

TEST_CASE("Curie-Weiss periodic N=16: time-weighted CT and heat-bath laws of k match Boltzmann",
          "[physics][curie_weiss]") {
  // A small system makes O(1/N) mistakes (S - s_i vs S, the +-1 in dE) visible.
  const auto t0 = std::chrono::steady_clock::now();
  const int w = 4;
  const std::int64_t N = 16;
  const double T = 0.8, h = 0.1, beta = 1.0 / T;
  std::vector<double> p(N + 1);
  double Z = 0;
  for (std::int64_t k = 0; k <= N; ++k) {
    const double S = static_cast<double>(2 * k - N);
    const double E = -(S * S - N) / (2.0 * N) - h * S;
    p[k] = std::exp(std::lgamma(N + 1.0) - std::lgamma(k + 1.0) - std::lgamma(N - k + 1.0) - beta * E);
    Z += p[k];
  }
  for (auto& v : p) v /= Z;
  const auto pooled = pool_small(p, 2e-3);
  const std::size_t bins = pooled.second.size();
  for (int mode = 0; mode < 2; ++mode) {  // 0: CT time weighted, 1: heat-bath sweeps
    Rng rng(WorkItem{kSeed, Purpose::test, 0, 16, static_cast<std::uint32_t>(mode)});
    const auto init = random_state(N, 0.0, rng);
    CurieWeissEvolver ev(2, beta, h);
    ev.load_periodic(init.data(), w);
    VectorBatches hist(bins);
    for (int b = 0; b < 2000; ++b) {
      if (mode == 0) {
        ev.run(1000, rng, [&](double dt) { hist.add(pooled.first[ev.up_count()], dt); });
      } else {
        for (int s = 0; s < 200; ++s) {
          ev.heatbath_sweep(rng);
          hist.add(pooled.first[ev.up_count()], 1.0);
        }
      }
      hist.end_batch();
    }
    const auto r = hist.test(pooled.second, bins - 1);
    std::cout << "[physics] CW periodic N=16 " << (mode == 0 ? "CT time weighted" : "heat-bath")
              << ": bins " << bins << ", Hotelling chi2 " << r.stat << " (dof " << r.dof
              << ") p " << r.pvalue << ", max |z| " << r.max_z << "; " << seconds_since(t0)
              << " s\n";
    REQUIRE(bins >= 8);
    REQUIRE(r.pvalue > 1e-3);
  }
}
