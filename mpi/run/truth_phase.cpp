#include "mpi/run/truth_phase.hpp"

#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

#include "core/parallel.hpp"
#include "core/progress.hpp"
#include "io/dataset.hpp"
#include "jobs/jobs.hpp"
#include "jobs/run_writer.hpp"
#include "jobs/truth.hpp"
#include "mpi/check.hpp"

using namespace macrodyn::jobs;
using namespace macrodyn::systems;

namespace macrodyn::mpi {

namespace {

constexpr double kMaxTruthBytes = 1024.0 * 1024.0 * 1024.0;

// One gathered run: [run id (int64), initial condition[q], durations[frames],
// observables[frames * d]] as doubles, then the states (frames x state_bytes, when kept),
// padded to 8 bytes.
struct RunRow {
  std::size_t frames, d, state_bytes, q;
  std::size_t doubles() const { return 1 + q + frames + frames * d; }
  std::size_t bytes() const { return (doubles() * 8 + frames * state_bytes + 7) / 8 * 8; }
};

// The truth of macrodyn simulate, keeping the states whenever the model needs them.
RunsSpec run_truth_spec(const Config& c, const System& sys) {
  RunsSpec spec = truth_runs_spec(c, sys);
  spec.store_states = truth_states_needed(c.has_closure() && c.learn_closure_dim > 0,
                                          Tiling{sys.dim(), c.large_side, c.patch}.patches(), sys);
  return spec;
}

}  // namespace

std::string truth_not_possible(const Config& c, const System& sys) {
  if (c.truth_runs < 1) return "truth.runs = 0: no truth runs were asked for";
  const std::int64_t sites = ipow(c.large_side, sys.dim());
  if (sites > c.team_max_sites)
    return "a truth run of side " + std::to_string(c.large_side) + " holds " + std::to_string(sites) +
           " sites, more than team.max_sites = " + std::to_string(c.team_max_sites) + " on one rank";
  const RunsSpec spec = run_truth_spec(c, sys);
  const RunRow row{static_cast<std::size_t>(spec.sweeps + 1), static_cast<std::size_t>(sys.num_observables()),
                   spec.store_states ? static_cast<std::size_t>(sites * sys.state_layout().voxel_bytes()) : 0,
                   sys.initial_condition_names().size()};
  const double bytes = static_cast<double>(spec.runs) * static_cast<double>(row.bytes());
  if (bytes > kMaxTruthBytes)
    return "the " + std::to_string(spec.runs) + " truth runs would gather " + std::to_string(bytes / kMaxTruthBytes) +
           " GiB on rank 0 (at most 1 GiB); lower truth.runs or truth.sweeps, or simulate the truth with macrodyn "
           "simulate and judge with macrodyn evaluate";
  return "";
}

double simulate_truth(const Config& c, const System& sys, const Roles& roles, const std::string& path) {
  const auto start = std::chrono::steady_clock::now();
  RunsSpec spec = run_truth_spec(c, sys);
  const std::int64_t sites = ipow(c.large_side, sys.dim());
  const RunRow row{static_cast<std::size_t>(spec.sweeps + 1), static_cast<std::size_t>(sys.num_observables()),
                   spec.store_states ? static_cast<std::size_t>(sites * sys.state_layout().voxel_bytes()) : 0,
                   sys.initial_condition_names().size()};
  // Who simulates: every simulator rank (the single process when co-located).
  const bool computes = roles.simulator;
  const int S = roles.colocated ? roles.world_size : roles.world_size - roles.learners;
  const int s = roles.colocated ? roles.world_rank : roles.world_rank - roles.learners;
  const int threads = roles.world_size == 1 ? c.resolved_threads() : 1;

  std::vector<std::int64_t> mine;
  if (computes)
    for (std::int64_t r = s; r < spec.runs; r += S) mine.push_back(r);
  std::vector<unsigned char> rows(mine.size() * row.bytes(), 0);
  if (!mine.empty()) {
    std::vector<std::unique_ptr<Evolver>> evolvers;
    std::vector<std::vector<std::int8_t>> scratch;
    for (int w = 0; w < threads; ++w) {
      evolvers.push_back(sys.make_evolver());
      scratch.emplace_back(static_cast<std::size_t>(sites * sys.state_layout().voxel_bytes()));
    }
    Progress progress("run: truth runs (side " + std::to_string(c.large_side) + ")",
                      static_cast<std::int64_t>(mine.size()), "runs", c.progress && s == 0);
    std::atomic<std::int64_t> done{0};
    parallel_for(0, static_cast<std::int64_t>(mine.size()), threads, [&](std::int64_t i, int w) {
      unsigned char* at = rows.data() + static_cast<std::size_t>(i) * row.bytes();
      auto* v = reinterpret_cast<double*>(at);
      const std::int64_t r = mine[static_cast<std::size_t>(i)];
      std::memcpy(at, &r, 8);
      auto* states = row.state_bytes ? reinterpret_cast<std::int8_t*>(at + row.doubles() * 8) : nullptr;
      simulate_run(sys, *evolvers[static_cast<std::size_t>(w)], spec, r, scratch[static_cast<std::size_t>(w)].data(),
                   states, v + 1 + row.q, v + 1 + row.q + row.frames, v + 1);
      // The last line comes once, after the loop.
      const std::int64_t now = ++done;
      if (w == 0) progress.update(std::min(now, static_cast<std::int64_t>(mine.size()) - 1));
    });
    progress.update(static_cast<std::int64_t>(mine.size()));
  }

  // Gather on world rank 0, which writes the file in run order.
  int my_bytes = mpi_count(static_cast<std::int64_t>(rows.size()), "truth rows");
  std::vector<int> counts(static_cast<std::size_t>(roles.world_size)), displs(counts.size());
  check_mpi(MPI_Gather(&my_bytes, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Gather");
  std::vector<unsigned char> all;
  if (roles.world_rank == 0) {
    std::int64_t total = 0;
    for (std::size_t k = 0; k < counts.size(); ++k) {
      displs[k] = mpi_count(total, "truth rows");
      total += counts[k];
    }
    all.resize(static_cast<std::size_t>(total));
  }
  check_mpi(MPI_Gatherv(rows.data(), my_bytes, MPI_BYTE, all.data(), counts.data(), displs.data(), MPI_BYTE, 0,
                        MPI_COMM_WORLD),
            "MPI_Gatherv");
  if (roles.world_rank != 0) return 0.0;
  rows.clear();
  rows.shrink_to_fit();

  const auto n = static_cast<std::size_t>(spec.runs);
  if (all.size() != n * row.bytes()) throw std::runtime_error("the truth gathered on rank 0 is incomplete");
  std::vector<double> durations(n * row.frames), observables(n * row.frames * row.d), initial(n * row.q);
  std::vector<std::int8_t> states(n * row.frames * row.state_bytes);
  for (std::size_t k = 0; k < n; ++k) {
    const unsigned char* at = all.data() + k * row.bytes();
    std::int64_t r = 0;
    std::memcpy(&r, at, 8);
    const auto ur = static_cast<std::size_t>(r);
    const unsigned char* doubles = at + 8;
    std::memcpy(&initial[ur * row.q], doubles, row.q * 8);
    std::memcpy(&durations[ur * row.frames], doubles + row.q * 8, row.frames * 8);
    std::memcpy(&observables[ur * row.frames * row.d], doubles + (row.q + row.frames) * 8, row.frames * row.d * 8);
    if (row.state_bytes)
      std::memcpy(&states[ur * row.frames * row.state_bytes], at + row.doubles() * 8, row.frames * row.state_bytes);
  }
  io::DatasetWriter out(path, io::RootInfo{c.seed, c.system, c.ini_text, kMacrodynVersion});
  create_run_tables(sys, spec, out);
  append_runs(sys, spec, RunBlock{0, n, states.data(), durations.data(), observables.data(), initial.data()}, out);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace macrodyn::mpi
