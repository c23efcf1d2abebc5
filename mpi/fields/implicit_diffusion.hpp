#pragma once
// Private to mpi/fields (it includes PETSc): the implicit half of the semi-implicit
// scheme for one field, (I - c Lap) x = b with c = dt D scale and the zero-flux
// Laplacian of the serial kernel (ghost = edge value, so a boundary cell's stencil along
// that axis is [1, -1]). The matrix is assembled once on the DMDA and never changes: a
// direct solver factors it once.
#include <petscdmda.h>
#include <petscksp.h>

#include <string>

#include "mpi/fields/petsc_predator_prey.hpp"

namespace macrodyn::mpi::petsc_detail {

class ImplicitDiffusion {
 public:
  // c > 0; prefix: PETSc options prefix of the KSP (KSPSetFromOptions is applied).
  ImplicitDiffusion(DM da, double c, const DmdaOptions& o, const std::string& prefix);
  ~ImplicitDiffusion();
  ImplicitDiffusion(const ImplicitDiffusion&) = delete;
  ImplicitDiffusion& operator=(const ImplicitDiffusion&) = delete;

  // x <- (I - c Lap)^{-1} b; x's current value is the initial guess of an iterative
  // solve. Throws when the solve does not converge.
  void solve(Vec b, Vec x);
  int last_iterations() const { return iterations_; }
  std::string description() const;

 private:
  int assemble(DM da, double c);  // returns the grid dimension
  void configure(const DmdaOptions& o, const std::string& prefix, int ranks, int dim);

  Mat a_ = nullptr;
  KSP ksp_ = nullptr;
  int iterations_ = 0;
};

}  // namespace macrodyn::mpi::petsc_detail
