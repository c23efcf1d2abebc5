#include "jobs/run_writer.hpp"

#include "core/parallel.hpp"
#include "core/progress.hpp"
#include "core/stop.hpp"
#include "jobs/state_tables.hpp"

using namespace macrodyn::sampling;
using namespace macrodyn::systems;

namespace macrodyn::jobs {

void create_run_tables(const System& system, const RunsSpec& s, io::DatasetWriter& out) {
  using io::DType;
  const int d = system.num_observables();
  const auto f = static_cast<std::uint64_t>(s.frames_per_run());
  out.create_group(s.group, s.info);
  if (s.store_states) {
    std::vector<std::uint64_t> shape = state_shape(system, s.side);
    shape.insert(shape.begin(), f);
    out.create_table(s.group + "/states", state_dtype(system), shape, 1, true);
  }
  out.create_table(s.group + "/durations", DType::f64, {f}, 64, true);
  out.create_table(s.group + "/observables", DType::f32, {f, static_cast<std::uint64_t>(d)}, 64, true);
  // The initial condition of every run: one column per value the system names.
  const auto q = system.initial_condition_names();
  out.create_table(s.group + "/initial", DType::f64, {static_cast<std::uint64_t>(q.size())}, 1024, false);
  out.set_attr(s.group, "initial_columns", q);
}

void append_runs(const System& system, const RunsSpec& s, const RunBlock& b, io::DatasetWriter& out) {
  const auto d = static_cast<std::size_t>(system.num_observables());
  const auto frames = static_cast<std::size_t>(s.frames_per_run());
  if (s.store_states) out.append(s.group + "/states", b.states, b.rows);
  out.append(s.group + "/durations", b.durations, b.rows);
  std::vector<float> obs32(b.rows * frames * d);
  for (std::size_t i = 0; i < obs32.size(); ++i) obs32[i] = static_cast<float>(b.observables[i]);
  out.append(s.group + "/observables", obs32.data(), b.rows);
  out.append(s.group + "/initial", b.initial, b.rows);
  out.commit(s.group, b.first + b.rows);
}

void simulate_run(const System& system, Evolver& evolver, const RunsSpec& s, std::int64_t r, std::int8_t* scratch,
                  std::int8_t* states, double* durations, double* observables, double* initial) {
  TrajectoryOut o{states, durations, observables, {}};
  run_trajectory(system, evolver, s.spec_of(r), s.seed, s.purpose, static_cast<std::uint64_t>(r), scratch, o);
  std::copy(o.condition.begin(), o.condition.begin() + system.initial_condition_names().size(), initial);
}

std::vector<std::int8_t> small_pool(const Config& c, const System& system,
                                    std::vector<std::unique_ptr<Evolver>>& evolvers) {
  const int dim = system.dim(), Ls = c.resolved_small_side(), d = system.num_observables();
  const std::int64_t n = ipow(Ls, dim) * system.state_layout().voxel_bytes(), frames = c.small_frames();  // bytes
  const TrajectorySpec spec = small_trajectory(c);
  const auto threads = static_cast<int>(evolvers.size());
  std::vector<std::int8_t> pool(static_cast<std::size_t>(c.small_runs * frames * n));
  std::vector<std::vector<std::int8_t>> scratch(evolvers.size(), std::vector<std::int8_t>(static_cast<std::size_t>(n)));
  std::vector<double> durations(static_cast<std::size_t>(threads * frames)), obs(static_cast<std::size_t>(threads * frames * d));
  parallel_for(0, c.small_runs, threads, [&](std::int64_t r, int w) {
    TrajectoryOut o{pool.data() + r * frames * n, durations.data() + w * frames, obs.data() + w * frames * d, {}};
    run_trajectory(system, *evolvers[static_cast<std::size_t>(w)], spec, c.seed, Purpose::small_dynamics,
                   static_cast<std::uint64_t>(r), scratch[static_cast<std::size_t>(w)].data(), o);
  });
  return pool;
}

std::vector<std::int8_t> run_and_write(const System& system,
                                       std::vector<std::unique_ptr<Evolver>>& evolvers,
                                       const RunsSpec& s, io::DatasetWriter& out) {
  const int dim = system.dim(), d = system.num_observables();
  // n: bytes per state (systems/state_layout.hpp).
  const std::int64_t n = ipow(s.side, dim) * system.state_layout().voxel_bytes(), frames = s.frames_per_run();
  create_run_tables(system, s, out);

  // A block of runs at a time: 4 per thread, so that a commit follows every few runs.
  const std::int64_t block = std::max<std::int64_t>(1, 4 * s.threads);
  const bool any_states = s.store_states || s.keep_all_states;
  std::vector<std::int8_t> kept(s.keep_all_states ? static_cast<std::size_t>(s.runs * frames * n) : 0);
  std::vector<std::int8_t> states(any_states && !s.keep_all_states ? static_cast<std::size_t>(block * frames * n) : 0);
  std::vector<double> durations(static_cast<std::size_t>(block * frames)), obs(static_cast<std::size_t>(block * frames * d)),
      initial(static_cast<std::size_t>(block) * system.initial_condition_names().size());
  const auto q = static_cast<std::int64_t>(system.initial_condition_names().size());
  std::vector<std::vector<std::int8_t>> scratch(evolvers.size(), std::vector<std::int8_t>(static_cast<std::size_t>(n)));

  Progress progress(s.what, s.runs, "runs", s.progress);
  for (std::int64_t b0 = 0; b0 < s.runs; b0 += block) {
    const std::int64_t b1 = std::min(s.runs, b0 + block);
    std::int8_t* block_states = s.keep_all_states ? kept.data() + b0 * frames * n : states.data();
    parallel_for(b0, b1, s.threads, [&](std::int64_t r, int w) {
      const std::int64_t k = r - b0;
      simulate_run(system, *evolvers[static_cast<std::size_t>(w)], s, r, scratch[static_cast<std::size_t>(w)].data(),
                   any_states ? block_states + k * frames * n : nullptr, durations.data() + k * frames,
                   obs.data() + k * frames * d, initial.data() + k * q);
    });
    append_runs(system, s,
                RunBlock{static_cast<std::uint64_t>(b0), static_cast<std::uint64_t>(b1 - b0), block_states,
                         durations.data(), obs.data(), initial.data()},
                out);
    progress.update(b1);
    check_stop(std::to_string(b1) + " runs of " + s.group);
  }
  return kept;
}

}  // namespace macrodyn::jobs
