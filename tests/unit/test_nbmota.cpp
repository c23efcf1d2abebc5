// The NbMoTa alloy's pieces against the method notes' [sim] checks (§6): the dump reader,
// the barrier network without torch (112 inputs, folded BatchNorm, the 8 hop symmetries),
// the short-range-order parameters, and the total rate.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "io/dataset.hpp"
#include "io/float_arrays.hpp"
#include "systems/nbmota/barrier_model.hpp"
#include "systems/nbmota/dump.hpp"
#include "systems/nbmota/kmc.hpp"
#include "systems/nbmota/lattice.hpp"
#include "systems/nbmota/sro.hpp"
#include "sampling/upsample.hpp"
#include "systems/state_check.hpp"
#include "systems/system.hpp"

using namespace macrodyn;
using namespace macrodyn::systems::nbmota;
using macrodyn::systems::make_system;
using macrodyn::systems::StateCheck;

namespace {

const std::string kData = MACRODYN_SOURCE_DIR "/data/nbmota/";

const BarrierModel& model() {
  static const BarrierModel m = BarrierModel::load(kData + "barrier-model.h5");
  return m;
}

AlloyCell start_with_vacancy() {
  AlloyCell c = read_lammps_dump(kData + "initial_N_1024_equimolar.dump");
  c.codes[static_cast<std::size_t>(voxel(c.N, 0, 0, 0))] = kVacancy;  // "the vacancy replaces the Mo at (0,0,0)"
  return c;
}

std::string tmp_file(const std::string& name, const std::string& text) {
  const std::string path = std::string(MACRODYN_TEST_TMPDIR) + "/" + name;
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("nbmota: the 1024-atom dump is an equimolar BCC cell with Mo at the origin", "[nbmota]") {
  const AlloyCell c = read_lammps_dump(kData + "initial_N_1024_equimolar.dump");
  REQUIRE(c.N == 16);
  int count[256] = {};
  for (std::uint8_t code : c.codes) ++count[code];
  CHECK(count[kNb] == 341);
  CHECK(count[kMo] == 341);
  CHECK(count[kTa] == 342);
  CHECK(count[kVacancy] == 0);
  CHECK(count[kNoSite] == 16 * 16 * 16 - 1024);
  CHECK(c.codes[static_cast<std::size_t>(voxel(16, 0, 0, 0))] == kMo);
}

TEST_CASE("nbmota: barriers of the notes' reference configurations within 1e-4 eV", "[nbmota]") {
  const AlloyCell c = start_with_vacancy();
  const std::int64_t v = voxel(c.N, 0, 0, 0);
  const double want[8] = {1.71694, 2.29832, 2.18307, 1.17087, 2.26741, 1.38941, 1.36588, 2.17061};
  const int target[8] = {1, 3, 2, 1, 2, 1, 3, 2};
  for (int k = 0; k < 8; ++k) {
    const auto& d = kHops[static_cast<std::size_t>(k)];
    INFO("hop d" << k);
    CHECK(c.codes[static_cast<std::size_t>(voxel(c.N, d[0], d[1], d[2]))] == target[k]);
    CHECK(std::fabs(model().barrier(c.codes.data(), c.N, v, k) - want[k]) < 1e-4);
  }
  // Pure Nb, Mo, Ta: every site that species, the vacancy at the centre.
  const double pure[3] = {1.02010, 1.72255, 1.13068};
  for (int s = kNb; s <= kTa; ++s) {
    AlloyCell p = c;
    for (auto& code : p.codes)
      if (code != kNoSite) code = static_cast<std::uint8_t>(s);
    const std::int64_t centre = voxel(p.N, 8, 8, 8);
    p.codes[static_cast<std::size_t>(centre)] = kVacancy;
    for (int k = 0; k < 8; ++k) {
      INFO("species " << s << " hop d" << k);
      CHECK(std::fabs(model().barrier(p.codes.data(), p.N, centre, k) - pure[s - 1]) < 1e-4);
    }
  }
  // A vacant target: no hop.
  AlloyCell two = c;
  two.codes[static_cast<std::size_t>(voxel(c.N, 1, 1, 1))] = kVacancy;
  CHECK(std::isinf(model().barrier(two.codes.data(), two.N, v, 7)));
}

TEST_CASE("nbmota: the d7 features hold 112 non-zeros and the target Mo at index 455", "[nbmota]") {
  const AlloyCell c = start_with_vacancy();
  std::vector<float> f(BarrierModel::kInputs);
  model().features(c.codes.data(), c.N, voxel(c.N, 0, 0, 0), 7, f.data());
  int nonzero = 0;
  for (float x : f) nonzero += x != 0.0f;
  CHECK(nonzero == 112);
  CHECK(f[455] == 2.0f);
  // The forward pass on the 729 features' slots is the barrier.
  std::vector<float> slots(BarrierModel::kSlots);
  for (int s = 0; s < BarrierModel::kSlots; ++s) slots[static_cast<std::size_t>(s)] = f[static_cast<std::size_t>(model().slot_index(s))];
  CHECK(model().forward(slots.data()) == model().barrier(c.codes.data(), c.N, voxel(c.N, 0, 0, 0), 7));
}

TEST_CASE("nbmota: short-range order of the start with and without the vacancy", "[nbmota]") {
  const double without[6] = {.07234, -.05376, -.01857, .14272, -.08895, .12281};
  const double with[6] = {.07234, -.06256, -.01857, .13333, -.08725, .12281};
  AlloyCell c = read_lammps_dump(kData + "initial_N_1024_equimolar.dump");
  double d[6];
  sro(c.codes.data(), c.N, {0, 0, 0}, c.N, d);
  for (int k = 0; k < 6; ++k) CHECK(d[k] == Approx(without[k]).margin(5e-6));
  c = start_with_vacancy();
  sro(c.codes.data(), c.N, {0, 0, 0}, c.N, d);
  for (int k = 0; k < 6; ++k) CHECK(d[k] == Approx(with[k]).margin(5e-6));
}

TEST_CASE("nbmota: total hop rate of the start at 1000, 2000 and 3000 K", "[nbmota]") {
  const AlloyCell c = start_with_vacancy();
  const std::int64_t v = voxel(c.N, 0, 0, 0);
  const double T[3] = {1000, 2000, 3000}, want[3] = {1.489e7, 1.855e10, 2.254e11};
  for (int t = 0; t < 3; ++t) {
    double R = 0;
    for (int k = 0; k < 8; ++k)
      R += kAttemptFrequency * std::exp(-model().barrier(c.codes.data(), c.N, v, k) / (kBoltzmannEvPerK * T[t]));
    INFO("T = " << T[t]);
    CHECK(R == Approx(want[t]).epsilon(1e-3));  // the notes give 4 digits
  }
}

TEST_CASE("nbmota: malformed dumps and barrier files are refused with one sentence", "[nbmota]") {
  const std::string box = "ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n2\nITEM: BOX BOUNDS pp pp pp\n0 3.24\n0 3.24\n0 3.24\n"
                          "ITEM: ATOMS id type x y z\n";
  CHECK_NOTHROW(read_lammps_dump(tmp_file("nbmota_ok.dump", box + "1 1 0 0 0\n2 2 1.62 1.62 1.62\n")));
  const std::pair<std::string, std::string> bad[] = {
      {box + "1 1 0 0 0\n2 2 1.62 0 0\n", "off the BCC sites"},
      {box + "1 1 0 0 0\n2 2 0 0 0\n", "two atoms on one site"},
      {box + "1 4 0 0 0\n2 2 1.62 1.62 1.62\n", "type 4"},
      {box + "1 1 0 0 0\n2 2 1.7 1.62 1.62\n", "off the 1.62"},
      {box + "1 1 0 0 0\n", "lists 1 atoms"},
      {"ITEM: NUMBER OF ATOMS\n1\nITEM: BOX BOUNDS pp pp pp\n0 3.0\n0 3.0\n0 3.0\nITEM: ATOMS id type x y z\n1 1 0 0 0\n",
       "whole even number"},
      {"ITEM: NUMBER OF ATOMS\n1\nITEM: BOX BOUNDS pp pp pp\n0 3.24\n0 3.24\n0 4.86\nITEM: ATOMS id type x y z\n1 1 0 0 0\n",
       "not cubic"},
      // A box of 10 000 voxels per axis (10^12 bytes) is refused before any allocation.
      {"ITEM: NUMBER OF ATOMS\n1\nITEM: BOX BOUNDS pp pp pp\n0 16200\n0 16200\n0 16200\nITEM: ATOMS id type x y z\n1 1 0 0 0\n",
       "more than 1024"},
      {box + "1 1 0 0 0\n2 2 nan 1.62 1.62\n", "fewer than 5 numbers"},  // a NaN coordinate
  };
  int i = 0;
  for (const auto& [text, what] : bad) {
    INFO(what);
    CHECK_THROWS_WITH(read_lammps_dump(tmp_file("nbmota_bad" + std::to_string(i++) + ".dump", text)), Catch::Contains(what));
  }
  CHECK_THROWS_WITH(read_lammps_dump(kData + "missing.dump"), Catch::Contains("cannot be read"));
  CHECK_THROWS_WITH(BarrierModel::load(kData + "missing.h5"), Catch::Contains("missing.h5"));
  // A macrodyn file that is not a barrier model: its arrays are missing.
  CHECK_THROWS_AS(BarrierModel::load(kData + "initial_N_1024_equimolar.dump"), InputError);
}

TEST_CASE("nbmota KMC: cached barriers equal recomputed ones after many hops", "[nbmota][kmc]") {
  AlloyCell c = start_with_vacancy();
  // Four vacancies, two of them within each other's reach, so hops invalidate neighbours.
  for (const auto& at : {std::array<int, 3>{2, 2, 2}, std::array<int, 3>{9, 9, 9}, std::array<int, 3>{10, 12, 10}})
    c.codes[static_cast<std::size_t>(voxel(c.N, at[0], at[1], at[2]))] = kVacancy;
  AlloyKmc kmc(model(), 2000.0);
  kmc.load(c.codes.data(), c.N);
  REQUIRE(kmc.vacancies().size() == 4);
  Rng rng({7, Purpose::test, 0, 1, 0});
  const double t = kmc.run_hops(3000, rng);
  CHECK(kmc.total_rate() > 0);
  CHECK(t > 0);
  CHECK(kmc.hops() == 3000);
  int before[4] = {}, after[4] = {};  // hops conserve the species
  for (std::uint8_t code : c.codes)
    if (code != kNoSite) ++before[code];
  for (std::uint8_t code : kmc.codes())
    if (code != kNoSite) ++after[code];
  for (int s = 0; s < 4; ++s) CHECK(after[s] == before[s]);
  CHECK(kmc.codes() != c.codes);
  bool same = true;
  for (std::size_t i = 0; i < kmc.vacancies().size(); ++i)
    for (int k = 0; k < 8; ++k) {
      const float fresh = model().barrier(kmc.codes().data(), kmc.side(), kmc.vacancies()[i], k);
      const float cached = kmc.cached_barrier(i, k);
      same = same && (fresh == cached || (std::isinf(fresh) && std::isinf(cached)));
    }
  CHECK(same);
  // About 8 network evaluations per hop with vacancies mostly apart, all of them at load;
  // the batched barriers are those of barrier(), bit for bit.
  float e8[8];
  model().barriers(kmc.codes().data(), kmc.side(), kmc.vacancies()[0], e8);
  for (int k = 0; k < 8; ++k) {
    const float one = model().barrier(kmc.codes().data(), kmc.side(), kmc.vacancies()[0], k);
    CHECK((e8[k] == one || (std::isinf(e8[k]) && std::isinf(one))));
  }
  const double per_hop = static_cast<double>(kmc.barrier_evaluations() - 32) / 3000.0;
  CHECK(per_hop >= 8.0);
  CHECK(per_hop < 16.0);
}

TEST_CASE("nbmota KMC: mean time per hop of the 1024-atom start at 2000 K", "[nbmota][kmc]") {
  // The notes' 1.62e-10 s; the reference's own two seeds gave 1.612e-10 and 1.636e-10 s, so
  // its value is 1.624e-10 with a standard error of about 0.012e-10. Here: 50 000 hops of
  // burn-in (the short-range order develops from the start), then 15 batches of 10 000 hops
  // whose means give the standard error (batches of 10 000 hops are uncorrelated within
  // their noise: the spread of 40 of them matched that of independent draws).
  const AlloyCell c = start_with_vacancy();
  AlloyKmc kmc(model(), 2000.0);
  kmc.load(c.codes.data(), c.N);
  Rng rng({11, Purpose::test, 0, 2, 0});
  kmc.run_hops(50000, rng);
  std::vector<double> batch;
  for (int b = 0; b < 15; ++b) batch.push_back(kmc.run_hops(10000, rng) / 10000);
  double mean = 0, ss = 0;
  for (double x : batch) mean += x / static_cast<double>(batch.size());
  for (double x : batch) ss += (x - mean) * (x - mean);
  const double se = std::sqrt(ss / static_cast<double>(batch.size() - 1) / static_cast<double>(batch.size()));
  const double ref = 1.624e-10, ref_se = 0.012e-10;
  std::printf("nbmota: mean time per hop at 2000 K, 1024 sites: %.4g +- %.2g s (reference %.4g +- %.2g)\n", mean, se, ref,
              ref_se);
  CHECK(std::fabs(mean - ref) <= 4 * std::sqrt(se * se + ref_se * ref_se));
  // Long enough to beat the reference's own spread: the standard deviation of its two seeds
  // is |1.636 - 1.612| / sqrt(2) = 0.017e-10.
  CHECK(se < 0.017e-10);
}

TEST_CASE("nbmota KMC: detailed balance on an enumerable cell with a stand-in barrier", "[nbmota][kmc]") {
  // What this proves: the KMC engine (rejection-free choice, Exp(R) waiting times, the
  // barrier cache) samples the continuous-time Markov chain its rates define. The network's
  // barriers are not symmetric by construction, so a stand-in with a known stationary law
  // replaces them: E(x -> y) = E0 + (H(y) - H(x)) / 2 with H = J x (Nb-Nb first-neighbour
  // bonds) satisfies detailed balance for pi(x) ~ exp(-H(x) / k_B T). On a 4^3 voxel torus
  // (16 sites) with one vacancy, 3 Nb and 12 Ta every one of the 16 x C(15, 3) = 7280 states
  // is reachable; the time-weighted law of the bond count must be pi's. (On this torus every
  // even site neighbours every odd one, so 3 Nb make 0 or 2 bonds: 0.6488 and 0.3512.)
  constexpr int n = 4;
  constexpr double T = 1000.0, E0 = 0.5;
  const double J = kBoltzmannEvPerK * T;  // beta J = 1
  std::vector<std::int64_t> sites;
  for (int x = 0; x < n; ++x)
    for (int y = 0; y < n; ++y)
      for (int z = 0; z < n; ++z)
        if (is_site(x, y, z)) sites.push_back(voxel(n, x, y, z));
  REQUIRE(sites.size() == 16);
  const auto bonds = [](const std::uint8_t* c) {
    int b = 0;
    for (int x = 0; x < n; ++x)
      for (int y = 0; y < n; ++y)
        for (int z = 0; z < n; ++z) {
          if (c[voxel(n, x, y, z)] != kNb) continue;
          for (const auto& d : kHops) b += c[voxel(n, x + d[0], y + d[1], z + d[2])] == kNb;
        }
    return b / 2;
  };
  // The exact law of the bond count.
  std::vector<double> exact(4, 0.0);
  std::vector<std::uint8_t> x(n * n * n, kNoSite);
  for (std::size_t v = 0; v < 16; ++v)
    for (std::size_t a = 0; a < 16; ++a)
      for (std::size_t b = a + 1; b < 16; ++b)
        for (std::size_t c3 = b + 1; c3 < 16; ++c3) {
          if (a == v || b == v || c3 == v) continue;
          for (std::size_t s = 0; s < 16; ++s) x[static_cast<std::size_t>(sites[s])] = kTa;
          x[static_cast<std::size_t>(sites[v])] = kVacancy;
          for (std::size_t s : {a, b, c3}) x[static_cast<std::size_t>(sites[s])] = kNb;
          const int h = bonds(x.data());
          exact[static_cast<std::size_t>(h)] += std::exp(-static_cast<double>(h));
        }
  double Z = 0;
  for (double w : exact) Z += w;
  for (double& w : exact) w /= Z;

  const AlloyKmc::BarrierFn stand_in = [&](const std::uint8_t* c, int side, std::int64_t v, float* e8) {
    const auto at = coords(side, v);
    for (int k = 0; k < 8; ++k) {
      const auto& d = kHops[static_cast<std::size_t>(k)];
      const std::int64_t t = voxel(side, at[0] + d[0], at[1] + d[1], at[2] + d[2]);
      if (c[t] == kVacancy) {
        e8[k] = std::numeric_limits<float>::infinity();
        continue;
      }
      std::vector<std::uint8_t> y(c, c + side * side * side);
      std::swap(y[static_cast<std::size_t>(v)], y[static_cast<std::size_t>(t)]);
      e8[k] = static_cast<float>(E0 + 0.5 * J * (bonds(y.data()) - bonds(c)));
    }
  };
  for (std::size_t s = 0; s < 16; ++s) x[static_cast<std::size_t>(sites[s])] = s < 3 ? kNb : kTa;
  x[static_cast<std::size_t>(sites[15])] = kVacancy;
  AlloyKmc kmc(stand_in, T);
  kmc.load(x.data(), n);
  Rng rng({13, Purpose::test, 0, 3, 0});
  constexpr int kBatches = 20, kHopsPerBatch = 20000;
  std::vector<std::vector<double>> frac(kBatches, std::vector<double>(4, 0.0));
  for (int b = 0; b < kBatches; ++b) {
    double total = 0;
    for (int h = 0; h < kHopsPerBatch; ++h) {
      const int before = bonds(kmc.codes().data());
      const double dt = kmc.run_hops(1, rng);  // the holding time of the state before the hop
      frac[static_cast<std::size_t>(b)][static_cast<std::size_t>(before)] += dt;
      total += dt;
    }
    for (double& f : frac[static_cast<std::size_t>(b)]) f /= total;
  }
  for (std::size_t h = 0; h < 4; ++h) {
    double mean = 0, ss = 0;
    for (const auto& f : frac) mean += f[h] / kBatches;
    for (const auto& f : frac) ss += (f[h] - mean) * (f[h] - mean);
    const double se = std::sqrt(ss / (kBatches - 1) / kBatches);
    INFO("bonds " << h << ": time-weighted " << mean << " +- " << se << ", exact " << exact[h]);
    CHECK(std::fabs(mean - exact[h]) <= 4 * se + 1e-12);
    CHECK(se < 0.01);
  }
}

TEST_CASE("nbmota: the portable and the AVX2 barrier kernels agree to float rounding", "[nbmota]") {
  BarrierModel m = BarrierModel::load(kData + "barrier-model.h5");
  if (m.kernel() != BarrierModel::Kernel::avx2_fma) {
    WARN("this CPU has no AVX2 with FMA: only the portable kernel runs");
    return;
  }
  AlloyCell c = start_with_vacancy();
  AlloyKmc kmc(model(), 2500.0);
  kmc.load(c.codes.data(), c.N);
  Rng rng({17, Purpose::test, 0, 4, 0});
  double worst = 0;
  for (int step = 0; step < 200; ++step) {  // 200 environments along a trajectory
    kmc.run_hops(7, rng);
    float fast[8], slow[8];
    m.set_kernel(BarrierModel::Kernel::avx2_fma);
    m.barriers(kmc.codes().data(), kmc.side(), kmc.vacancies()[0], fast);
    m.set_kernel(BarrierModel::Kernel::portable);
    m.barriers(kmc.codes().data(), kmc.side(), kmc.vacancies()[0], slow);
    for (int k = 0; k < 8; ++k)
      if (std::isfinite(slow[k])) worst = std::max(worst, static_cast<double>(std::fabs(fast[k] - slow[k])));
  }
  std::printf("nbmota: portable vs AVX2 barriers differ by at most %.3g eV\n", worst);
  CHECK(worst < 1e-5);
}

TEST_CASE("nbmota: upsampled snapshots are exactly equimolar with one vacancy at each tile's centre", "[nbmota]") {
  const auto sys = make_system("nbmota");
  const AlloyCell c = start_with_vacancy();
  std::vector<std::int8_t> big(32 * 32 * 32);
  for (std::uint64_t item = 0; item < 5; ++item) {
    sampling::upsample_level(*sys, reinterpret_cast<const std::int8_t*>(c.codes.data()), 16, 2, big.data(), 3, 1, item);
    sys->after_relax(LatticePart::whole(big.data(), 3, 32), 16, SoloSums{});  // the vacancies go to the tile centres after the relax
    const auto* x = reinterpret_cast<const std::uint8_t*>(big.data());
    int count[256] = {};
    for (std::size_t i = 0; i < big.size(); ++i) ++count[x[i]];
    INFO("snapshot " << item);
    CHECK(count[kNb] == 2728);
    CHECK(count[kMo] == 2728);
    CHECK(count[kTa] == 2728);
    CHECK(count[kVacancy] == 8);
    for (int a : {8, 24})
      for (int b : {8, 24})
        for (int d : {8, 24}) CHECK(x[voxel(32, a, b, d)] == kVacancy);
    CHECK(StateCheck(*sys, 32).problem(big.data()) == "");
    // Shifted tiles: the eight tiles are not all the same copy.
    bool differ = false;
    for (int i = 0; i < 16 && !differ; ++i)
      for (int j = 0; j < 16 && !differ; ++j)
        for (int k = 0; k < 16 && !differ; ++k)
          differ = x[voxel(32, i, j, k)] != x[voxel(32, 16 + i, j, k)] && x[voxel(32, i, j, k)] != kVacancy;
    CHECK(differ);
  }
}

TEST_CASE("nbmota: one tiling level of factor 4 gives 65 536 sites, exactly equimolar, a vacancy per tile centre",
          "[nbmota]") {
  const auto sys = make_system("nbmota");
  const AlloyCell c = start_with_vacancy();
  std::vector<std::int8_t> big(64 * 64 * 64);
  sampling::upsample_level(*sys, reinterpret_cast<const std::int8_t*>(c.codes.data()), 16, 4, big.data(), 3, 1, 0);
  sys->after_relax(LatticePart::whole(big.data(), 3, 64), 16, SoloSums{});
  const auto* x = reinterpret_cast<const std::uint8_t*>(big.data());
  int count[256] = {};
  for (std::size_t i = 0; i < big.size(); ++i) ++count[x[i]];
  CHECK(count[kNb] == 21824);  // (65 536 - 64) / 3
  CHECK(count[kMo] == 21824);
  CHECK(count[kTa] == 21824);
  CHECK(count[kVacancy] == 64);
  for (int a = 8; a < 64; a += 16)
    for (int b = 8; b < 64; b += 16)
      for (int d = 8; d < 64; d += 16) CHECK(x[voxel(64, a, b, d)] == kVacancy);
  CHECK(StateCheck(*sys, 64).problem(big.data()) == "");
}

TEST_CASE("nbmota KMC: run_for advances by exactly the frame time, with Poisson hop counts", "[nbmota][kmc]") {
  // A constant barrier on a cell with one vacancy: R = 8 nu exp(-E0 / k_B T) in every
  // state, so the hops in a frame of duration tau are Poisson(R tau) when dropping the
  // waiting time that crosses the frame's end is right (memorylessness).
  constexpr double T = 1000.0, E0 = 0.5;
  const AlloyKmc::BarrierFn constant = [](const std::uint8_t*, int, std::int64_t, float* e8) {
    for (int k = 0; k < 8; ++k) e8[k] = static_cast<float>(E0);
  };
  const AlloyCell c = start_with_vacancy();
  AlloyKmc kmc(constant, T);
  kmc.load(c.codes.data(), c.N);
  const double R = kmc.total_rate();
  REQUIRE(R == Approx(8 * kAttemptFrequency * std::exp(-static_cast<double>(static_cast<float>(E0)) / (kBoltzmannEvPerK * T))));
  const double lambda = 5.0, tau = lambda / R;
  Rng rng({19, Purpose::test, 0, 5, 0});
  constexpr int kFrames = 4000;
  double sum = 0, sum2 = 0;
  for (int f = 0; f < kFrames; ++f) {
    const auto before = kmc.hops();
    CHECK(kmc.run_for(tau, rng) == tau);
    const double n = static_cast<double>(kmc.hops() - before);
    sum += n;
    sum2 += n * n;
  }
  const double mean = sum / kFrames, var = (sum2 - kFrames * mean * mean) / (kFrames - 1);
  // Standard errors of a Poisson(5) sample of 4000: mean sqrt(5 / 4000) = 0.035; variance
  // sqrt((2 lambda^2 + lambda) / n) = 0.117.
  CHECK(std::fabs(mean - lambda) < 4 * std::sqrt(lambda / kFrames));
  CHECK(std::fabs(var - lambda) < 4 * std::sqrt((2 * lambda * lambda + lambda) / kFrames));
}

TEST_CASE("nbmota: each tile is a time-matched frame of the small runs", "[nbmota]") {
  // 3 runs x 40 frames; the frames of t in [5, 25) are all Nb, the others all Ta (two
  // vacancies each, so that 8 tiles hold 8176 atoms and no rebalancing relabels them). A
  // snapshot drawn from frame t = 15 of run 1 takes every tile from t in [5, 25) of any run.
  const auto sys = make_system("nbmota");
  constexpr int Ls = 16, F = 40, runs = 3;
  const std::int64_t voxels = Ls * Ls * Ls;
  std::vector<std::uint8_t> pool(static_cast<std::size_t>(runs * F * voxels));
  for (int r = 0; r < runs; ++r)
    for (int t = 0; t < F; ++t) {
      std::uint8_t* frame = pool.data() + (r * F + t) * voxels;
      for (int x = 0; x < Ls; ++x)
        for (int y = 0; y < Ls; ++y)
          for (int z = 0; z < Ls; ++z)
            frame[voxel(Ls, x, y, z)] = !is_site(x, y, z) ? kNoSite : (t >= 5 && t < 25) ? kNb : kTa;
      frame[voxel(Ls, 0, 0, 0)] = kVacancy;
      frame[voxel(Ls, 2, 2, 2)] = kVacancy;
    }
  const auto* p = reinterpret_cast<const std::int8_t*>(pool.data());
  const std::int64_t source = 1 * F + 15;
  const systems::System::FramePool frames{p, runs * F, F, source};
  std::vector<std::int8_t> big(32 * 32 * 32);
  for (std::uint64_t item = 0; item < 20; ++item) {
    sampling::upsample_level(*sys, p + source * voxels, Ls, 2, big.data(), 5, 1, item, frames);
    int ta = 0;
    for (std::int8_t code : big) ta += static_cast<std::uint8_t>(code) == kTa;
    CHECK(ta == 0);
  }
  // Drawn from t = 30 instead, every tile comes from [20, 40): a mix of both kinds.
  const systems::System::FramePool late{p, runs * F, F, 1 * F + 30};
  int nb_tiles = 0, ta_tiles = 0;
  for (std::uint64_t item = 0; item < 20; ++item) {
    sampling::upsample_level(*sys, p + (1 * F + 30) * voxels, Ls, 2, big.data(), 5, 1, item, late);
    const auto* x = reinterpret_cast<const std::uint8_t*>(big.data());
    for (int a = 0; a < 32; a += 16)
      for (int b = 0; b < 32; b += 16)
        for (int d = 0; d < 32; d += 16) {
          const std::uint8_t code = x[voxel(32, a + 1, b + 1, d + 1)] == kVacancy ? x[voxel(32, a + 3, b + 3, d + 3)]
                                                                                  : x[voxel(32, a + 1, b + 1, d + 1)];
          nb_tiles += code == kNb;
          ta_tiles += code == kTa;
        }
  }
  CHECK(nb_tiles > 0);  // t in [20, 25): Nb; [25, 40): Ta
  CHECK(ta_tiles > nb_tiles);
}

TEST_CASE("nbmota: a barrier file with a wrong layer shape or a NaN weight is refused with one sentence", "[nbmota]") {
  // Copies of the shipped network with one array changed, written as plain HDF5 arrays.
  const std::string src = kData + "barrier-model.h5";
  const auto copy = [&](const std::string& name, const std::string& changed, bool wrong_shape, bool nan) {
    const std::string path = std::string(MACRODYN_TEST_TMPDIR) + "/" + name;
    io::DatasetWriter w(path, io::RootInfo{0, "nbmota", "", "test"});
    for (const std::string group : {"layer1", "layer2", "layer3", "layer4", "output"}) {
      w.create_group("/" + group, io::GroupInfo{});
      const std::vector<std::string> arrays = group == "output" ? std::vector<std::string>{"W", "b"}
          : std::vector<std::string>{"W", "b", "bn_gamma", "bn_beta", "bn_running_mean", "bn_running_var"};
      for (const std::string& a : arrays) {
        const std::string array = group + "/" + a;
        io::FloatArray v = io::read_float_array(src, array);
        if (array == changed && wrong_shape) {
          v.shape[0] -= 1;
          v.values.resize(v.values.size() - static_cast<std::size_t>(v.shape.size() > 1 ? v.shape[1] : 1));
        }
        if (array == changed && nan) v.values[3] = std::nanf("");
        w.write_array("/" + array, io::DType::f32, v.shape, v.values.data());
      }
    }
    return path;
  };
  CHECK_NOTHROW(BarrierModel::load(copy("nbmota_model_copy.h5", "", false, false)));
  CHECK_THROWS_WITH(BarrierModel::load(copy("nbmota_model_shape.h5", "layer2/W", true, false)),
                    Catch::Contains("layer2/W is 127 x 128, not 128 x 128"));
  CHECK_THROWS_WITH(BarrierModel::load(copy("nbmota_model_nan.h5", "layer3/b", false, true)),
                    Catch::Contains("layer3/b holds a non-finite value"));
}
