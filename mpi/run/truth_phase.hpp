#pragma once
// Phase C of `macrodyn run`: the ground-truth runs of the large system that the verdict
// judges the model against (jobs/verdict.hpp). Simulator ranks (the one process when
// co-located) simulate them while the learners finish training: run r on simulator
// r mod S, keyed by r, so the truth has the bits `macrodyn simulate` gives for the same
// truth.* keys whatever the rank count; world rank 0 gathers them into one file.
#include <string>

#include "jobs/config.hpp"
#include "mpi/run/roles.hpp"
#include "systems/system.hpp"

namespace macrodyn::mpi {

// "" when the truth can be simulated, else why not (the verdict's "not judged" reason):
// no truth runs asked for, a run that does not fit on one rank (L^D > team.max_sites),
// or more than 1 GiB of truth to gather. The same answer on every rank.
std::string truth_not_possible(const jobs::Config& c, const systems::System& sys);

// Collective over MPI_COMM_WORLD: simulators simulate their share, world rank 0 writes
// all runs to `path` (/trajectories, as macrodyn simulate). Returns the seconds spent.
double simulate_truth(const jobs::Config& c, const systems::System& sys, const Roles& roles, const std::string& path);

}  // namespace macrodyn::mpi
