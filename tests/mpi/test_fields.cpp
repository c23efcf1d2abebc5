// The PETSc DMDA predator-prey solver (mpi/fields) against the serial reference
// (lib/systems/predator_prey): explicit steps bit for bit on any rank count, the
// semi-implicit scheme's order, stability and rank-count independence (to the Krylov
// tolerance), and the whole-grid / owned-part / means accessors.
// The reporter bases (TestEventListenerBase) for the listener that finalises PETSc.
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include <catch2/catch.hpp>
#include <mpi.h>

#include <algorithm>
#include <csignal>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/fixed_point_sum.hpp"
#include "core/stop.hpp"
#include "io/dataset.hpp"
#include "mpi/fields/field_truth.hpp"
#include "systems/predator_prey_system.hpp"
#include "mpi/fields/petsc_predator_prey.hpp"
#include "mpi/fields/petsc_session.hpp"
#include "systems/predator_prey.hpp"

using namespace macrodyn::jobs;
using namespace macrodyn::systems;

using namespace macrodyn;
using macrodyn::mpi::DmdaOptions;
using macrodyn::mpi::DmdaPredatorPrey;
using macrodyn::fields::FieldScheme;
using macrodyn::mpi::LinearSolver;

namespace {

int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

// PETSc is initialised by the first test that needs it and finalised when the run ends
// (before main's MPI_Finalize), so other tags of this executable never start it.
std::unique_ptr<mpi::PetscSession>& petsc_slot() {
  static std::unique_ptr<mpi::PetscSession> s;
  return s;
}
void need_petsc() {
  if (!petsc_slot()) petsc_slot() = std::make_unique<mpi::PetscSession>();
}
struct PetscFinalizer : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;
  void testRunEnded(const Catch::TestRunStats&) override { petsc_slot().reset(); }
};

fields::PredatorPreyParams params(int dim, int n) {
  fields::PredatorPreyParams p;
  p.dim = dim;
  p.n = n;
  return p;
}

fields::NoiseKey key(std::uint64_t item, std::uint32_t step) {
  fields::NoiseKey k;
  k.seed = 20240611;
  k.item = item;
  k.step = step;
  return k;
}

// Physical-Laplacian parameters for the semi-implicit tests: diffusion and reaction on
// comparable time scales, and 10x the explicit limit is still a stable explicit step
// for the reaction (|1 + dt lambda| < 1 needs dt < 0.55 at the fixed point).
fields::PredatorPreyParams physical(int dim, int n) {
  fields::PredatorPreyParams p = params(dim, n);
  p.laplacian = fields::Laplacian::physical;
  p.Du = 0.005;
  p.Dv = 0.01;
  return p;
}

// Runs `steps` steps from initial_state(0.5, 0.1) on `comm`; the final state on the
// communicator's rank 0.
void run(MPI_Comm comm, const fields::PredatorPreyParams& p, const DmdaOptions& o, int steps, std::uint64_t item,
         std::vector<double>& u, std::vector<double>& v) {
  fields::initial_state(p, 0.5, 0.1, u, v);
  DmdaPredatorPrey s(comm, p, o);
  s.set_state(u, v);
  for (int k = 0; k < steps; ++k) s.step(key(item, static_cast<std::uint32_t>(k)));
  s.get_state(u, v);
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

double max_abs(const std::vector<double>& a) {
  double m = 0;
  for (double x : a) m = std::max(m, std::abs(x));
  return m;
}

bool all_within(const std::vector<double>& a, double lo, double hi) {
  return std::all_of(a.begin(), a.end(), [&](double x) { return std::isfinite(x) && x >= lo && x <= hi; });
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

}  // namespace

CATCH_REGISTER_LISTENER(PetscFinalizer)

TEST_CASE("explicit DMDA steps equal the serial stepper bit for bit", "[fields]") {
  need_petsc();
  // 61 and 21 split unevenly over 2 and 4 ranks.
  for (const auto& [dim, n] : {std::pair{1, 64}, std::pair{2, 24}, std::pair{1, 61}, std::pair{2, 21}}) {
    INFO("dim " << dim << ", n " << n);
    fields::PredatorPreyParams p = params(dim, n);
    p.Du = 0.1;  // both fields diffuse: both exchanges matter
    std::vector<double> u, v, gu, gv;
    fields::initial_state(p, 0.5, 0.1, u, v);
    DmdaPredatorPrey s(MPI_COMM_WORLD, p);
    s.set_state(u, v);
    fields::SerialStepper serial(p);
    for (std::uint32_t k = 0; k < 50; ++k) {
      s.step(key(3, k));
      if (world_rank() == 0) serial.step(u, v, key(3, k));
      if (k % 10 == 9) {
        s.get_state(gu, gv);
        if (world_rank() == 0) {
          INFO("after step " << k);
          CHECK(same_bits(gu, u));
          CHECK(same_bits(gv, v));
        }
      }
    }
  }
}

TEST_CASE("2-D from a y-independent state reproduces the 1-D trajectory (noise off)", "[fields]") {
  need_petsc();
  const int n = 48;
  fields::PredatorPreyParams p1 = params(1, n), p2 = params(2, n);
  p1.eta = p2.eta = 0.0;
  p1.Du = p2.Du = 0.1;
  std::vector<double> u1, v1, u2, v2;
  run(MPI_COMM_WORLD, p1, {}, 50, 0, u1, v1);
  run(MPI_COMM_WORLD, p2, {}, 50, 0, u2, v2);
  if (world_rank() != 0) return;
  REQUIRE(u2.size() == static_cast<std::size_t>(n) * n);
  for (int j = 0; j < n; ++j) {
    INFO("row " << j);
    const std::vector<double> ru(u2.begin() + j * n, u2.begin() + (j + 1) * n);
    const std::vector<double> rv(v2.begin() + j * n, v2.begin() + (j + 1) * n);
    // The y part of the 5-point Laplacian is exactly +0 for a y-independent field and
    // step_box adds it after the x part: the 1-D bits, row by row.
    CHECK(same_bits(ru, u1));
    CHECK(same_bits(rv, v1));
  }
}

TEST_CASE("whole-grid state, owned part and means", "[fields]") {
  need_petsc();
  for (const auto& [dim, n] : {std::pair{1, 37}, std::pair{2, 19}}) {
    INFO("dim " << dim << ", n " << n);
    const fields::PredatorPreyParams p = params(dim, n);
    const std::int64_t cells = p.cells();
    std::vector<double> u(static_cast<std::size_t>(cells)), v(u.size());
    for (std::int64_t c = 0; c < cells; ++c) {  // every value distinct, every rank the same
      u[c] = 0.25 + 1e-3 * static_cast<double>(c) + 1e-7 * static_cast<double>(c * c % 17);
      v[c] = 0.75 - 1e-3 * static_cast<double>(c) / 3.0;
    }
    DmdaPredatorPrey s(MPI_COMM_WORLD, p);
    s.set_state(u, v);
    std::vector<double> gu, gv;
    s.get_state(gu, gv);
    if (world_rank() == 0) {
      CHECK(same_bits(gu, u));
      CHECK(same_bits(gv, v));
    } else {
      CHECK(gu.empty());
    }

    // The owned box holds exactly the global cells it names, and the boxes tile the grid.
    const fields::GhostedBox b = s.owned_box();
    std::vector<double> ou, ov;
    s.get_owned(ou, ov);
    REQUIRE(ou.size() == static_cast<std::size_t>(b.nx) * b.ny);
    bool match = true;
    for (int j = 0; j < b.ny; ++j)
      for (int i = 0; i < b.nx; ++i) {
        const std::int64_t c = static_cast<std::int64_t>(b.y0 + j) * n + (b.x0 + i);
        const std::size_t o = static_cast<std::size_t>(j) * b.nx + i;
        match = match && ou[o] == u[c] && ov[o] == v[c];
      }
    CHECK(match);
    long long owned = static_cast<long long>(ou.size()), total = 0;
    MPI_Allreduce(&owned, &total, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
    CHECK(total == cells);

    // means(): the serial fixed-point sum's bits on every rank, and within the rounding
    // to float32 and to 2^-32 of the plain in-order mean.
    FixedPointSum fu, fv;
    double su = 0, sv = 0;
    for (std::int64_t c = 0; c < cells; ++c) {
      REQUIRE((fu.add(u[c]) && fv.add(v[c])));
      su += u[c];
      sv += v[c];
    }
    const mpi::FieldMeans m = s.means();
    CHECK(m.u == FixedPointSum::mean(fu.raw(), cells));
    CHECK(m.v == FixedPointSum::mean(fv.raw(), cells));
    CHECK(std::abs(m.u - su / static_cast<double>(cells)) <= 1e-7);
    CHECK(std::abs(m.v - sv / static_cast<double>(cells)) <= 1e-7);
  }
}

TEST_CASE("semi-implicit scheme is first order in time (noise off)", "[fields]") {
  need_petsc();
  for (const auto& [dim, n] : {std::pair{1, 64}, std::pair{2, 32}}) {
    INFO("dim " << dim << ", n " << n);
    fields::PredatorPreyParams p = physical(dim, n);
    p.eta = 0.0;
    const double T = 1.0;
    DmdaOptions o;
    o.scheme = FieldScheme::semi_implicit;
    // Reference dt = T / 2560 on one rank (direct solves), on rank 0 only.
    std::vector<double> ru, rv;
    if (world_rank() == 0) {
      fields::PredatorPreyParams pr = p;
      pr.dt = T / 2560;
      run(MPI_COMM_SELF, pr, o, 2560, 0, ru, rv);
    }
    std::vector<double> log_dt, log_err;
    for (int steps : {10, 20, 40, 80}) {
      fields::PredatorPreyParams pk = p;
      pk.dt = T / steps;
      std::vector<double> u, v;
      run(MPI_COMM_WORLD, pk, o, steps, 0, u, v);
      if (world_rank() == 0) {
        log_dt.push_back(std::log(pk.dt));
        log_err.push_back(std::log(std::max(max_abs_diff(u, ru), max_abs_diff(v, rv))));
      }
    }
    if (world_rank() != 0) continue;
    // Least-squares slope of log error against log dt.
    const double m = static_cast<double>(log_dt.size());
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (std::size_t i = 0; i < log_dt.size(); ++i) {
      sx += log_dt[i];
      sy += log_err[i];
      sxx += log_dt[i] * log_dt[i];
      sxy += log_dt[i] * log_err[i];
    }
    const double order = (m * sxy - sx * sy) / (m * sxx - sx * sx);
    INFO("fitted order " << order << ", error at dt = T/80: " << std::exp(log_err.back()));
    CHECK(order == Approx(1.0).margin(0.1));
  }
}

TEST_CASE("pure diffusion of a zero-flux cosine mode: both schemes against the exact discrete decay", "[fields]") {
  need_petsc();
  // With a = 0 and no noise, v only diffuses. The initial v = (1 - m) - k cos(10 pi x),
  // x = (i + 1/2) / n, is an eigenvector of the [1,-2,1] stencil with zero-flux (ghost =
  // edge) boundaries, eigenvalue -4 sin^2(10 pi / (2 n)) (times n^2: physical), constant
  // along y in 2-D. So after N steps v = (1 - m) - k g^N cos(10 pi x) exactly, with
  // g = 1 + dt Dv lambda (explicit) or 1 / (1 - dt Dv lambda) (implicit diffusion); the
  // mean 1 - m is conserved. Wrong boundary rows in the implicit matrix, a wrong
  // diffusion coefficient or a wrong sign would all show.
  const double m = 0.5, k = 0.1, pi = 3.141592653589793;
  for (const auto& [dim, n] : {std::pair{1, 64}, std::pair{2, 32}}) {
    fields::PredatorPreyParams p = physical(dim, n);
    p.a = 0.0;
    p.eta = 0.0;
    const double lambda = -4.0 * std::pow(std::sin(10.0 * pi / (2.0 * n)), 2) * n * n;
    for (const bool semi : {false, true}) {
      INFO("dim " << dim << ", n " << n << (semi ? ", semi-implicit at 10x" : ", explicit at 0.5x") << " the limit");
      fields::PredatorPreyParams q = p;
      q.dt = (semi ? 10.0 : 0.5) * p.explicit_dt_limit();
      DmdaOptions o;
      if (semi) o.scheme = FieldScheme::semi_implicit;
      const int steps = semi ? 3 : 20;  // the mode keeps 1-30 % of its amplitude
      std::vector<double> u, v;
      run(MPI_COMM_WORLD, q, o, steps, 0, u, v);
      if (world_rank() != 0) continue;
      const double g = semi ? 1.0 / (1.0 - q.dt * q.Dv * lambda) : 1.0 + q.dt * q.Dv * lambda;
      const double amp = k * std::pow(g, steps);
      INFO("mode amplitude " << k << " -> " << amp);
      CHECK(amp < 0.9 * k);  // the mode has decayed measurably
      CHECK(amp > 0.01 * k);  // and is still there to be measured
      double worst = 0;
      for (std::size_t c = 0; c < v.size(); ++c) {
        const double x = (static_cast<double>(c % static_cast<std::size_t>(n)) + 0.5) / n;
        worst = std::max(worst, std::abs(v[c] - ((1.0 - m) - amp * std::cos(10.0 * pi * x))));
      }
      INFO("max |v - exact| " << worst);
      // Explicit: rounding only (measured 2e-16). Semi-implicit: LU on one rank, CG with
      // rtol 1e-13 on several: the error is at most cond(A) ~ 20 times the residual
      // 1e-13 ||b|| (||b|| <= 16 here), so 1e-10 (measured at most 1.4e-13 on 2 and 4 ranks).
      CHECK(worst <= (semi ? 1e-10 : 1e-13));
    }
  }
}

TEST_CASE("semi-implicit scheme is stable at 10x the explicit limit", "[fields]") {
  need_petsc();
  for (const auto& [dim, n] : {std::pair{1, 64}, std::pair{2, 32}}) {
    INFO("dim " << dim << ", n " << n);
    fields::PredatorPreyParams p = physical(dim, n);
    p.Du = 0.0;  // the default: u explicit, v implicit
    p.dt = 10 * p.explicit_dt_limit();
    DmdaOptions o;
    o.scheme = FieldScheme::semi_implicit;
    std::vector<double> u, v;
    fields::initial_state(p, 0.5, 0.1, u, v);
    DmdaPredatorPrey s(MPI_COMM_WORLD, p, o);
    s.set_state(u, v);
    bool bounded = true;
    for (std::uint32_t k = 0; k < 400; ++k) {
      s.step(key(5, k));
      if (k % 50 == 49) {
        const mpi::FieldMeans m = s.means();
        bounded = bounded && std::isfinite(m.u) && std::isfinite(m.v) && std::abs(m.u) < 2 && std::abs(m.v) < 2;
      }
    }
    CHECK(bounded);
    // After ~50 time units the means sit near the fixed point (0.4, 0.6).
    const mpi::FieldMeans m = s.means();
    CHECK(m.u == Approx(0.4).margin(0.05));
    CHECK(m.v == Approx(0.6).margin(0.05));
    s.get_state(u, v);
    if (world_rank() == 0) {
      CHECK(all_within(u, -0.5, 1.5));
      CHECK(all_within(v, -0.5, 1.5));
    }

    // The explicit scheme at the same dt blows up (the test above means something).
    std::vector<double> eu, ev;
    run(MPI_COMM_WORLD, p, {}, 100, 5, eu, ev);
    if (world_rank() == 0) CHECK_FALSE((all_within(eu, -10, 10) && all_within(ev, -10, 10)));
  }
}

TEST_CASE("semi-implicit results agree across rank counts", "[fields]") {
  need_petsc();
  for (const auto& [dim, n] : {std::pair{1, 64}, std::pair{2, 32}}) {
    INFO("dim " << dim << ", n " << n);
    fields::PredatorPreyParams p = physical(dim, n);
    p.dt = 10 * p.explicit_dt_limit();
    DmdaOptions iterative, direct;
    iterative.scheme = direct.scheme = FieldScheme::semi_implicit;
    iterative.solver = LinearSolver::iterative;  // CG on every rank count, 1 included
    direct.solver = LinearSolver::direct;
    std::vector<double> u, v, ru, rv;
    run(MPI_COMM_WORLD, p, iterative, 50, 9, u, v);
    if (world_rank() != 0) continue;
    run(MPI_COMM_SELF, p, direct, 50, 9, ru, rv);  // the one-rank reference, LU
    CHECK(max_abs_diff(u, ru) <= 1e-10 * max_abs(ru));
    CHECK(max_abs_diff(v, rv) <= 1e-10 * max_abs(rv));
  }
}

TEST_CASE("semi-implicit steps draw the explicit scheme's noise", "[fields]") {
  need_petsc();
  // With a negligible diffusion the two schemes differ by c Lap x ~ 1e-12, far below the
  // noise term amp sqrt(dt) ~ 2e-3: any other noise would show.
  for (const auto& [dim, n] : {std::pair{1, 64}, std::pair{2, 24}}) {
    INFO("dim " << dim << ", n " << n);
    fields::PredatorPreyParams p = params(dim, n);
    p.Du = 1e-12;
    p.Dv = 1e-12;
    DmdaOptions semi;
    semi.scheme = FieldScheme::semi_implicit;
    std::vector<double> u, v, eu, ev;
    run(MPI_COMM_WORLD, p, semi, 3, 11, u, v);
    run(MPI_COMM_WORLD, p, {}, 3, 11, eu, ev);
    if (world_rank() != 0) continue;
    CHECK(max_abs_diff(u, eu) <= 1e-10);
    CHECK(max_abs_diff(v, ev) <= 1e-10);
  }
}

// ---------------------------------------------------------------------------------------
// macrodyn simulate for predator_prey (mpi/fields/field_truth): the job's file against the
// serial reference.

namespace {

// Two conditions (m, k) = (0.45, 0.1), (0.55, 0.1), two runs each, 24 steps (25 frames).
Config truth_config(int dim, int n, const std::string& name) {
  Config c;
  c.system = dim == 1 ? "predator_prey" : "predator_prey2d";
  c.large_side = n;
  c.patch = n;
  c.truth_init = InitialKind::given_m0;
  InitialCondition a = unset_condition(), b = unset_condition();
  a[0] = 0.45;
  b[0] = 0.55;
  a[1] = b[1] = 0.1;
  c.truth_m0 = {a, b};
  c.truth_runs = 2;
  c.truth_sweeps = 24;
  c.seed = 77;
  c.progress = false;
  c.ini_text = "[system]\nname = " + c.system + "\n";
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  c.output = std::string(MACRODYN_TEST_TMPDIR) + "/" + name + "-np" + std::to_string(size) + ".h5";
  c.overwrite = true;
  return c;
}

std::unique_ptr<System> system_of(const Config& c) { return make_system(c.system, c.system_params); }

// The serial reference: `frames` float32 frames [frames, 2, cells] from the double initial
// state, frame t after t steps of SerialStepper with the noise of `noise` (step t).
void serial_trajectory(const fields::PredatorPreyParams& p, double m, double k, const fields::NoiseKey& noise,
                       std::int64_t frames, float* out) {
  std::vector<double> u, v;
  fields::initial_state(p, m, k, u, v);
  fields::SerialStepper stepper(p);
  fields::NoiseKey key = noise;
  const std::int64_t cells = p.cells();
  for (std::int64_t t = 0; t < frames; ++t) {
    for (std::int64_t i = 0; i < cells; ++i) {
      out[(2 * t) * cells + i] = static_cast<float>(u[static_cast<std::size_t>(i)]);
      out[(2 * t + 1) * cells + i] = static_cast<float>(v[static_cast<std::size_t>(i)]);
    }
    key.step = static_cast<std::uint32_t>(t);
    stepper.step(u, v, key);
  }
}

// Fixed-point means of frame t of a serial trajectory (float32 frames [frames, 2, cells]).
void serial_means(const std::vector<float>& frames, std::int64_t t, std::int64_t cells, double out[2]) {
  for (int f = 0; f < 2; ++f) {
    FixedPointSum s;
    const float* x = frames.data() + (2 * t + f) * cells;
    for (std::int64_t i = 0; i < cells; ++i) REQUIRE(s.add(x[i]));
    out[f] = FixedPointSum::mean(s.raw(), cells);
  }
}

std::vector<double> read_observables(const std::string& path, std::uint64_t& rows) {
  io::DatasetReader r(path);
  rows = r.rows_committed("/trajectories");
  const auto shape = r.shape("/trajectories/observables");
  std::vector<double> obs(static_cast<std::size_t>(rows * shape[1] * shape[2]));
  r.read_rows("/trajectories/observables", 0, rows, io::DType::f64, obs.data());
  return obs;
}

}  // namespace

TEST_CASE("simulate predator_prey: explicit means equal the serial trajectories' bit for bit", "[fields]") {
  need_petsc();
  for (const auto& [dim, n] : {std::pair{1, 48}, std::pair{2, 14}}) {
    INFO("dim " << dim << ", n " << n);
    const Config c = truth_config(dim, n, "explicit-" + std::to_string(dim));
    const auto sys = system_of(c);
    const mpi::FieldTruthReport rep = mpi::simulate_field_truth(c, *sys, MPI_COMM_WORLD);
    CHECK(rep.runs == 4);
    CHECK(rep.frames == 25);
    CHECK(rep.cell_updates_per_s > 0);
    if (world_rank() != 0) continue;
    std::uint64_t rows = 0;
    const std::vector<double> obs = read_observables(c.output, rows);
    REQUIRE(rows == 4);
    io::DatasetReader r(c.output);
    std::vector<double> mk(8), dur(4 * 25);
    r.read_rows("/trajectories/initial", 0, 4, io::DType::f64, mk.data());
    r.read_rows("/trajectories/durations", 0, 4, io::DType::f64, dur.data());
    CHECK(r.attr_strings("/trajectories", "initial_columns") == std::vector<std::string>{"m", "k"});
    CHECK(mk == std::vector<double>{0.45, 0.1, 0.45, 0.1, 0.55, 0.1, 0.55, 0.1});
    for (int i = 0; i < 4; ++i)
      for (int t = 0; t < 25; ++t) CHECK(dur[static_cast<std::size_t>(i * 25 + t)] == (t == 0 ? 0.0 : 0.01));
    const fields::PredatorPreyParams p = predator_prey_params(dim, sys->params(), n);
    std::vector<float> frames(static_cast<std::size_t>(25 * 2 * p.cells()));
    int differing = 0;
    for (int i = 0; i < 4; ++i) {
      serial_trajectory(p, mk[2 * i], mk[2 * i + 1],
                        fields::NoiseKey{c.seed, Purpose::truth_dynamics, static_cast<std::uint64_t>(i), 0}, 25,
                        frames.data());
      for (int t = 0; t < 25; ++t) {
        double m[2];
        serial_means(frames, t, p.cells(), m);
        // Stored as float32 (the common /trajectories/observables).
        const double* got = obs.data() + (i * 25 + t) * 2;
        differing += static_cast<float>(m[0]) != got[0] || static_cast<float>(m[1]) != got[1];
      }
    }
    CHECK(differing == 0);
    // The two runs of one condition differ (their own noise), and the means moved.
    CHECK(obs[2 * 24] != obs[(25 + 24) * 2]);
    CHECK(obs[2 * 24] != obs[0]);
  }
}

TEST_CASE("simulate predator_prey: semi-implicit means agree with one rank's direct solve", "[fields]") {
  need_petsc();
  for (const auto& [dim, n] : {std::pair{1, 64}, std::pair{2, 24}}) {
    INFO("dim " << dim << ", n " << n);
    Config c = truth_config(dim, n, "semi-" + std::to_string(dim));
    c.system_params.set_word("laplacian", "physical");
    c.system_params.set_word("scheme", "semi_implicit");
    c.system_params.set("Dv", 0.01);
    {
      const auto probe = system_of(c);
      c.system_params.set("dt", 10 * predator_prey_params(dim, probe->params(), n).explicit_dt_limit());
    }
    const auto sys = system_of(c);
    mpi::simulate_field_truth(c, *sys, MPI_COMM_WORLD);
    MPI_Barrier(MPI_COMM_WORLD);
    if (world_rank() != 0) continue;
    Config one = c;
    one.output += ".self.h5";
    const mpi::FieldTruthReport rep = mpi::simulate_field_truth(one, *sys, MPI_COMM_SELF);
    CHECK(rep.ranks == 1);
    CHECK_FALSE(rep.solver.empty());
    std::uint64_t ra = 0, rb = 0;
    const std::vector<double> a = read_observables(c.output, ra), b = read_observables(one.output, rb);
    REQUIRE(ra == 4);
    REQUIRE(rb == 4);
    // Float32 storage: agreement to its rounding (2^-24 relative) on top of the solver's 1e-10.
    double worst = 0;
    for (std::size_t k = 0; k < a.size(); ++k) worst = std::max(worst, std::fabs(a[k] - b[k]) / std::fabs(b[k]));
    CHECK(worst <= 2e-7);
  }
}

TEST_CASE("simulate predator_prey: an explicit dt above the stability limit is refused before any work", "[fields]") {
  need_petsc();
  Config c = truth_config(1, 32, "unstable");
  c.system_params.set_word("laplacian", "physical");  // limit dx^2 / 2 = 4.9e-4 < dt = 0.01
  const auto sys = system_of(c);
  CHECK_THROWS_WITH(mpi::simulate_field_truth(c, *sys, MPI_COMM_WORLD),
                    Catch::Contains("system.dt") && Catch::Contains("system.scheme = semi_implicit"));
}

TEST_CASE("simulate predator_prey: a stop signal ends the job with the committed runs", "[fields]") {
  need_petsc();
  const Config c = truth_config(1, 32, "stop");
  const auto sys = system_of(c);
  stop_signal().store(SIGTERM);
  bool stopped = false;
  try {
    mpi::simulate_field_truth(c, *sys, MPI_COMM_WORLD);
  } catch (const StopRequested& e) {
    stopped = e.signal() == SIGTERM;
  }
  stop_signal().store(0);
  CHECK(stopped);
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == 0) {
    std::uint64_t rows = 1;
    read_observables(c.output, rows);
    CHECK(rows == 0);
  }
}
