// macrodyn simulate for a system with a distributed solver (System::distributed_truth):
// the truth runs on a PETSc DMDA across the ranks of the job (mpi/fields/field_truth.hpp).
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "core/error.hpp"
#include "core/stop.hpp"
#include "io/inspect.hpp"
#include "mpi/fields/field_truth.hpp"
#include "mpi/fields/petsc_session.hpp"
#include "mpi/run/run.hpp"
#include "systems/system.hpp"

using namespace macrodyn::jobs;

namespace macrodyn::app {

int simulate_distributed(int argc, char** argv, const Config& c) {
  mpi::MpiSession session(argc, argv);
  try {
    validate(c, Job::simulate);
  } catch (const InputError&) {
    if (session.rank() == 0) throw;  // reported once, by main
    return 2;
  }
  // PETSc sees no command-line options of ours; its own come from PETSC_OPTIONS (for
  // example PETSC_OPTIONS="-pp_v_ksp_type gmres -log_view").
  int pargc = 1;
  char* pargv0 = argv[0];
  char** pargs = &pargv0;
  try {
    mpi::PetscSession petsc(MPI_COMM_WORLD, &pargc, &pargs);
    const auto sys = systems::make_system(c.system, c.system_params);
    const mpi::FieldTruthReport r = mpi::simulate_field_truth(c, *sys, MPI_COMM_WORLD);
    if (session.rank() == 0) {
      std::printf("wrote %s in %.2f s (%d rank(s), the PETSc DMDA solver)\n", c.output.c_str(), r.seconds, r.ranks);
      std::printf("  trajectories   %lld (%lld frames on %lld cells), %.4g cell updates/s (steps only)",
                  static_cast<long long>(r.runs), static_cast<long long>(r.frames), static_cast<long long>(r.cells),
                  r.cell_updates_per_s);
      if (!r.solver.empty()) std::printf(", %s, %.1f iterations/step", r.solver.c_str(), r.mean_iterations);
      std::printf("\n");
      io::inspect(c.output, std::cout);
    }
  } catch (const StopRequested&) {
    throw;
  } catch (const InputError& e) {
    // Found after the job started (a run that blew up): every rank finds it; rank 0 says it.
    if (session.rank() == 0) std::fprintf(stderr, "macrodyn simulate: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "macrodyn simulate (rank %d): failed: %s\n", session.rank(), e.what());
    std::fflush(stderr);
    mpi::abort_job(1);
  }
  return 0;
}

}  // namespace macrodyn::app
