#pragma once
// Who does what in a `macrodyn run` job (docs/design.md §6.1). World ranks 0..G-1 are learners,
// the others simulators grouped into teams of `team_size` consecutive ranks; simulator
// s streams to learner s % G. With no rank left over for simulation (e.g. a single
// process), every rank plays both roles ("co-located").
#include <mpi.h>

#include <vector>

namespace macrodyn::mpi {

struct Roles {
  int world_rank = 0, world_size = 1;
  int learners = 1;          // G
  bool colocated = false;    // every rank simulates and learns
  bool learner = false;      // this rank learns
  bool simulator = false;    // this rank simulates
  int teams = 1, team_size = 1;
  int team = -1, team_rank = -1;   // this rank's team and place in it (simulators)
  int learner_of_mine = -1;        // world rank this simulator streams to
  std::vector<int> my_senders;     // world ranks streaming to this learner
  MPI_Comm team_comm = MPI_COMM_NULL;     // the team (simulators)
  MPI_Comm learner_comm = MPI_COMM_NULL;  // the learners (gradient allreduce)
  MPI_Comm sim_comm = MPI_COMM_NULL;      // every simulator (collective snapshot writes)
  MPI_Comm stream_comm = MPI_COMM_NULL;   // a duplicate of the world for the streams

  // Throws InputError naming learn.ranks or team.size when the world cannot be split so.
  static Roles make(int learners, int team_size);
  void free();
};

}  // namespace macrodyn::mpi
