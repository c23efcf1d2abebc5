// macrodyn simulate for a system with a distributed solver (System::distributed_truth):
// the truth runs on a PETSc DMDA across the ranks of the job (mpi/fields/field_truth.hpp).
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "collective.hpp"
#include "commands.hpp"
#include "io/inspect.hpp"
#include "mpi/fields/field_truth.hpp"
#include "mpi/fields/petsc_session.hpp"
#include "mpi/run/run.hpp"
#include "systems/system.hpp"

using namespace macrodyn::jobs;

namespace macrodyn::app {

int simulate_distributed(int argc, char** argv, const Config& c) {
  mpi::MpiSession session(argc, argv);
  if (!checked_on_every_rank(session, [&] { validate(c, Job::simulate); })) return 2;
  // PETSc sees no command-line options of ours; its own come from PETSC_OPTIONS (for
  // example PETSC_OPTIONS="-pp_v_ksp_type gmres -log_view").
  int pargc = 1;
  char* pargv0 = argv[0];
  char** pargs = &pargv0;
  return run_on_every_rank("simulate", session, [&] {
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
    return 0;
  });
}

}  // namespace macrodyn::app
