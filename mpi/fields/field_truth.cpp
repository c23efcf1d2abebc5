#include "mpi/fields/field_truth.hpp"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/fixed_point_sum.hpp"
#include "core/format.hpp"
#include "core/progress.hpp"
#include "core/stop.hpp"
#include "io/dataset.hpp"
#include "jobs/jobs.hpp"
#include "jobs/run_writer.hpp"
#include "mpi/check.hpp"
#include "mpi/fields/petsc_predator_prey.hpp"
#include "systems/predator_prey_system.hpp"

using namespace macrodyn::jobs;
using namespace macrodyn::systems;

namespace macrodyn::mpi {

namespace {

constexpr int kStopCheckSteps = 100;  // steps between the collective looks at stop_signal()

// All ranks agree whether a stop was asked (one small allreduce).
int agreed_stop(MPI_Comm comm) {
  int s = stop_signal().load();
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, &s, 1, MPI_INT, MPI_MAX, comm), "MPI_Allreduce");
  return s;
}

// The whole grid as a float32 state [cells, 2] on rank 0 (systems/state_layout.hpp).
void gather_state(DmdaPredatorPrey& grid, std::vector<double>& u, std::vector<double>& v, std::int8_t* out) {
  grid.get_state(u, v);
  for (std::size_t i = 0; i < u.size(); ++i) {
    const float cell[2] = {static_cast<float>(u[i]), static_cast<float>(v[i])};
    std::memcpy(out + 8 * i, cell, sizeof cell);
  }
}

}  // namespace

FieldTruthReport simulate_field_truth(const Config& c, const System& system, MPI_Comm comm) {
  const double start = MPI_Wtime();
  int rank = 0;
  check_mpi(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  FieldTruthReport rep;
  check_mpi(MPI_Comm_size(comm, &rep.ranks), "MPI_Comm_size");

  const fields::PredatorPreyParams p = predator_prey_params(system.dim(), system.params(), c.large_side);
  DmdaOptions o;
  o.scheme = predator_prey_scheme(system.params());
  if (o.scheme == fields::FieldScheme::explicit_euler && p.dt > p.explicit_dt_limit())
    throw InputError("system.dt = " + shortest(p.dt) + " is above the explicit stability limit " +
                     shortest(p.explicit_dt_limit()) + " of the " + fields::to_string(p.laplacian) +
                     " Laplacian on " + std::to_string(c.large_side) + " cells; lower it or set system.scheme = "
                     "semi_implicit");
  if (p.cells() > FixedPointSum::kMaxTerms)
    throw InputError("large.side = " + std::to_string(c.large_side) + " gives " + std::to_string(p.cells()) +
                     " cells; the means are exact fixed-point sums of at most 2^28 = 268435456 cells");
  DmdaPredatorPrey grid(comm, p, o);
  rep.solver = grid.solver_description();
  const RunsSpec spec = truth_runs_spec(c, system);
  rep.runs = spec.runs;
  rep.frames = spec.sweeps + 1;
  rep.cells = p.cells();
  const int d = system.num_observables();
  const std::int64_t state_bytes = rep.cells * system.state_layout().voxel_bytes();

  std::unique_ptr<io::DatasetWriter> out;
  if (rank == 0) {
    out = std::make_unique<io::DatasetWriter>(c.output, io::RootInfo{c.seed, c.system, c.ini_text, kMacrodynVersion});
    create_run_tables(system, spec, *out);
  }
  std::vector<double> observables(static_cast<std::size_t>(rep.frames * d)), durations(static_cast<std::size_t>(rep.frames), p.dt);
  durations[0] = 0.0;
  std::vector<std::int8_t> states(spec.store_states && rank == 0 ? static_cast<std::size_t>(rep.frames * state_bytes) : 0);
  std::vector<double> gu, gv;
  Progress progress("simulate: " + std::to_string(rep.runs) + " runs on " + std::to_string(rep.ranks) + " rank(s)",
                    rep.runs * (rep.frames - 1), "steps", c.progress && rank == 0);

  double step_seconds = 0;
  std::int64_t steps = 0, iterations = 0;
  for (std::int64_t r = 0; r < rep.runs; ++r) {
    // The condition as the serial path draws or completes it (same stream).
    InitialCondition ic = spec.spec_of(r).condition;
    Rng init_rng({c.seed, Purpose::initial_state, 1, static_cast<std::uint64_t>(r), 0});
    resolve_predator_prey_condition(system.params(), c.truth_init, ic, init_rng);
    grid.set_initial(ic[0], ic[1]);
    fields::NoiseKey key{c.seed, Purpose::truth_dynamics, static_cast<std::uint64_t>(r), 0};
    for (std::int64_t t = 0; t < rep.frames; ++t) {
      FieldMeans m;
      try {
        m = grid.means();
      } catch (const FieldBlowUp& e) {
        // Every rank gets here together: the job ends cleanly, as for bad input.
        throw InputError(std::string(e.what()) + " at frame " + std::to_string(t) + " of run " + std::to_string(r) +
                         " (t = " + std::to_string(static_cast<double>(t) * p.dt) +
                         "): the solution blew up; lower system.dt or system.eta (committed runs: " +
                         std::to_string(r) + ")");
      }
      observables[static_cast<std::size_t>(t * d)] = m.u;
      observables[static_cast<std::size_t>(t * d + 1)] = m.v;
      if (spec.store_states) gather_state(grid, gu, gv, states.data() + (rank == 0 ? t * state_bytes : 0));
      if (t + 1 == rep.frames) break;
      if (t % kStopCheckSteps == 0) {
        if (const int s = agreed_stop(comm))
          throw StopRequested(s, "stopped by signal " + std::to_string(s) + " with " + std::to_string(r) +
                                     " runs of /trajectories committed in " + c.output);
      }
      key.step = static_cast<std::uint32_t>(t);
      const double t0 = MPI_Wtime();
      grid.step(key);
      step_seconds += MPI_Wtime() - t0;
      iterations += grid.last_iterations();
      ++steps;
      progress.update(r * (rep.frames - 1) + t + 1);
    }
    if (rank == 0)
      append_runs(system, spec,
                  RunBlock{static_cast<std::uint64_t>(r), 1, states.data(), durations.data(), observables.data(),
                           ic.data()},
                  *out);
  }
  progress.update(rep.runs * (rep.frames - 1));
  // The slowest rank's stepping time: the rate the whole job achieved.
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, &step_seconds, 1, MPI_DOUBLE, MPI_MAX, comm), "MPI_Allreduce");
  rep.cell_updates_per_s = step_seconds > 0 ? static_cast<double>(rep.cells) * static_cast<double>(steps) / step_seconds : 0;
  rep.mean_iterations = steps > 0 ? static_cast<double>(iterations) / static_cast<double>(steps) : 0;
  rep.seconds = MPI_Wtime() - start;
  return rep;
}

}  // namespace macrodyn::mpi
