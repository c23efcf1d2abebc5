#pragma once
// Simulation data of the predator-prey SPDE (docs/design.md §8.6) for the field jobs:
// trajectories, upsampled snapshots and partial-evolution pairs, all in float32 as
// stored (fields computed in double by lib/systems/predator_prey). Every random number
// is keyed by work item: (m, k) of training run r by {seed, field_initial, r}, the noise
// of run r by {seed, small_dynamics, r, step}, of test run i by {seed, truth_dynamics,
// i, step}, of the partial step of snapshot j by {seed, partial_evolution, j, 0}; so the
// data do not depend on run.threads.
#include <cstdint>
#include <functional>
#include <vector>

#include "jobs/config.hpp"
#include "systems/predator_prey.hpp"

namespace macrodyn::fields {

// The system of `c` on a grid of n cells per axis.
PredatorPreyParams params_of(const jobs::Config& c, int n);

// Values per frame: 2 fields x n^dim cells (u first).
inline std::int64_t frame_values(const PredatorPreyParams& p) { return 2 * p.cells(); }

// One trajectory from u = m + k cos(10 pi x), v = 1 - m - k cos(10 pi x): `frames`
// frames [frames, 2, cells], frame t = the state before step t (frame 0 = initial).
void trajectory(const PredatorPreyParams& p, double m, double k, const NoiseKey& noise, std::int64_t frames,
                float* out);

// The training runs (small.runs x small.sweeps frames on small.side cells): [runs,
// frames, 2, cells], with each run's (m, k) in mk [runs, 2].
void small_runs(const jobs::Config& c, std::vector<float>& frames, std::vector<double>& mk);

// Snapshot: a small frame upsampled to large.side (by 2 per axis, or copied when
// large.side = small.side). out [2, cells of the large grid].
void upsample_frame(const jobs::Config& c, const float* small_frame, float* out);

// The partial-evolution pair of snapshot j: patch I = chosen_patch(seed, j, K) stepped
// once with a frozen halo from the snapshot.
struct FieldPair {
  std::int64_t patch = 0;
  double g_before[2] = {0, 0}, g_after[2] = {0, 0};  // patch means of u and v (of the float32 values)
  std::vector<float> before, after;                  // [2, p^dim]
  std::vector<double> u_after, v_after;              // scratch, reused from pair to pair
};
void partial_pair(const jobs::Config& c, const float* snapshot, std::int64_t j, FieldPair& out);

// Grid means of u and v of a frame [2, cells] (double sums in cell order).
void field_means(const float* frame, std::int64_t cells, double* means);

// The test conditions (field.test_m x field.test_k, m slowest) and their runs
// (truth.runs each, truth.sweeps frames on large.side cells): `each(condition, run,
// frames)` gets every run's frames [frames, 2, cells] as soon as it is computed; runs
// are computed on run.threads threads and handed over one at a time, in no fixed order.
struct TestCondition {
  double m, k;
};
std::vector<TestCondition> test_conditions(const jobs::Config& c);
void test_runs(const jobs::Config& c, const std::function<void(int condition, std::int64_t run, const float* frames)>& each);

}  // namespace macrodyn::fields
