// macrodyn simulate: full-size runs (ground truth) into /trajectories, one run per
// work item, committed in blocks of runs.
#include <chrono>
#include <memory>
#include <vector>

#include "io/dataset.hpp"
#include "jobs/jobs.hpp"
#include "jobs/run_writer.hpp"
#include "jobs/truth.hpp"
#include "systems/system.hpp"

using namespace macrodyn::sampling;
using namespace macrodyn::systems;

namespace macrodyn::jobs {

RunsSpec truth_runs_spec(const Config& c, const System& sys) {
  const int L = c.large_side;
  const bool given = c.truth_init == InitialKind::given_m0;
  RunsSpec spec;
  spec.group = "/trajectories";
  spec.info = io::GroupInfo{Tiling{sys.dim(), L, c.patch}.patches(), c.patch, L, "periodic", sys.observable_names()};
  spec.side = L;
  spec.sweeps = c.truth_sweeps;
  // With truth.init = m0, runs [k runs, (k + 1) runs) start from the k-th condition.
  spec.runs = given ? c.truth_runs * static_cast<std::int64_t>(c.truth_m0.size()) : c.truth_runs;
  spec.spec_of = [&c, L, given](std::int64_t r) {
    return TrajectorySpec{L, static_cast<std::uint64_t>(c.truth_sweeps), c.truth_dynamics, c.truth_init,
                          given ? c.truth_m0[static_cast<std::size_t>(r / c.truth_runs)] : unset_condition()};
  };
  // Keyed by truth_dynamics (and initial_state) with the run index: streams disjoint
  // from every stream of the training data, which use other purposes.
  spec.purpose = Purpose::truth_dynamics;
  spec.seed = c.seed;
  // The states are kept whenever an evaluation must recompute the macrostate on the
  // model's patch tiling (a closure, or an observable other than a plain site average
  // with more than one patch): with closure.kind = none, ising2d's rho was lost and
  // evaluate refused the truth.
  spec.store_states = truth_states_needed(c.has_closure(), Tiling{sys.dim(), L, c.patch}.patches(), sys);
  spec.threads = c.resolved_threads();
  spec.progress = c.progress;
  spec.what = "simulate: truth runs (side " + std::to_string(L) + ")";
  return spec;
}

JobSummary simulate(const Config& c) {
  const auto start = std::chrono::steady_clock::now();
  const auto sys = make_system(c.system, c.system_params);
  io::DatasetWriter out(c.output, io::RootInfo{c.seed, c.system, c.ini_text, kMacrodynVersion});
  const RunsSpec spec = truth_runs_spec(c, *sys);
  std::vector<std::unique_ptr<Evolver>> evolvers;
  for (int w = 0; w < spec.threads; ++w) evolvers.push_back(sys->make_evolver());
  run_and_write(*sys, evolvers, spec, out);

  JobSummary s;
  s.path = c.output;
  s.trajectories = spec.runs;
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return s;
}

}  // namespace macrodyn::jobs
