#pragma once
// macrodyn fields: ground-truth runs of the predator-prey SPDE (system.name =
// predator_prey) on a PETSc DMDA split over the ranks of a communicator, 1-D or 2-D, with
// the explicit or the semi-implicit scheme (field.scheme). One run per test condition
// (field.test_m x field.test_k, m slowest) and per truth.runs, truth.sweeps frames each
// on large.side cells per axis: the runs of the loss-factor study's test set (same
// initial states, same noise keys {seed, truth_dynamics, run, step}).
//
// Output (rank 0 writes output.path, committed after every run, docs/design.md §5.5):
//   /trajectories/observables  float64 [runs, frames, 2]  spatial means of u and v
//   /trajectories/durations    float64 [runs, frames]     field.dt per frame
//   /trajectories/mk           float64 [runs, 2]          (m, k) of the initial state
// Frame t is the state before step t (frame 0 = the initial state). Means are of the
// float32-rounded fields by fixed-point sums (DmdaPredatorPrey::means): the same
// bits on any number of ranks for the explicit scheme, and equal to the serial
// trajectory's fixed-point means.
//
// No rank holds more than its share of the grid. Collective over `comm`; PETSc must be
// initialised (PetscSession). A stop signal (core/stop.hpp) ends the job after the
// runs committed so far, checked every 100 steps by all ranks together.
#include <mpi.h>

#include <cstdint>
#include <string>

#include "jobs/config.hpp"

namespace macrodyn::mpi {

struct FieldRunsReport {
  std::int64_t runs = 0, frames = 0, cells = 0;
  int ranks = 1;
  double seconds = 0;             // all runs, output included
  double cell_updates_per_s = 0;  // cells x steps / time in the steps (means and output excluded)
  double mean_iterations = 0;     // Krylov iterations per step (semi-implicit)
  std::string solver;             // what solves the implicit part ("" when explicit)
};

FieldRunsReport field_runs(const jobs::Config& c, MPI_Comm comm);

}  // namespace macrodyn::mpi
