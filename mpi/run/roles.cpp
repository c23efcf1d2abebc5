#include "mpi/run/roles.hpp"

#include <string>

#include "core/error.hpp"
#include "mpi/check.hpp"

namespace macrodyn::mpi {

Roles Roles::make(int learners, int team_size) {
  Roles r;
  check_mpi(MPI_Comm_rank(MPI_COMM_WORLD, &r.world_rank), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(MPI_COMM_WORLD, &r.world_size), "MPI_Comm_size");
  if (learners > r.world_size)
    throw InputError("learn.ranks = " + std::to_string(learners) + " exceeds the " + std::to_string(r.world_size) +
                     " ranks of the job");
  r.learners = learners;
  r.colocated = learners == r.world_size;
  const int sims = r.colocated ? r.world_size : r.world_size - learners;
  const int first_sim = r.colocated ? 0 : learners;
  r.team_size = team_size;
  if (sims % team_size != 0)
    throw InputError("team.size = " + std::to_string(team_size) + " does not divide the " + std::to_string(sims) +
                     " simulator ranks (the job's ranks minus learn.ranks = " + std::to_string(learners) + ")");
  r.teams = sims / team_size;
  r.learner = r.world_rank < learners;
  r.simulator = r.world_rank >= first_sim;
  if (r.simulator) {
    const int s = r.world_rank - first_sim;
    r.team = s / team_size;
    r.team_rank = s % team_size;
    r.learner_of_mine = s % learners;
  }
  if (r.learner)
    for (int s = 0; s < sims; ++s)
      if (s % learners == r.world_rank && !(r.colocated && s + first_sim == r.world_rank))
        r.my_senders.push_back(s + first_sim);
  check_mpi(MPI_Comm_split(MPI_COMM_WORLD, r.simulator ? r.team : MPI_UNDEFINED, r.team_rank, &r.team_comm), "MPI_Comm_split");
  check_mpi(MPI_Comm_split(MPI_COMM_WORLD, r.learner ? 0 : MPI_UNDEFINED, r.world_rank, &r.learner_comm), "MPI_Comm_split");
  check_mpi(MPI_Comm_split(MPI_COMM_WORLD, r.simulator ? 0 : MPI_UNDEFINED, r.world_rank, &r.sim_comm), "MPI_Comm_split");
  check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &r.stream_comm), "MPI_Comm_dup");
  return r;
}

void Roles::free() {
  for (MPI_Comm* c : {&team_comm, &learner_comm, &sim_comm, &stream_comm})
    if (*c != MPI_COMM_NULL) MPI_Comm_free(c);
}

}  // namespace macrodyn::mpi
