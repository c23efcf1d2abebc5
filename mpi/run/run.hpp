#pragma once
// `macrodyn run` (docs/design.md §6): simulator teams generate partial-evolution pairs and
// stream them to learner ranks that train while data arrive.
//   phase A: team roots stream whole snapshots to learner 0, which fits the closure
//            autoencoder and broadcasts the TorchScript encoder to every rank;
//   phase B: every simulator rank encodes its pairs and streams latent pair rows to its
//            learner; learners fill replay buffers and take SDE steps between messages.
//   phase C: simulators run the truth of the large system (truth.* keys) while the
//            learners finish; world rank 0 evaluates the model against it and judges
//            it (jobs/verdict.hpp), in learn.out/verdict.
// A single process (no mpirun) plays both roles in turn. Output: the model directory
// (as `macrodyn train` writes it) with metrics.csv and schedule.h5, and stream.save.
#include <cstdint>
#include <string>

#include "jobs/config.hpp"
#include "jobs/verdict.hpp"

namespace macrodyn::mpi {

// MPI_Init_thread / MPI_Finalize around a job.
class MpiSession {
 public:
  MpiSession(int& argc, char**& argv);
  ~MpiSession();
  int rank() const { return rank_; }
  int size() const { return size_; }
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

 private:
  int rank_ = 0, size_ = 1;
};

struct RunReport {
  std::int64_t snapshots = 0;       // phase B snapshots
  std::int64_t pairs = 0;           // latent pairs the learners received
  std::int64_t sde_steps = 0;
  double seconds = 0, phase_a_seconds = 0, phase_b_seconds = 0;
  double pairs_per_s = 0;           // pairs / phase B time (snapshot builds included)
  double streaming_pairs_per_s = 0; // learners' ingest rate from their first pair to their last
  int ranks = 1, learners = 1, teams = 1, team_size = 1;
  int stopped_by = 0;  // the signal that stopped the job at a sync point (checkpoint written), or 0
  double truth_seconds = 0;    // phase C: the truth runs (with the learners' last steps)
  double verdict_seconds = 0;  // evaluation and verdict on world rank 0
  jobs::Verdict verdict;             // world rank 0
  std::string report;          // learn.out/report.html (world rank 0)
};

// Ends every rank of the job (after a failure on this one, so the others do not wait
// for it until their timeouts).
[[noreturn]] void abort_job(int code);

// Collective over MPI_COMM_WORLD; `c` validated for Job::run. With `resume`, continues
// from the checkpoint in learn.out if there is one (else starts afresh). A SIGUSR1,
// SIGTERM or SIGINT on any rank stops every rank at the next sync point after a
// checkpoint (stopped_by). The report is complete on world rank 0.
RunReport run(const jobs::Config& c, bool resume = false);

}  // namespace macrodyn::mpi
