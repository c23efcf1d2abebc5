#include "jobs/field_data.hpp"

#include <cmath>
#include <mutex>

#include "core/error.hpp"
#include "core/parallel.hpp"
#include "sampling/partial_evolution.hpp"
#include "sampling/upsample.hpp"

using namespace macrodyn::jobs;
using namespace macrodyn::sampling;

namespace macrodyn::fields {

PredatorPreyParams params_of(const Config& c, int n) {
  PredatorPreyParams p;
  p.dim = c.field_dim;
  p.n = n;
  p.a = c.field_a;
  p.b = c.field_b;
  p.Du = c.field_Du;
  p.Dv = c.field_Dv;
  p.dt = c.field_dt;
  p.eta = c.field_eta;
  p.laplacian = c.field_laplacian;
  p.noise = c.field_noise;
  return p;
}

namespace {

void store(const std::vector<double>& u, const std::vector<double>& v, float* out) {
  const std::size_t n = u.size();
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(u[i]);
  for (std::size_t i = 0; i < n; ++i) out[n + i] = static_cast<float>(v[i]);
}

}  // namespace

void trajectory(const PredatorPreyParams& p, double m, double k, const NoiseKey& noise, std::int64_t frames,
                float* out) {
  std::vector<double> u, v;
  initial_state(p, m, k, u, v);
  SerialStepper stepper(p);
  const std::int64_t per = frame_values(p);
  NoiseKey key = noise;
  for (std::int64_t t = 0; t < frames; ++t) {
    store(u, v, out + t * per);
    if (t + 1 == frames) break;
    key.step = static_cast<std::uint32_t>(t);
    stepper.step(u, v, key);
  }
}

void small_runs(const Config& c, std::vector<float>& frames, std::vector<double>& mk) {
  const PredatorPreyParams p = params_of(c, c.resolved_small_side());
  const std::int64_t runs = c.small_runs, per_run = c.small_sweeps * frame_values(p);
  frames.assign(static_cast<std::size_t>(runs * per_run), 0.0f);
  mk.assign(static_cast<std::size_t>(2 * runs), 0.0);
  parallel_for(0, runs, c.resolved_threads(), [&](std::int64_t r, int) {
    Rng draw({c.seed, Purpose::field_initial, 0, static_cast<std::uint64_t>(r), 0});
    const double m = c.field_m_min + (c.field_m_max - c.field_m_min) * draw.uniform();
    const double k = c.field_k_min + (c.field_k_max - c.field_k_min) * draw.uniform();
    mk[static_cast<std::size_t>(2 * r)] = m;
    mk[static_cast<std::size_t>(2 * r + 1)] = k;
    trajectory(p, m, k, NoiseKey{c.seed, Purpose::small_dynamics, static_cast<std::uint64_t>(r), 0}, c.small_sweeps,
               frames.data() + r * per_run);
  });
}

void upsample_frame(const Config& c, const float* small_frame, float* out) {
  const PredatorPreyParams small = params_of(c, c.resolved_small_side());
  const std::int64_t cs = small.cells();
  if (c.large_side == small.n) {
    std::copy(small_frame, small_frame + 2 * cs, out);
    return;
  }
  // The frame is [2, cells]: each field is a one-channel state of its own.
  const std::int64_t cl = params_of(c, c.large_side).cells();
  for (int f = 0; f < 2; ++f) upsample_linear2(small_frame + f * cs, small.dim, small.n, 1, out + f * cl);
}

void field_means(const float* frame, std::int64_t cells, double* means) {
  for (int f = 0; f < 2; ++f) {
    double s = 0;
    for (std::int64_t i = 0; i < cells; ++i) s += frame[f * cells + i];
    means[f] = s / static_cast<double>(cells);
  }
}

void partial_pair(const Config& c, const float* snapshot, std::int64_t j, FieldPair& out) {
  const PredatorPreyParams p = params_of(c, c.large_side);
  const std::int64_t cells = p.cells();
  const int side = c.patch;
  const std::int64_t per_axis = c.large_side / side;
  const std::int64_t K = p.dim == 1 ? per_axis : per_axis * per_axis;
  const std::int64_t pc = p.dim == 1 ? side : static_cast<std::int64_t>(side) * side;
  out.patch = chosen_patch(c.seed, j, K);
  out.u_after.resize(static_cast<std::size_t>(pc));
  out.v_after.resize(static_cast<std::size_t>(pc));
  partial_step(p, snapshot, snapshot + cells, side, out.patch,
               NoiseKey{c.seed, Purpose::partial_evolution, static_cast<std::uint64_t>(j), 0}, out.u_after.data(),
               out.v_after.data());
  const auto& ua = out.u_after;
  const auto& va = out.v_after;
  out.before.resize(static_cast<std::size_t>(2 * pc));
  out.after.resize(static_cast<std::size_t>(2 * pc));
  // The patch's cells in row-major order inside the patch (x fastest), as partial_step returns them.
  const std::int64_t px = out.patch % per_axis, py = p.dim == 1 ? 0 : out.patch / per_axis;
  for (std::int64_t q = 0; q < pc; ++q) {
    const std::int64_t x = px * side + q % side, y = py * side + q / side;
    const std::int64_t cell = p.dim == 1 ? x : y * c.large_side + x;
    out.before[static_cast<std::size_t>(q)] = snapshot[cell];
    out.before[static_cast<std::size_t>(pc + q)] = snapshot[cells + cell];
    out.after[static_cast<std::size_t>(q)] = static_cast<float>(ua[static_cast<std::size_t>(q)]);
    out.after[static_cast<std::size_t>(pc + q)] = static_cast<float>(va[static_cast<std::size_t>(q)]);
  }
  field_means(out.before.data(), pc, out.g_before);
  field_means(out.after.data(), pc, out.g_after);
}

std::vector<TestCondition> test_conditions(const Config& c) {
  std::vector<TestCondition> out;
  for (double m : c.field_test_m)
    for (double k : c.field_test_k) out.push_back({m, k});
  return out;
}

void test_runs(const Config& c, const std::function<void(int, std::int64_t, const float*)>& each) {
  const PredatorPreyParams p = params_of(c, c.large_side);
  const auto conds = test_conditions(c);
  const std::int64_t runs = c.truth_runs, total = static_cast<std::int64_t>(conds.size()) * runs;
  const int threads = c.resolved_threads();
  const std::int64_t per_run = c.truth_sweeps * frame_values(p);
  std::vector<std::vector<float>> scratch(static_cast<std::size_t>(std::max(1, threads)));
  std::mutex hand_over;
  parallel_for(0, total, threads, [&](std::int64_t i, int w) {
    auto& buf = scratch[static_cast<std::size_t>(w)];
    buf.resize(static_cast<std::size_t>(per_run));
    const TestCondition& tc = conds[static_cast<std::size_t>(i / runs)];
    trajectory(p, tc.m, tc.k, NoiseKey{c.seed, Purpose::truth_dynamics, static_cast<std::uint64_t>(i), 0},
               c.truth_sweeps, buf.data());
    std::lock_guard<std::mutex> lock(hand_over);
    each(static_cast<int>(i / runs), i % runs, buf.data());
  });
}

}  // namespace macrodyn::fields
