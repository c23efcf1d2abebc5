#include "jobs/run_writer.hpp"

#include "core/parallel.hpp"
#include "core/progress.hpp"
#include "core/stop.hpp"

namespace macrodyn {

std::vector<std::int8_t> run_and_write(const System& system,
                                       std::vector<std::unique_ptr<Evolver>>& evolvers,
                                       const RunsSpec& s, io::DatasetWriter& out) {
  using io::DType;
  const int dim = system.dim(), d = system.num_observables();
  const std::int64_t n = ipow(s.side, dim), frames = s.sweeps + 1;
  const auto f = static_cast<std::uint64_t>(frames);

  out.create_group(s.group, s.info);
  if (s.store_states) {
    std::vector<std::uint64_t> shape{f};
    for (int k = 0; k < dim; ++k) shape.push_back(static_cast<std::uint64_t>(s.side));
    out.create_table(s.group + "/states", DType::i8, shape, 1, true);
  }
  out.create_table(s.group + "/durations", DType::f64, {f}, 64, true);
  out.create_table(s.group + "/observables", DType::f32, {f, static_cast<std::uint64_t>(d)}, 64, true);
  out.create_table(s.group + "/m0", DType::f64, {}, 1024, false);

  // A block of runs at a time: 4 per thread, so that a commit follows every few runs.
  const std::int64_t block = std::max<std::int64_t>(1, 4 * s.threads);
  const bool any_states = s.store_states || s.keep_all_states;
  std::vector<std::int8_t> kept(s.keep_all_states ? static_cast<std::size_t>(s.runs * frames * n) : 0);
  std::vector<std::int8_t> states(any_states && !s.keep_all_states ? static_cast<std::size_t>(block * frames * n) : 0);
  std::vector<double> durations(static_cast<std::size_t>(block * frames)), obs(static_cast<std::size_t>(block * frames * d)),
      m0(static_cast<std::size_t>(block));
  std::vector<float> obs32(obs.size());
  std::vector<std::vector<std::int8_t>> scratch(evolvers.size(), std::vector<std::int8_t>(static_cast<std::size_t>(n)));

  Progress progress(s.what, s.runs, "runs", s.progress);
  for (std::int64_t b0 = 0; b0 < s.runs; b0 += block) {
    const std::int64_t b1 = std::min(s.runs, b0 + block);
    std::int8_t* block_states = s.keep_all_states ? kept.data() + b0 * frames * n : states.data();
    parallel_for(b0, b1, s.threads, [&](std::int64_t r, int w) {
      const std::int64_t k = r - b0;
      TrajectoryOut o{any_states ? block_states + k * frames * n : nullptr, durations.data() + k * frames,
                      obs.data() + k * frames * d, 0.0};
      run_trajectory(system, *evolvers[static_cast<std::size_t>(w)], s.spec_of(r), s.seed, s.purpose,
                     static_cast<std::uint64_t>(r), scratch[static_cast<std::size_t>(w)].data(), o);
      m0[static_cast<std::size_t>(k)] = o.m0;
    });
    const auto rows = static_cast<std::uint64_t>(b1 - b0);
    if (s.store_states) out.append(s.group + "/states", block_states, rows);
    out.append(s.group + "/durations", durations.data(), rows);
    for (std::size_t i = 0; i < rows * frames * d; ++i) obs32[i] = static_cast<float>(obs[i]);
    out.append(s.group + "/observables", obs32.data(), rows);
    out.append(s.group + "/m0", m0.data(), rows);
    out.commit(s.group, static_cast<std::uint64_t>(b1));
    progress.update(b1);
    check_stop(std::to_string(b1) + " runs of " + s.group);
  }
  return kept;
}

}  // namespace macrodyn
