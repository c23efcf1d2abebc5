#include "mpi/fields/petsc_session.hpp"

#include <petscsys.h>

#include <cstdio>
#include <stdexcept>

#include "mpi/fields/petsc_check.hpp"

namespace macrodyn::mpi {

PetscSession::PetscSession(MPI_Comm world, int* argc, char*** argv) {
  int mpi_up = 0;
  if (MPI_Initialized(&mpi_up) != MPI_SUCCESS || !mpi_up)
    throw std::runtime_error("PetscSession: initialise MPI first (PETSc must not own MPI)");
  PetscBool up = PETSC_FALSE;
  MACRODYN_PETSC(PetscInitialized(&up));
  if (up) return;  // someone else owns PETSc: leave it to them
  PETSC_COMM_WORLD = world;
  // Options set before PetscInitialize are read by it.
  MACRODYN_PETSC(PetscOptionsSetValue(nullptr, "-no_signal_handler", nullptr));
  MACRODYN_PETSC(PetscInitialize(argc, argv, nullptr, nullptr));
  owns_ = true;
}

PetscSession::~PetscSession() {
  if (!owns_) return;
  // A destructor must not throw: report and go on.
  if (PetscFinalize() != 0) std::fputs("PetscSession: PetscFinalize failed\n", stderr);
}

}  // namespace macrodyn::mpi
