#include "mpi/fields/field_runs.hpp"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/progress.hpp"
#include "core/stop.hpp"
#include "io/dataset.hpp"
#include "jobs/field_data.hpp"
#include "jobs/jobs.hpp"
#include "mpi/check.hpp"
#include "mpi/fields/petsc_predator_prey.hpp"

using namespace macrodyn::jobs;

namespace macrodyn::mpi {

namespace {

constexpr int kStopCheckSteps = 100;  // steps between the collective looks at stop_signal()

// The output file with its three tables (rank 0 only).
std::unique_ptr<io::DatasetWriter> open_output(const Config& c, std::int64_t frames) {
  auto w = std::make_unique<io::DatasetWriter>(c.output, io::RootInfo{c.seed, c.system, c.ini_text, kMacrodynVersion});
  w->create_group("/trajectories", io::GroupInfo{1, c.large_side, c.large_side, "none", {"mean_u", "mean_v"}});
  const auto f = static_cast<std::uint64_t>(frames);
  w->create_table("/trajectories/observables", io::DType::f64, {f, 2}, 1, true);
  w->create_table("/trajectories/durations", io::DType::f64, {f}, 64, true);
  w->create_table("/trajectories/mk", io::DType::f64, {2}, 64, false);
  w->set_attr("/trajectories", "scheme", fields::to_string(c.field_scheme));
  return w;
}

// All ranks agree whether a stop was asked (one small allreduce).
int agreed_stop(MPI_Comm comm) {
  int s = stop_signal().load();
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, &s, 1, MPI_INT, MPI_MAX, comm), "MPI_Allreduce");
  return s;
}

}  // namespace

FieldRunsReport field_runs(const Config& c, MPI_Comm comm) {
  const double start = MPI_Wtime();
  int rank = 0;
  check_mpi(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  FieldRunsReport rep;
  check_mpi(MPI_Comm_size(comm, &rep.ranks), "MPI_Comm_size");

  const fields::PredatorPreyParams p = fields::params_of(c, c.large_side);
  DmdaOptions o;
  o.scheme = c.field_scheme;
  DmdaPredatorPrey grid(comm, p, o);
  rep.solver = grid.solver_description();

  const auto conds = fields::test_conditions(c);
  rep.runs = static_cast<std::int64_t>(conds.size()) * c.truth_runs;
  rep.frames = c.truth_sweeps;
  rep.cells = p.cells();

  std::unique_ptr<io::DatasetWriter> out;
  if (rank == 0) out = open_output(c, rep.frames);
  std::vector<double> means(static_cast<std::size_t>(2 * rep.frames));
  const std::vector<double> durations(static_cast<std::size_t>(rep.frames), p.dt);
  Progress progress("fields: " + std::to_string(rep.runs) + " runs on " + std::to_string(rep.ranks) + " rank(s)",
                    rep.runs * (rep.frames - 1), "steps", c.progress && rank == 0);

  double step_seconds = 0;
  std::int64_t iterations = 0, steps = 0;
  for (std::int64_t i = 0; i < rep.runs; ++i) {
    const fields::TestCondition tc = conds[static_cast<std::size_t>(i / c.truth_runs)];
    grid.set_initial(tc.m, tc.k);
    fields::NoiseKey key{c.seed, Purpose::truth_dynamics, static_cast<std::uint64_t>(i), 0};
    for (std::int64_t t = 0; t < rep.frames; ++t) {
      FieldMeans m;
      try {
        m = grid.means();
      } catch (const FieldBlowUp& e) {
        // Every rank gets here together: the job ends cleanly, as for bad input.
        throw InputError(std::string(e.what()) + " at frame " + std::to_string(t) + " of run " + std::to_string(i) +
                         " (t = " + std::to_string(static_cast<double>(t) * p.dt) + "): the solution blew up; " +
                         "lower field.dt or field.eta (committed runs: " + std::to_string(i) + ")");
      }
      means[static_cast<std::size_t>(2 * t)] = m.u;
      means[static_cast<std::size_t>(2 * t + 1)] = m.v;
      if (t + 1 == rep.frames) break;
      if (t % kStopCheckSteps == 0) {
        if (const int s = agreed_stop(comm))
          throw StopRequested(s, "stopped by signal " + std::to_string(s) + " with " + std::to_string(i) +
                                     " runs of /trajectories committed in " + c.output);
      }
      key.step = static_cast<std::uint32_t>(t);
      const double t0 = MPI_Wtime();
      grid.step(key);
      step_seconds += MPI_Wtime() - t0;
      iterations += grid.last_iterations();
      ++steps;
      progress.update(i * (rep.frames - 1) + t + 1);
    }
    if (rank == 0) {
      const double mk[2] = {tc.m, tc.k};
      out->append("/trajectories/observables", means.data(), 1);
      out->append("/trajectories/durations", durations.data(), 1);
      out->append("/trajectories/mk", mk, 1);
      out->commit("/trajectories", static_cast<std::uint64_t>(i + 1));
    }
  }
  // The slowest rank's stepping time: the rate the whole job achieved.
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, &step_seconds, 1, MPI_DOUBLE, MPI_MAX, comm), "MPI_Allreduce");
  rep.cell_updates_per_s = step_seconds > 0 ? static_cast<double>(rep.cells) * static_cast<double>(steps) / step_seconds : 0;
  rep.mean_iterations = steps > 0 ? static_cast<double>(iterations) / static_cast<double>(steps) : 0;
  rep.seconds = MPI_Wtime() - start;
  return rep;
}

}  // namespace macrodyn::mpi
