#pragma once
// How many ranks the MPI launcher started, read from its environment without MPI_Init:
// commands that are not MPI programs refuse to run as several copies, which would all
// write the same outputs (and lose each other's work).
#include <cstdlib>
#include <string>

namespace macrodyn::app {

// The world size the launcher reports (Open MPI's mpiexec: OMPI_COMM_WORLD_SIZE; MPICH's
// hydra and Slurm's srun --mpi=pmi2: PMI_SIZE; PMIx launchers: PMIX_SIZE), 1 when none.
inline long launcher_ranks() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"}) {
    const char* v = std::getenv(name);
    if (v == nullptr) continue;
    char* end = nullptr;
    const long n = std::strtol(v, &end, 10);
    if (end != v && n > 1) return n;
  }
  return 1;
}

}  // namespace macrodyn::app
