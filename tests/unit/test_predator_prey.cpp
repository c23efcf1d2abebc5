// Predator-prey SPDE serial reference (docs/design.md §8.6) against hand values and the
// paper's [sim] checks:
//   * noise-free step from u = v = 0.5 and from a linear profile (interior Lap = 0, edge
//     Lap = slope through the zero-flux ghosts); the kernel's documented arithmetic order;
//   * the fields' upsampling (sampling::upsample_linear2 in double) weights, 2-D = x pass
//     then y pass, constants and linear profiles kept;
//   * step_box on a box split into parts whose ghosts come from the neighbours equals the
//     full-grid step bit for bit (the MPI solver relies on this; a patch with a frozen halo:
//     test_predator_prey_system.cpp);
//   * 2-D from a y-independent state follows the 1-D trajectory bit for bit;
//   * cell_noise moments; the ensemble means and spread of 50 trajectories (n = 200).
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <vector>

#include "core/error.hpp"
#include "sampling/upsample.hpp"
#include "systems/predator_prey.hpp"

using namespace macrodyn;
using namespace macrodyn::fields;

namespace {

constexpr std::uint64_t kSeed = 20240611;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

PredatorPreyParams params(int dim, int n, double eta) {
  PredatorPreyParams p;
  p.dim = dim;
  p.n = n;
  p.eta = eta;
  return p;
}

// A rough state: the §5 initial condition plus a few noisy steps, so that neighbouring
// cells (and the halos) all differ.
void rough_state(const PredatorPreyParams& p, std::vector<double>& u, std::vector<double>& v) {
  initial_state(p, 0.5, 0.1, u, v);
  PredatorPreyParams noisy = p;
  noisy.eta = 0.5;
  SerialStepper s(noisy);
  for (std::uint32_t t = 0; t < 3; ++t) s.step(u, v, NoiseKey{kSeed + 1, Purpose::test, 0, t});
}

// Ghosted copy of `box` from a full-grid state: cells outside the grid take the edge
// value, cells inside (interior or halo) the state's value -- what a neighbour's halo
// exchange delivers.
std::vector<double> ghosted_from(const PredatorPreyParams& p, const GhostedBox& box, const std::vector<double>& x) {
  const int w = box.nx + 2, rows = p.dim == 1 ? 1 : box.ny + 2;
  std::vector<double> g(static_cast<std::size_t>(box.ghosted_size(p.dim)));
  for (int gj = 0; gj < rows; ++gj)
    for (int gi = 0; gi < w; ++gi) {
      const int gx = std::clamp(box.x0 + gi - 1, 0, p.n - 1);
      const int gy = p.dim == 1 ? 0 : std::clamp(box.y0 + gj - 1, 0, p.n - 1);
      g[static_cast<std::size_t>(gj) * w + gi] = x[static_cast<std::size_t>(gy) * p.n + gx];
    }
  return g;
}

// Plain 1-D upsampling by the formula of docs/design.md §8.6.2, written independently.
std::vector<double> upsample1d_ref(const std::vector<double>& c) {
  const int n = static_cast<int>(c.size());
  std::vector<double> f(2 * c.size());
  for (int i = 0; i < n; ++i) {
    const double left = c[std::max(i - 1, 0)], right = c[std::min(i + 1, n - 1)];
    f[2 * i] = 0.25 * left + 0.75 * c[i];
    f[2 * i + 1] = 0.75 * c[i] + 0.25 * right;
  }
  return f;
}

}  // namespace

TEST_CASE("predator-prey parameters: validation, scales and amplitudes", "[predator_prey]") {
  PredatorPreyParams p = params(1, 200, 0.02);
  REQUIRE_NOTHROW(p.validate());
  CHECK(p.laplacian_scale() == 1.0);
  CHECK(p.noise_amplitude() == 0.02);
  CHECK(p.explicit_dt_limit() == Approx(0.5));  // 1 / (2 * 1 * max(0, 1))
  p.laplacian = Laplacian::physical;
  p.noise = NoiseKind::space_time_white;
  CHECK(p.laplacian_scale() == Approx(40000.0));
  CHECK(p.noise_amplitude() == Approx(0.02 * std::sqrt(200.0)));
  CHECK(p.explicit_dt_limit() == Approx(1.0 / (2.0 * 40000.0)));
  p.dim = 2;
  p.Du = 2.0;
  CHECK(p.noise_amplitude() == Approx(0.02 * 200.0));
  CHECK(p.explicit_dt_limit() == Approx(1.0 / (8.0 * 40000.0)));

  for (auto bad : {params(3, 10, 0.0), params(1, 0, 0.0), params(1, 10, -1.0)}) {
    CHECK_THROWS_AS(bad.validate(), InputError);
    CHECK_THROWS_AS(SerialStepper(bad), InputError);
  }
  PredatorPreyParams q = params(1, 10, 0.0);
  q.dt = 0.0;
  CHECK_THROWS_AS(q.validate(), InputError);
}

TEST_CASE("predator-prey noise-free step: fixed values and linear profiles", "[predator_prey]") {
  for (int dim : {1, 2}) {
    const PredatorPreyParams p = params(dim, 16, 0.0);
    std::vector<double> u(p.cells(), 0.5), v(p.cells(), 0.5);
    SerialStepper(p).step(u, v, NoiseKey{kSeed});
    for (std::size_t i = 0; i < u.size(); ++i) {
      REQUIRE(u[i] == 0.5);  // 0.5 (1 - 0.5 - 0.5) = 0
      REQUIRE(std::fabs((v[i] - 0.5) - 0.0015) < 1e-15);  // dt a v (u - b) = 0.01 * 3 * 0.5 * 0.1
    }
  }

  // Linear dyadic profile (exact sums): interior Lap = 0, so with Du = Dv = 1 the change
  // is the reaction alone; the edge cells see Lap = +-slope through the replicated ghost.
  PredatorPreyParams p = params(1, 64, 0.0);
  p.Du = 1.0;
  p.Dv = 1.0;
  const double su = 1.0 / 1024, sv = -1.0 / 2048;
  std::vector<double> u(p.n), v(p.n);
  for (int i = 0; i < p.n; ++i) {
    u[i] = 0.25 + su * i;
    v[i] = 0.5 + sv * i;
  }
  const std::vector<double> u0 = u, v0 = v;
  SerialStepper(p).step(u, v, NoiseKey{kSeed});
  for (int i = 0; i < p.n; ++i) {
    const double ru = u0[i] * ((1.0 - u0[i]) - v0[i]);
    const double rv = (p.a * v0[i]) * (u0[i] - p.b);
    const double lap_u = i == 0 ? su : i == p.n - 1 ? -su : 0.0;
    const double lap_v = i == 0 ? sv : i == p.n - 1 ? -sv : 0.0;
    INFO("cell " << i);
    CHECK(std::fabs((u[i] - u0[i]) - p.dt * (ru + lap_u)) < 1e-15);
    CHECK(std::fabs((v[i] - v0[i]) - p.dt * (rv + lap_v)) < 1e-15);
    if (i > 0 && i < p.n - 1) {  // exactly the reaction step, same bits
      CHECK(u[i] == u0[i] + p.dt * ru);
      CHECK(v[i] == v0[i] + p.dt * rv);
    }
  }
}

TEST_CASE("predator-prey step_box follows the documented arithmetic order bit for bit", "[predator_prey]") {
  // The PETSc solver and the serial code share step_box; this pins the order written in
  // predator_prey.cpp so that a rewrite of the kernel cannot silently change the bits.
  for (int dim : {1, 2}) {
    PredatorPreyParams p = params(dim, 12, 0.3);
    p.Du = 0.07;
    p.laplacian = Laplacian::physical;
    p.noise = NoiseKind::space_time_white;
    std::vector<double> u, v;
    rough_state(p, u, v);
    const NoiseKey key{kSeed, Purpose::field_noise, 9, 41};
    std::vector<double> un = u, vn = v;
    SerialStepper(p).step(un, vn, key);
    const int rows = dim == 1 ? 1 : p.n;
    const double s = p.laplacian_scale(), amp = p.noise_amplitude() * std::sqrt(p.dt);
    for (int j = 0; j < rows; ++j)
      for (int i = 0; i < p.n; ++i) {
        const auto at = [&](const std::vector<double>& x, int di, int dj) {
          const int ii = std::clamp(i + di, 0, p.n - 1), jj = std::clamp(j + dj, 0, rows - 1);
          return x[static_cast<std::size_t>(jj) * p.n + ii];
        };
        const double uc = at(u, 0, 0), vc = at(v, 0, 0);
        double lu = (at(u, -1, 0) + at(u, 1, 0)) - 2.0 * uc;
        double lv = (at(v, -1, 0) + at(v, 1, 0)) - 2.0 * vc;
        if (dim == 2) {
          lu = lu + ((at(u, 0, -1) + at(u, 0, 1)) - 2.0 * uc);
          lv = lv + ((at(v, 0, -1) + at(v, 0, 1)) - 2.0 * vc);
        }
        lu = lu * s;
        lv = lv * s;
        const double fu = uc * ((1.0 - uc) - vc) + p.Du * lu;
        const double fv = (p.a * vc) * (uc - p.b) + p.Dv * lv;
        double xu, xv;
        cell_noise(key, static_cast<std::int64_t>(j) * p.n + i, xu, xv);
        const std::size_t c = static_cast<std::size_t>(j) * p.n + i;
        INFO("dim " << dim << " cell " << i << "," << j);
        REQUIRE(un[c] == (uc + p.dt * fu) + amp * xu);
        REQUIRE(vn[c] == (vc + p.dt * fv) + amp * xv);
      }
  }
}

TEST_CASE("predator-prey upsampling by 2: weights, tensor product, constants, linear profiles", "[predator_prey]") {
  const std::vector<double> c = {1.0, 2.0, 4.0};
  std::vector<double> f(6);
  sampling::upsample_linear2(c.data(), 1, 3, 1, f.data());
  CHECK(f == std::vector<double>{1.0, 1.25, 1.75, 2.5, 3.5, 4.0});

  // 2-D = the 1-D formula along x for every coarse row, then along y for every column.
  const int n = 7;
  std::vector<double> coarse(n * n);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < n; ++i) coarse[j * n + i] = std::sin(1.3 * i + 0.7 * j * j) + 0.1 * i * j;
  std::vector<double> fine(4 * n * n);
  sampling::upsample_linear2(coarse.data(), 2, n, 1, fine.data());
  std::vector<double> xpass(2 * n * n);  // n rows of 2n
  for (int j = 0; j < n; ++j) {
    const auto row = upsample1d_ref(std::vector<double>(coarse.begin() + j * n, coarse.begin() + (j + 1) * n));
    std::copy(row.begin(), row.end(), xpass.begin() + j * 2 * n);
  }
  std::vector<double> expect(4 * n * n);
  for (int i = 0; i < 2 * n; ++i) {
    std::vector<double> col(n);
    for (int j = 0; j < n; ++j) col[j] = xpass[j * 2 * n + i];
    const auto up = upsample1d_ref(col);
    for (int j = 0; j < 2 * n; ++j) expect[j * 2 * n + i] = up[j];
  }
  CHECK(same_bits(fine, expect));

  for (double value : {0.3, 0.6, 1.0 / 3.0, 0.123456789}) {
    std::vector<double> k1(9, value), f1(18), k2(81, value), f2(324);
    sampling::upsample_linear2(k1.data(), 1, 9, 1, f1.data());
    sampling::upsample_linear2(k2.data(), 2, 9, 1, f2.data());
    CHECK(std::all_of(f1.begin(), f1.end(), [&](double x) { return x == value; }));
    CHECK(std::all_of(f2.begin(), f2.end(), [&](double x) { return x == value; }));
  }

  // Linear in the cell index: fine cell 2i + 1 sits at coarse i + 1/4, 2i at i - 1/4.
  const int m = 10;
  std::vector<double> lin(m), lf(2 * m);
  for (int i = 0; i < m; ++i) lin[i] = 0.2 + 0.037 * i;
  sampling::upsample_linear2(lin.data(), 1, m, 1, lf.data());
  for (int fi = 1; fi < 2 * m - 1; ++fi) CHECK(std::fabs(lf[fi] - (0.2 + 0.037 * ((fi - 0.5) / 2.0))) < 1e-14);
  CHECK(lf[0] == lin[0]);
  CHECK(lf[2 * m - 1] == lin[m - 1]);
  std::vector<double> lin2(m * m), lf2(4 * m * m);
  for (int j = 0; j < m; ++j)
    for (int i = 0; i < m; ++i) lin2[j * m + i] = 0.2 + 0.037 * i - 0.011 * j;
  sampling::upsample_linear2(lin2.data(), 2, m, 1, lf2.data());
  for (int fj = 1; fj < 2 * m - 1; ++fj)
    for (int fi = 1; fi < 2 * m - 1; ++fi)
      CHECK(std::fabs(lf2[fj * 2 * m + fi] - (0.2 + 0.037 * ((fi - 0.5) / 2.0) - 0.011 * ((fj - 0.5) / 2.0))) <
            1e-14);
}

TEST_CASE("predator-prey step_box on a split grid equals the serial step", "[predator_prey]") {
  // 1-D: two halves. 2-D: four quadrants (x0 and y0 both non-zero, row stride != nx).
  for (int dim : {1, 2}) {
    const int n = dim == 1 ? 200 : 32;
    const PredatorPreyParams p = params(dim, n, 0.02);
    std::vector<double> u, v;
    rough_state(p, u, v);
    const NoiseKey key{kSeed, Purpose::field_noise, 3, 99};
    std::vector<double> us = u, vs = v;
    SerialStepper(p).step(us, vs, key);

    std::vector<double> ud(u.size()), vd(v.size());
    const int h = n / 2;
    std::vector<GhostedBox> boxes;
    if (dim == 1) {
      boxes = {GhostedBox{h, 1, 0, 0}, GhostedBox{n - h, 1, h, 0}};
    } else {
      boxes = {GhostedBox{h, h, 0, 0}, GhostedBox{n - h, h, h, 0}, GhostedBox{h, n - h, 0, h},
               GhostedBox{n - h, n - h, h, h}};
    }
    for (const GhostedBox& b : boxes) {
      const auto gu = ghosted_from(p, b, u), gv = ghosted_from(p, b, v);
      std::vector<double> uo(static_cast<std::size_t>(b.nx) * b.ny), vo(uo.size());
      step_box(p, b, gu.data(), gv.data(), uo.data(), vo.data(), key);
      for (int j = 0; j < b.ny; ++j)
        for (int i = 0; i < b.nx; ++i) {
          ud[static_cast<std::size_t>(b.y0 + j) * n + b.x0 + i] = uo[j * b.nx + i];
          vd[static_cast<std::size_t>(b.y0 + j) * n + b.x0 + i] = vo[j * b.nx + i];
        }
    }
    INFO("dim " << dim);
    CHECK(same_bits(ud, us));
    CHECK(same_bits(vd, vs));
  }
}

TEST_CASE("predator-prey 2-D from a y-independent state follows the 1-D trajectory", "[predator_prey]") {
  // Noise off: the y term of the Laplacian is ((c + c) - 2c) = +0 exactly, so every row of
  // the 2-D field carries the 1-D bits.
  PredatorPreyParams p1 = params(1, 40, 0.0);
  p1.Du = 0.05;
  PredatorPreyParams p2 = p1;
  p2.dim = 2;
  std::vector<double> u1, v1, u2, v2;
  initial_state(p1, 0.47, 0.12, u1, v1);
  initial_state(p2, 0.47, 0.12, u2, v2);
  SerialStepper s1(p1), s2(p2);
  for (std::uint32_t t = 0; t < 100; ++t) {
    s1.step(u1, v1, NoiseKey{kSeed, Purpose::field_noise, 0, t});
    s2.step(u2, v2, NoiseKey{kSeed, Purpose::field_noise, 0, t});
  }
  CHECK_FALSE(same_bits(u1, std::vector<double>(u1.size(), u1[0])));  // it moved non-uniformly
  for (int j = 0; j < p2.n; ++j) {
    INFO("row " << j);
    CHECK(same_bits(std::vector<double>(u2.begin() + j * p2.n, u2.begin() + (j + 1) * p2.n), u1));
    CHECK(same_bits(std::vector<double>(v2.begin() + j * p2.n, v2.begin() + (j + 1) * p2.n), v1));
  }
}

TEST_CASE("predator-prey cell_noise: standard normal pairs, uncorrelated", "[predator_prey]") {
  const NoiseKey key{kSeed, Purpose::field_noise, 5, 12};
  const int N = 400000;
  double s[2] = {0, 0}, s2[2] = {0, 0}, s4[2] = {0, 0}, suv = 0, suv2 = 0;
  for (int c = 0; c < N; ++c) {
    double x[2];
    cell_noise(key, c, x[0], x[1]);
    for (int f = 0; f < 2; ++f) {
      s[f] += x[f];
      s2[f] += x[f] * x[f];
      s4[f] += x[f] * x[f] * x[f] * x[f];
    }
    suv += x[0] * x[1];
    suv2 += x[0] * x[0] * x[1] * x[1];
  }
  for (int f = 0; f < 2; ++f) {
    const double mean = s[f] / N, m2 = s2[f] / N, m4 = s4[f] / N;
    const double var = m2 - mean * mean;
    const double se_mean = std::sqrt(var / N);
    const double se_var = std::sqrt((m4 - m2 * m2) / N);  // SE of the mean of x^2
    INFO("field " << f << " mean " << mean << " var " << var);
    CHECK(std::fabs(mean) < 4 * se_mean);
    CHECK(std::fabs(var - 1.0) < 4 * se_var);
  }
  const double cuv = suv / N, se_cuv = std::sqrt((suv2 / N - cuv * cuv) / N);
  INFO("E[xi_u xi_v] " << cuv);
  CHECK(std::fabs(cuv) < 4 * se_cuv);

  // The same (key, cell) gives the same pair; any change of the key another one.
  double a, b, c, d;
  cell_noise(key, 77, a, b);
  cell_noise(key, 77, c, d);
  CHECK((a == c && b == d));
  for (NoiseKey k : {NoiseKey{kSeed + 1, Purpose::field_noise, 5, 12}, NoiseKey{kSeed, Purpose::test, 5, 12},
                     NoiseKey{kSeed, Purpose::field_noise, 6, 12}, NoiseKey{kSeed, Purpose::field_noise, 5, 13}}) {
    cell_noise(k, 77, c, d);
    CHECK(a != c);
  }
  CHECK_THROWS_AS(cell_noise(key, std::int64_t(1) << 32, c, d), std::invalid_argument);
  CHECK_THROWS_AS(cell_noise(NoiseKey{kSeed, Purpose::field_noise, std::uint64_t(1) << 48, 0}, 0, c, d),
                  std::invalid_argument);
}

namespace {

struct Ensemble {
  std::vector<double> u5, v5, u_end, v_end;  // spatial means per trajectory
};

// Method-notes §5: n = 200, (m, k) = (0.5, 0.1), trajectory r uses item r; frame t is the
// state before step t, so t = 5 is after 500 steps and t = 29.99 after 2999.
Ensemble run_ensemble(double eta, int runs) {
  const PredatorPreyParams p = params(1, 200, eta);
  Ensemble e;
  SerialStepper s(p);
  std::vector<double> u, v;
  const auto mean = [](const std::vector<double>& x) {
    double sum = 0;
    for (double y : x) sum += y;
    return sum / x.size();
  };
  for (int r = 0; r < runs; ++r) {
    initial_state(p, 0.5, 0.1, u, v);
    for (std::uint32_t t = 0; t < 2999; ++t) {
      s.step(u, v, NoiseKey{kSeed, Purpose::field_noise, static_cast<std::uint64_t>(r), t});
      if (t + 1 == 500) {
        e.u5.push_back(mean(u));
        e.v5.push_back(mean(v));
      }
    }
    e.u_end.push_back(mean(u));
    e.v_end.push_back(mean(v));
  }
  return e;
}

double avg(const std::vector<double>& x) {
  double s = 0;
  for (double y : x) s += y;
  return s / x.size();
}

double sample_std(const std::vector<double>& x) {
  const double m = avg(x);
  double s = 0;
  for (double y : x) s += (y - m) * (y - m);
  return std::sqrt(s / (x.size() - 1));
}

}  // namespace

TEST_CASE("predator-prey ensemble of 50 trajectories matches the paper's statistics", "[predator_prey][physics]") {
  const auto t0 = std::chrono::steady_clock::now();
  const Ensemble e = run_ensemble(0.02, 50);
  const double elapsed = seconds_since(t0);
  std::cout << "predator-prey ensemble (50 x 2999 steps, n = 200): " << elapsed << " s\n"
            << "  mean u(5) " << avg(e.u5) << "  mean v(5) " << avg(e.v5) << "\n"
            << "  mean u(29.99) " << avg(e.u_end) << "  mean v(29.99) " << avg(e.v_end) << "\n"
            << "  std u(29.99) " << sample_std(e.u_end) << "  std v(29.99) " << sample_std(e.v_end) << "\n";
  CHECK(avg(e.u5) == Approx(0.377).margin(0.002));
  CHECK(avg(e.v5) == Approx(0.559).margin(0.004));
  CHECK(avg(e.u_end) == Approx(0.400).margin(0.002));
  CHECK(avg(e.v_end) == Approx(0.599).margin(0.004));
  CHECK(sample_std(e.u_end) == Approx(0.0018).margin(0.0007));
  CHECK(sample_std(e.v_end) == Approx(0.0043).margin(0.0017));

  // Without noise every trajectory is the same: the spread check must fail.
  const Ensemble quiet = run_ensemble(0.0, 50);
  // Identical bits in every trajectory (the std itself is only ~1e-17 from the rounding
  // of the ensemble mean).
  CHECK(std::all_of(quiet.u_end.begin(), quiet.u_end.end(), [&](double x) { return x == quiet.u_end[0]; }));
  CHECK(std::all_of(quiet.v_end.begin(), quiet.v_end.end(), [&](double x) { return x == quiet.v_end[0]; }));
  CHECK(sample_std(quiet.u_end) < 1e-12);
  CHECK(sample_std(quiet.v_end) < 1e-12);
  CHECK_FALSE(sample_std(quiet.u_end) == Approx(0.0018).margin(0.0007));
  CHECK_FALSE(sample_std(quiet.v_end) == Approx(0.0043).margin(0.0017));
  std::cout << "  noise-free mean u(29.99) " << avg(quiet.u_end) << "  v(29.99) " << avg(quiet.v_end) << "\n";
}
