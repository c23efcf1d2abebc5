// macrodyn fields: predator-prey runs on the PETSc DMDA across the ranks of the job.
#include <cstdio>
#include <cstring>
#include <vector>

#include "commands.hpp"
#include "core/error.hpp"
#include "core/stop.hpp"
#include "mpi/fields/field_runs.hpp"
#include "mpi/fields/petsc_session.hpp"
#include "mpi/run/run.hpp"
#include "options.hpp"

using namespace macrodyn::jobs;

namespace macrodyn::app {

namespace {
const char* const kSummary =
    "Ground-truth runs of the predator-prey SPDE (system.name = predator_prey) on a PETSc DMDA\n"
    "split over the ranks: `mpirun -n R macrodyn fields --config FILE`. One run per test\n"
    "condition (field.test_m x field.test_k) and truth.runs, truth.sweeps frames each, on\n"
    "large.side cells per axis (field.dim = 1 or 2), with field.scheme = explicit (bit for bit\n"
    "the same on any number of ranks) or semi_implicit (implicit diffusion by a PETSc linear\n"
    "solve; for laplacian = physical, where explicit steps are limited to dx^2 / (2 dim Dv)).\n"
    "Writes output.path: /trajectories/observables [runs, frames, 2] (means of u and v),\n"
    "/trajectories/durations and /trajectories/mk, committed after every run. Prints cell\n"
    "updates/s. Arguments after `--` go to PETSc (e.g. -- -pp_v_ksp_type gmres -log_view).";
}

int cmd_fields(int argc, char** argv) {
  // Everything after "--" is PETSc's.
  int ours = argc;
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--") == 0) {
      ours = i;
      break;
    }
  Config c;
  for (int i = 1; i < ours; ++i)
    if (std::strcmp(argv[i], "--help") == 0) return parse_config("fields", kSummary, ours, argv, c) ? 0 : 0;
  mpi::MpiSession session(argc, argv);
  try {
    parse_config("fields", kSummary, ours, argv, c);
    validate(c, Job::field_runs);
  } catch (const InputError&) {
    if (session.rank() == 0) throw;  // reported once, by main
    return 2;
  }
  std::vector<char*> pargv{argv[0]};
  for (int i = ours + 1; i < argc; ++i) pargv.push_back(argv[i]);
  int pargc = static_cast<int>(pargv.size());
  pargv.push_back(nullptr);
  char** pargs = pargv.data();
  try {
    mpi::PetscSession petsc(MPI_COMM_WORLD, &pargc, &pargs);
    const mpi::FieldRunsReport r = mpi::field_runs(c, MPI_COMM_WORLD);
    if (session.rank() == 0) {
      std::printf("macrodyn fields: %lld runs x %lld frames on %lld cells (%d-D), %s, %d rank(s), in %.2f s\n",
                  static_cast<long long>(r.runs), static_cast<long long>(r.frames), static_cast<long long>(r.cells),
                  c.field_dim, fields::to_string(c.field_scheme), r.ranks, r.seconds);
      std::printf("  %.4g cell updates/s (steps only)", r.cell_updates_per_s);
      if (!r.solver.empty()) std::printf(", %s, %.1f iterations/step", r.solver.c_str(), r.mean_iterations);
      std::printf("\n  wrote %s\n", c.output.c_str());
    }
  } catch (const StopRequested&) {
    throw;
  } catch (const InputError& e) {
    // Found after the job started (a run that blew up): every rank finds it; rank 0 says it.
    if (session.rank() == 0) std::fprintf(stderr, "macrodyn fields: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "macrodyn fields (rank %d): failed: %s\n", session.rank(), e.what());
    std::fflush(stderr);
    mpi::abort_job(1);
  }
  return 0;
}

}  // namespace macrodyn::app
