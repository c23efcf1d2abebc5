#pragma once
// `macrodyn simulate` for a system with a distributed solver (System::distributed_truth:
// the predator-prey fields): the truth runs of the config (truth.* keys, large.side, the
// runs and initial conditions of jobs/simulate.cpp's truth_runs_spec) on a PETSc DMDA
// split over the ranks of a communicator, with the scheme of system.scheme: explicit
// Euler-Maruyama steps of the kernel, or implicit diffusion by a PETSc linear solve
// (mpi/fields/petsc_predator_prey.hpp: rank counts then agree to the solver tolerance).
// An explicit dt above the stability limit is refused before any work.
//
// The output is macrodyn simulate's /trajectories (docs/design.md §5.3): observables [runs,
// frames, d*] (the means of u and v), durations (0, then dt), the initial condition of each
// run (/initial: m, k), and the states when the config needs them (gathered on rank 0 frame
// by frame). Frame t is the state after t steps, frame 0 the initial state computed in
// double (not rounded to float32 first), run r's noise the Philox blocks {seed,
// truth_dynamics, r, step, cell}: the serial stepper's trajectories (SerialStepper from the
// double initial state; those of the former `macrodyn fields`) bit for bit, the same on any
// number of ranks. Rank 0 writes output.path, committing after every run; a
// stop signal (core/stop.hpp) ends the job after the runs committed so far.
//
// Collective over `comm`; PETSc must be initialised (PetscSession).
#include <mpi.h>

#include <cstdint>
#include <string>

#include "jobs/config.hpp"
#include "systems/system.hpp"

namespace macrodyn::mpi {

struct FieldTruthReport {
  std::int64_t runs = 0, frames = 0, cells = 0;
  int ranks = 1;
  double seconds = 0;             // all runs, output included
  double cell_updates_per_s = 0;  // cells x steps / time in the steps (means and output excluded)
  double mean_iterations = 0;     // Krylov iterations per step (semi-implicit)
  std::string solver;             // what solves the implicit part ("" when explicit)
};

FieldTruthReport simulate_field_truth(const jobs::Config& c, const systems::System& system, MPI_Comm comm);

}  // namespace macrodyn::mpi
