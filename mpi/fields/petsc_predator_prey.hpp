#pragma once
// The predator-prey SPDE (lib/systems/predator_prey.hpp) on a PETSc DMDA: the grid is
// split over the ranks of a communicator, 1-D or 2-D, one DM (dof 1, stencil width 1,
// DM_BOUNDARY_GHOSTED) and one vector per field.
//
// Two schemes:
//  - explicit: ghost exchange, edge ghosts (zero flux), then the serial kernel step_box
//    on each rank's ghosted box. The noise is keyed by global cell (NoiseKey), so the
//    trajectory is bit for bit the serial SerialStepper's on any number of ranks.
//  - semi_implicit: reaction and noise explicit, diffusion implicit (IMEX Euler):
//        (I - dt D Lap) x_new = x + dt R(x) + amp sqrt(dt) xi
//    for each field with D > 0 (a field with D = 0 is just explicit). The right-hand
//    side is step_box with D = 0, so it draws the very same noise. The solve is direct
//    (PETSc LU) on one rank and CG by default on several: results then agree across
//    rank counts to the solver tolerance (1e-13 relative), not bit for bit (docs/design.md §7.3).
//
// No PETSc header here (pimpl): other modules can include this without PETSc's flags.
// Every constructor, step and I/O call is collective over the communicator; PETSc must
// be initialised (PetscSession) and the object destroyed before PETSc is finalised.
#include <mpi.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "systems/predator_prey.hpp"

namespace macrodyn::mpi {

// Linear solver of the semi-implicit scheme. automatic: direct on one rank (PETSc's LU),
// iterative on several. direct on several ranks needs MUMPS. iterative: CG + block
// Jacobi (ILU(0) blocks); the matrix is symmetric positive definite.
enum class LinearSolver { automatic, direct, iterative };

struct DmdaOptions {
  fields::FieldScheme scheme = fields::FieldScheme::explicit_euler;
  LinearSolver solver = LinearSolver::automatic;
  double rtol = 1e-13;  // iterative: ||r|| <= max(rtol ||b||, atol), unpreconditioned norm
  double atol = 1e-50;
  int max_it = 10000;  // a solve that does not converge throws
  // PETSc options prefix of the two solvers ("<prefix>u_", "<prefix>v_"): -pp_v_ksp_type
  // etc. override the choice above from the command line (KSPSetFromOptions).
  std::string options_prefix = "pp_";
};

// Thrown on every rank by means() when a field value is not finite or outside [-4, 4].
class FieldBlowUp : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct FieldMeans {
  double u = 0.0, v = 0.0;
};

class DmdaPredatorPrey {
 public:
  DmdaPredatorPrey(MPI_Comm comm, const fields::PredatorPreyParams& p, const DmdaOptions& o = {});
  ~DmdaPredatorPrey();
  DmdaPredatorPrey(const DmdaPredatorPrey&) = delete;
  DmdaPredatorPrey& operator=(const DmdaPredatorPrey&) = delete;

  // One step of the chosen scheme; key.step names the step (as for SerialStepper).
  void step(const fields::NoiseKey& key);

  // Whole-grid state in global order (row-major, x fastest), the layout of SerialStepper
  // and initial_state. These move the whole grid through rank 0 (the gather buffers,
  // made on first use, hold the whole grid there): for tests, small grids and frames.
  // set_state reads u, v on rank 0 only; get_state fills them on rank 0 and clears them
  // elsewhere.
  void set_state(const std::vector<double>& u, const std::vector<double>& v);
  // initial_state(m, k), each rank filling its own cells (no whole-grid buffer).
  void set_initial(double m, double k);
  void get_state(std::vector<double>& u, std::vector<double>& v);

  // This rank's owned cells: the interior box in global indices, and its values
  // (row-major inside the box, nx * ny each).
  fields::GhostedBox owned_box() const;
  void get_owned(std::vector<double>& u, std::vector<double>& v) const;

  // Spatial means of the float32-rounded fields by fixed-point sums (core/fixed_point_sum):
  // the same bits on any number of ranks (and as FixedPointSum over a serial state), with
  // one 3-value allreduce and no gather. Throws FieldBlowUp (on every rank) when a value
  // is not finite or |value| > 4, std::runtime_error above 2^28 cells.
  FieldMeans means() const;

  const fields::PredatorPreyParams& params() const;
  const DmdaOptions& options() const;
  MPI_Comm comm() const;
  // Krylov iterations of the last step's solves (u + v; 1 per solve when direct).
  int last_iterations() const;
  // What solves the implicit part, e.g. "v: cg + bjacobi" (empty for explicit).
  std::string solver_description() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace macrodyn::mpi
