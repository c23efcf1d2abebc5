#pragma once
// PETSc's lifetime inside a program that owns MPI (docs/design.md §6.9: the roles initialise MPI
// themselves). The guard initialises PETSc only when nobody has yet, on a communicator
// the caller chooses, and finalises it only if it was the one that initialised it;
// since MPI was already initialised, PetscFinalize leaves MPI alone.
//
// PETSc's signal handlers are turned off (-no_signal_handler): they would take over
// SIGUSR1/SIGTERM, which the run roles use for checkpoints (docs/design.md §6.6).
//
// Construction and destruction are collective over `world`. Destroy every PETSc
// object (DmdaPredatorPrey, ...) before the owning guard, and the guard before
// MPI_Finalize.
#include <mpi.h>

namespace macrodyn::mpi {

class PetscSession {
 public:
  // `world` becomes PETSC_COMM_WORLD when this guard initialises PETSc. argc/argv, when
  // given, feed PETSc's options database (-ksp_monitor, -log_view, ...).
  explicit PetscSession(MPI_Comm world = MPI_COMM_WORLD, int* argc = nullptr, char*** argv = nullptr);
  ~PetscSession();
  PetscSession(const PetscSession&) = delete;
  PetscSession& operator=(const PetscSession&) = delete;

  // Whether this guard initialised PETSc (and will finalise it).
  bool owns() const { return owns_; }

 private:
  bool owns_ = false;
};

}  // namespace macrodyn::mpi
