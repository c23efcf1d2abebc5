#include "mpi/fields/implicit_diffusion.hpp"

#include <stdexcept>

#include "mpi/check.hpp"
#include "mpi/fields/petsc_check.hpp"

namespace macrodyn::mpi::petsc_detail {

ImplicitDiffusion::ImplicitDiffusion(DM da, double c, const DmdaOptions& o, const std::string& prefix) {
  if (!(c > 0)) throw std::invalid_argument("ImplicitDiffusion: c = dt D scale must be > 0");
  MPI_Comm comm = MPI_COMM_NULL;
  MACRODYN_PETSC(PetscObjectGetComm(reinterpret_cast<PetscObject>(da), &comm));
  int ranks = 1;
  check_mpi(MPI_Comm_size(comm, &ranks), "MPI_Comm_size");
  try {
    const int dim = assemble(da, c);
    MACRODYN_PETSC(KSPCreate(comm, &ksp_));
    MACRODYN_PETSC(KSPSetOperators(ksp_, a_, a_));
    configure(o, prefix, ranks, dim);
    // Factor (direct) or build the preconditioner now, not in the first step.
    MACRODYN_PETSC(KSPSetUp(ksp_));
  } catch (...) {
    KSPDestroy(&ksp_);
    MatDestroy(&a_);
    throw;
  }
}

ImplicitDiffusion::~ImplicitDiffusion() {
  // Errors cannot be thrown from here; PETSc has printed them.
  KSPDestroy(&ksp_);
  MatDestroy(&a_);
}

// Row of cell p: 1 + c * (number of neighbours inside the grid) on the diagonal, -c for
// each such neighbour. A missing neighbour is the ghost = edge value, whose -c cancels
// against one c of the diagonal's 2c per axis.
int ImplicitDiffusion::assemble(DM da, double c) {
  PetscInt dim = 0, mx = 0, my = 0;
  MACRODYN_PETSC(DMDAGetInfo(da, &dim, &mx, &my, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                             nullptr, nullptr, nullptr));
  PetscInt xs = 0, ys = 0, xm = 0, ym = 0;
  MACRODYN_PETSC(DMDAGetCorners(da, &xs, &ys, nullptr, &xm, &ym, nullptr));
  if (dim == 1) {
    ys = 0;
    ym = 1;
    my = 1;
  }
  MACRODYN_PETSC(DMCreateMatrix(da, &a_));
  for (PetscInt j = ys; j < ys + ym; ++j) {
    for (PetscInt i = xs; i < xs + xm; ++i) {
      MatStencil row{};
      row.i = i;
      row.j = dim == 1 ? 0 : j;
      MatStencil cols[5]{};
      PetscScalar vals[5];
      int k = 1;
      PetscScalar diag = 1.0;
      auto neighbour = [&](PetscInt ii, PetscInt jj) {
        cols[k] = MatStencil{};
        cols[k].i = ii;
        cols[k].j = dim == 1 ? 0 : jj;
        vals[k] = -c;
        diag += c;
        ++k;
      };
      if (i > 0) neighbour(i - 1, j);
      if (i < mx - 1) neighbour(i + 1, j);
      if (dim == 2) {
        if (j > 0) neighbour(i, j - 1);
        if (j < my - 1) neighbour(i, j + 1);
      }
      cols[0] = row;
      vals[0] = diag;
      MACRODYN_PETSC(MatSetValuesStencil(a_, 1, &row, k, cols, vals, INSERT_VALUES));
    }
  }
  MACRODYN_PETSC(MatAssemblyBegin(a_, MAT_FINAL_ASSEMBLY));
  MACRODYN_PETSC(MatAssemblyEnd(a_, MAT_FINAL_ASSEMBLY));
  // The operator is symmetric positive definite (a diagonally dominant M-matrix).
  MACRODYN_PETSC(MatSetOption(a_, MAT_SYMMETRIC, PETSC_TRUE));
  MACRODYN_PETSC(MatSetOption(a_, MAT_SPD, PETSC_TRUE));
  return static_cast<int>(dim);
}

void ImplicitDiffusion::configure(const DmdaOptions& o, const std::string& prefix, int ranks, int dim) {
  PC pc = nullptr;
  MACRODYN_PETSC(KSPGetPC(ksp_, &pc));
  const bool direct =
      o.solver == LinearSolver::direct || (o.solver == LinearSolver::automatic && ranks == 1);
  if (direct) {
    MACRODYN_PETSC(KSPSetType(ksp_, KSPPREONLY));
    MACRODYN_PETSC(PCSetType(pc, PCLU));
    if (ranks > 1) {
#if defined(PETSC_HAVE_MUMPS)
      MACRODYN_PETSC(PCFactorSetMatSolverType(pc, MATSOLVERMUMPS));
#else
      throw std::runtime_error("DmdaPredatorPrey: a direct solve on several ranks needs PETSc with MUMPS");
#endif
    } else {
      // 1-D: the matrix is tridiagonal and the natural order has no fill; 2-D keeps
      // PETSc's nested dissection.
      if (dim == 1) MACRODYN_PETSC(PCFactorSetMatOrderingType(pc, MATORDERINGNATURAL));
    }
  } else {
    MACRODYN_PETSC(KSPSetType(ksp_, KSPCG));
    MACRODYN_PETSC(PCSetType(pc, PCBJACOBI));
    MACRODYN_PETSC(KSPSetNormType(ksp_, KSP_NORM_UNPRECONDITIONED));
    // The old state is a good first guess: a few iterations per step fewer.
    MACRODYN_PETSC(KSPSetInitialGuessNonzero(ksp_, PETSC_TRUE));
    MACRODYN_PETSC(KSPSetTolerances(ksp_, o.rtol, o.atol, PETSC_DEFAULT, o.max_it));
  }
  MACRODYN_PETSC(KSPSetErrorIfNotConverged(ksp_, PETSC_TRUE));
  MACRODYN_PETSC(KSPSetOptionsPrefix(ksp_, prefix.c_str()));
  MACRODYN_PETSC(KSPSetFromOptions(ksp_));
}

void ImplicitDiffusion::solve(Vec b, Vec x) {
  MACRODYN_PETSC(KSPSolve(ksp_, b, x));
  PetscInt it = 0;
  MACRODYN_PETSC(KSPGetIterationNumber(ksp_, &it));
  iterations_ = static_cast<int>(it);
}

std::string ImplicitDiffusion::description() const {
  KSPType kt = nullptr;
  PC pc = nullptr;
  PCType pt = nullptr;
  MACRODYN_PETSC(KSPGetType(ksp_, &kt));
  MACRODYN_PETSC(KSPGetPC(ksp_, &pc));
  MACRODYN_PETSC(PCGetType(pc, &pt));
  std::string d = std::string(kt ? kt : "?") + " + " + (pt ? pt : "?");
  MatSolverType st = nullptr;
  if (pt && std::string(pt) == PCLU && PCFactorGetMatSolverType(pc, &st) == 0 && st) d += " (" + std::string(st) + ")";
  return d;
}

}  // namespace macrodyn::mpi::petsc_detail
