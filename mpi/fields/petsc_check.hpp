#pragma once
// Private to mpi/fields sources (it includes PETSc): every PETSc call goes through
// check_petsc, so an error surfaces as an exception that names the call instead of a
// return code nobody reads. PETSc's own error handler has already printed its
// traceback on stderr by then.
#include <petscsys.h>

#include <stdexcept>
#include <string>

namespace macrodyn::mpi::petsc_detail {

inline void check_petsc(PetscErrorCode rc, const char* call) {
  if (rc == 0) return;
  const char* text = nullptr;
  if (PetscErrorMessage(rc, &text, nullptr) != 0) text = nullptr;
  throw std::runtime_error(std::string(call) + " failed: PETSc error " + std::to_string(static_cast<int>(rc)) +
                           (text ? std::string(" (") + text + ")" : std::string()));
}

}  // namespace macrodyn::mpi::petsc_detail

// MACRODYN_PETSC(VecSum(x, &s)) throws "VecSum(x, &s) failed: PETSc error ...".
#define MACRODYN_PETSC(call) ::macrodyn::mpi::petsc_detail::check_petsc((call), #call)
