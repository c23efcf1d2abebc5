// macrodyn simulate: full-size runs (ground truth) into /trajectories, one run per
// work item, committed in blocks of runs.
#include <memory>
#include <vector>

#include "core/parallel.hpp"
#include "core/progress.hpp"
#include "core/stop.hpp"
#include "io/dataset.hpp"
#include "jobs/jobs.hpp"
#include "sampling/trajectory.hpp"
#include "systems/system.hpp"

namespace macrodyn {

JobSummary simulate(const Config& c) {
  using io::DType;
  Progress clock("simulate", 1, "jobs", false);
  const auto sys = make_system(c.system, SystemParams{c.T, c.h});
  const int dim = sys->dim(), d = sys->num_observables(), threads = c.resolved_threads();
  const int L = c.large_side;
  const std::int64_t n = ipow(L, dim), frames = c.truth_sweeps + 1;
  const bool given = c.truth_init == InitialKind::given_m0;
  const std::int64_t runs = given ? c.truth_runs * static_cast<std::int64_t>(c.truth_m0.size()) : c.truth_runs;
  const bool keep_states = c.has_closure();

  io::DatasetWriter out(c.output, io::RootInfo{c.seed, c.system, c.ini_text, kMacrodynVersion});
  const Tiling tiling{dim, L, c.patch};
  out.create_group("/trajectories", io::GroupInfo{tiling.patches(), c.patch, L, "periodic", sys->observable_names()});
  std::vector<std::uint64_t> frame_shape{static_cast<std::uint64_t>(frames)};
  for (int k = 0; k < dim; ++k) frame_shape.push_back(static_cast<std::uint64_t>(L));
  if (keep_states) out.create_table("/trajectories/states", DType::i8, frame_shape, 1, true);
  out.create_table("/trajectories/observables", DType::f32,
                   {static_cast<std::uint64_t>(frames), static_cast<std::uint64_t>(d)}, 16, true);
  out.create_table("/trajectories/durations", DType::f64, {static_cast<std::uint64_t>(frames)}, 16, true);
  out.create_table("/trajectories/m0", DType::f64, {}, 1024, false);

  std::vector<std::unique_ptr<Evolver>> evolvers;
  for (int w = 0; w < threads; ++w) evolvers.push_back(sys->make_evolver());
  const std::int64_t block = threads;
  std::vector<std::int8_t> states(keep_states ? static_cast<std::size_t>(block * frames * n) : 0);
  std::vector<double> durations(static_cast<std::size_t>(block * frames)), obs(static_cast<std::size_t>(block * frames * d)),
      m0(static_cast<std::size_t>(block));
  std::vector<std::vector<std::int8_t>> scratch(static_cast<std::size_t>(threads), std::vector<std::int8_t>(static_cast<std::size_t>(n)));

  Progress progress("simulate: truth runs (side " + std::to_string(L) + ")", runs, "runs", c.progress);
  for (std::int64_t b0 = 0; b0 < runs; b0 += block) {
    const std::int64_t b1 = std::min(runs, b0 + block);
    parallel_for(b0, b1, threads, [&](std::int64_t r, int w) {
      const std::int64_t k = r - b0;
      TrajectorySpec spec{L, static_cast<std::uint64_t>(c.truth_sweeps), c.truth_dynamics, c.truth_init,
                          given ? c.truth_m0[static_cast<std::size_t>(r / c.truth_runs)] : 0.0};
      TrajectoryOut o{keep_states ? states.data() + k * frames * n : nullptr, durations.data() + k * frames,
                      obs.data() + k * frames * d, 0.0};
      run_trajectory(*sys, *evolvers[w], spec, c.seed, Purpose::truth_dynamics, static_cast<std::uint64_t>(r),
                     scratch[w].data(), o);
      m0[static_cast<std::size_t>(k)] = o.m0;
    });
    const auto rows = static_cast<std::uint64_t>(b1 - b0);
    if (keep_states) out.append("/trajectories/states", states.data(), rows);
    std::vector<float> obs32(obs.begin(), obs.begin() + (b1 - b0) * frames * d);
    out.append("/trajectories/observables", obs32.data(), rows);
    out.append("/trajectories/durations", durations.data(), rows);
    out.append("/trajectories/m0", m0.data(), rows);
    out.commit("/trajectories", static_cast<std::uint64_t>(b1));
    progress.update(b1);
    check_stop(std::to_string(b1) + " runs in " + c.output);
  }
  JobSummary s;
  s.path = c.output;
  s.trajectories = runs;
  s.seconds = clock.elapsed();
  return s;
}

}  // namespace macrodyn
